import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { get } from '../api/client.js';
import type { AuditEntry, Page } from '../api/types.js';
import { useChanges } from '../live/changes.js';
import { ErrorText } from '../ui/errors.js';
import { JsonDiff } from '../ui/json-diff.js';
import { useLoad } from '../ui/use-load.js';

const KINDS = ['flag', 'segment', 'environment', 'key', 'metric', 'release-plan', 'member', 'webhook', 'project'];

/** Who changed what in the project, newest first, each entry with its before and after. */
export function AuditPage({ project }: { project: string }) {
  const [kind, setKind] = useState('');
  const [target, setTarget] = useState('');
  const [actor, setActor] = useState('');
  const [pages, setPages] = useState<string[]>([]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const loaded = useLoad(async () => {
    const query = (cursor?: string) => {
      const p = new URLSearchParams({ project, limit: '50' });
      if (kind !== '') p.set('targetKind', kind);
      if (target !== '') p.set('targetKey', target);
      if (actor !== '') p.set('actor', actor);
      if (cursor !== undefined) p.set('cursor', cursor);
      return get<Page<AuditEntry>>(`/audit?${p}`);
    };
    const first = await query();
    const items = [...first.items];
    let next = first.nextCursor ?? null;
    for (const _ of pages) {
      if (next === null) break;
      const more = await query(next);
      items.push(...more.items);
      next = more.nextCursor ?? null;
    }
    return { items, next };
  }, [project, kind, target, actor, pages.length]);
  useChanges(project, () => loaded.reload());
  const toggle = (id: string) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  return (
    <section>
      <h1>Audit log</h1>
      <form
        class="row"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          setTarget(String(form.get('target') ?? '').trim());
          setActor(String(form.get('actor') ?? '').trim());
        }}
      >
        <label>
          What
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">anything</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Key
          <input name="target" placeholder="search-v2" />
        </label>
        <label>
          Who
          <input name="actor" placeholder="ada@example.com" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorText error={loaded.error} />
      {loaded.data === undefined ? (
        <p class="loading">Loading…</p>
      ) : (
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Reason</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.items.map((e) => {
              const id = String(e.id);
              return (
                <Fragment key={id}>
                  <tr data-audit-id={id}>
                    <td>
                      <time dateTime={e.createdAt}>{new Date(e.createdAt).toLocaleString()}</time>
                    </td>
                    <td class="actor">{e.actor}</td>
                    <td>
                      <code>{e.action}</code> {e.targetKind} <strong>{e.targetKey}</strong>
                    </td>
                    <td class="reason">{e.reason ?? ''}</td>
                    <td>
                      <button type="button" aria-expanded={open.has(id)} onClick={() => toggle(id)}>
                        {open.has(id) ? 'Hide diff' : 'Show diff'}
                      </button>
                    </td>
                  </tr>
                  {open.has(id) && (
                    <tr>
                      <td colSpan={5}>
                        <JsonDiff before={e.before} after={e.after} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      {loaded.data?.next != null && (
        <button type="button" onClick={() => setPages([...pages, loaded.data?.next ?? ''])}>
          Older entries
        </button>
      )}
    </section>
  );
}
