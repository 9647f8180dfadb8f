import { useEffect, useState } from 'preact/hooks';
import { get, seg } from '../api/client.js';
import type { Environment, Flag, Page } from '../api/types.js';
import { Link } from '../router.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';

/**
 * The project's flags matching the search and tag, each with its state in every environment:
 * the list's items carry those states, so one request fills the table however long it is.
 */
export function FlagList(props: { project: string; environments: Environment[]; refresh: number }) {
  const { project, environments } = props;
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [tag, setTag] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQ(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);
  const flags = useLoad(async () => {
    const params = new URLSearchParams();
    if (q !== '') params.set('q', q);
    if (tag !== '') params.set('tag', tag);
    return (await get<Page<Flag>>(`/projects/${seg(project)}/flags?${params}`)).items;
  }, [project, q, tag, props.refresh]);

  return (
    <section aria-labelledby="flags-title">
      <h2 id="flags-title">Flags</h2>
      <search class="row">
        <label for="flag-search">
          Search
          <input
            id="flag-search"
            type="search"
            placeholder="key, name or description"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <label for="flag-tag">
          Tag
          <input id="flag-tag" value={tag} placeholder="any" onChange={(e) => setTag(e.currentTarget.value.trim())} />
        </label>
        {tag !== '' && (
          <button type="button" onClick={() => setTag('')}>
            Clear tag “{tag}”
          </button>
        )}
      </search>
      <ErrorText error={flags.error} />
      {flags.data === undefined ? (
        <p class="loading">Loading flags…</p>
      ) : flags.data.length === 0 ? (
        <p>No flags{q !== '' || tag !== '' ? ' match' : ' yet'}.</p>
      ) : (
        <table>
          <caption class="muted">
            {flags.data.length} flag{flags.data.length === 1 ? '' : 's'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Flag</th>
              <th scope="col">Tags</th>
              {environments.map((e) => (
                <th scope="col" key={e.key}>
                  {e.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {flags.data.map((f) => (
              <tr key={f.key} data-flag={f.key}>
                <td>
                  <Link href={`/projects/${seg(project)}/flags/${seg(f.key)}`}>{f.name}</Link> <code>{f.key}</code>{' '}
                  <span class="muted">{f.type}</span>
                </td>
                <td>
                  {f.tags.map((t) => (
                    <button
                      type="button"
                      class="tag"
                      key={t}
                      onClick={() => setTag(t)}
                      title={`Show flags tagged ${t}`}
                    >
                      {t}
                    </button>
                  ))}
                </td>
                {environments.map((e) => {
                  const on = f.environments?.[e.key]?.enabled === true;
                  return (
                    <td key={e.key} data-env={e.key}>
                      <span class={on ? 'state on' : 'state off'}>{on ? 'on' : 'off'}</span>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
