import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Environment, Page, Segment } from '../api/types.js';
import { ClauseBuilder } from '../flag/clause-builder.js';
import { parseList } from '../flag/values.js';
import { useChanges } from '../live/changes.js';
import { Link, navigate } from '../router.js';
import { mayAct, useSession } from '../session.js';
import { DraftSaveOutcome } from '../ui/draft-save-outcome.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useDraft } from '../ui/use-draft.js';
import { useDraftSave } from '../ui/use-draft-save.js';
import { useLoad } from '../ui/use-load.js';
import { useSubmit } from '../ui/use-submit.js';

type Draft = Pick<Segment, 'name' | 'description' | 'included' | 'excluded' | 'rules'>;

const draftOf = (s: Segment): Draft => ({
  name: s.name,
  description: s.description,
  included: s.included,
  excluded: s.excluded,
  rules: s.rules,
});

/** A project's segments in one environment: listed, created, edited and deleted. */
export function SegmentsPage(props: { project: string; env: string | undefined; segment: string | undefined }) {
  const { project } = props;
  const { me } = useSession();
  const canEdit = mayAct(me, project, 'editor');
  const envs = useLoad(() => get<Page<Environment>>(`/projects/${seg(project)}/environments`), [project]);
  const env = props.env ?? envs.data?.items[0]?.key;
  const collection = env === undefined ? undefined : `/projects/${seg(project)}/environments/${seg(env)}/segments`;
  const list = useLoad(
    async () => (collection === undefined ? undefined : (await get<Page<Segment>>(collection)).items),
    [collection],
  );
  useChanges(project, (entry) => {
    if (entry.targetKind === 'segment') list.reload();
  });
  const at = (environment: string, segment?: string) =>
    `/projects/${seg(project)}/segments?env=${seg(environment)}${segment === undefined ? '' : `&segment=${seg(segment)}`}`;
  const here = (segment?: string) => at(env ?? '', segment);
  const selected = list.data?.find((s) => s.key === props.segment);
  return (
    <section>
      <h1>Segments</h1>
      <p class="muted">Groups of context keys and rules that flag rules match with “is in segment”.</p>
      <ErrorText error={envs.error ?? list.error} />
      <nav class="tabs" aria-label="Environments">
        {envs.data?.items.map((e) => (
          // The segment stays selected: the same key in another environment is the one to compare.
          <Link key={e.key} href={at(e.key, props.segment)} aria-current={e.key === env ? 'page' : undefined}>
            {e.name}
          </Link>
        ))}
      </nav>
      {list.data !== undefined &&
        (list.data.length === 0 ? (
          <p>No segments in {env} yet.</p>
        ) : (
          <ul class="segments">
            {list.data.map((s) => (
              <li key={s.key}>
                <Link href={here(s.key)} aria-current={s.key === props.segment ? 'page' : undefined}>
                  {s.name}
                </Link>{' '}
                <code>{s.key}</code>{' '}
                <span class="muted">
                  {s.included.length} included, {s.excluded.length} excluded, {s.rules.length} rule
                  {s.rules.length === 1 ? '' : 's'}
                </span>
              </li>
            ))}
          </ul>
        ))}
      {collection !== undefined && selected !== undefined && (
        <SegmentEditor
          key={`${env}/${selected.key}`}
          path={`${collection}/${seg(selected.key)}`}
          segment={selected}
          canEdit={canEdit}
          onSaved={list.reload}
          onDeleted={() => {
            list.reload();
            navigate(here(), true);
          }}
        />
      )}
      {props.segment !== undefined && list.data !== undefined && selected === undefined && (
        <p class="error">
          No segment {props.segment} in {env}.
        </p>
      )}
      {canEdit && collection !== undefined && (
        <CreateSegment
          collection={collection}
          onCreated={(key) => {
            list.reload();
            navigate(here(key));
          }}
        />
      )}
    </section>
  );
}

function CreateSegment(props: { collection: string; onCreated: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const { error, general, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      await call('POST', props.collection, { body: { key, name: name === '' ? key : name } });
      setKey('');
      setName('');
      props.onCreated(key);
    });
  };
  return (
    <form onSubmit={submit} aria-label="New segment">
      <h2>New segment</h2>
      <div class="row">
        <label>
          Segment key
          <input required value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="beta-testers" />
        </label>
        <label>
          Segment name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Beta testers" />
        </label>
        <button type="submit" class="primary">
          Create segment
        </button>
      </div>
      <FieldError error={error} field="key" />
      <FieldError error={error} field="name" />
      <ErrorText error={general} />
    </form>
  );
}

/** One segment, edited as a draft and replaced with one `PUT` guarded by its version. */
function SegmentEditor(props: {
  path: string;
  segment: Segment;
  canEdit: boolean;
  onSaved: () => void;
  onDeleted: () => void;
}) {
  const drafted = useDraft(props.segment, draftOf, (s) => s.version);
  const { draft } = drafted;
  const saving = useDraftSave(drafted, props.onSaved);
  const { error } = saving;
  const [confirming, setConfirming] = useState(false);
  const change = (d: Partial<Draft>) => saving.change({ ...draft, ...d });
  const setRule = (i: number, clauses: Draft['rules'][number]['clauses']) =>
    change({ rules: draft.rules.map((r, j) => (j === i ? { ...r, clauses } : r)) });
  const save = (e: Event) => {
    e.preventDefault();
    return saving.run(async () => {
      await call('PUT', props.path, { body: draft, ifMatch: drafted.base.version });
      saving.succeeded();
      props.onSaved();
    });
  };
  const remove = () => {
    setConfirming(false);
    return saving.run(async () => {
      await call('DELETE', props.path);
      props.onDeleted();
    });
  };
  const s = props.segment;
  return (
    <form onSubmit={save} aria-label={`Segment ${s.key}`}>
      <h2>
        {s.name} <code>{s.key}</code>
      </h2>
      <fieldset disabled={!props.canEdit}>
        <legend>Segment {s.key}</legend>
        <label>
          Name
          <input value={draft.name} onInput={(e) => change({ name: e.currentTarget.value })} />
        </label>
        <FieldError error={error} field="name" />
        <label>
          Description
          <input value={draft.description} onInput={(e) => change({ description: e.currentTarget.value })} />
        </label>
        <FieldError error={error} field="description" />
        <label for="seg-included">Included context keys (comma or one per line)</label>
        <textarea
          id="seg-included"
          rows={2}
          value={draft.included.join(', ')}
          onChange={(e) => change({ included: parseList(e.currentTarget.value) })}
        />
        <FieldError error={error} field="included" />
        <label for="seg-excluded">Excluded context keys (they never match, whatever the rules say)</label>
        <textarea
          id="seg-excluded"
          rows={2}
          value={draft.excluded.join(', ')}
          onChange={(e) => change({ excluded: parseList(e.currentTarget.value) })}
        />
        <FieldError error={error} field="excluded" />
        <fieldset>
          <legend>Rules (a context matching any rule is in the segment)</legend>
          {draft.rules.map((r, i) => (
            <fieldset class="rule" key={r.id ?? `new-${i}`} aria-label={`Segment rule ${i + 1}`}>
              <legend>Segment rule {i + 1}</legend>
              <ClauseBuilder
                clauses={r.clauses}
                id={`sr${i}`}
                field={`rules[${i}].clauses`}
                error={error}
                onChange={(clauses) => setRule(i, clauses)}
              />
              <button type="button" onClick={() => change({ rules: draft.rules.filter((_, j) => j !== i) })}>
                Remove segment rule {i + 1}
              </button>
              <FieldError error={error} field={`rules[${i}].id`} />
            </fieldset>
          ))}
          <button
            type="button"
            onClick={() => change({ rules: [...draft.rules, { clauses: [{ attribute: '', op: 'in', values: [] }] }] })}
          >
            Add segment rule
          </button>
          <FieldError error={error} field="rules" exact />
        </fieldset>
        <DraftSaveOutcome what="segment" savedText="Segment saved." drafted={drafted} save={saving} />
        <div class="row">
          <button type="submit" class="primary">
            Save segment
          </button>
          {confirming ? (
            <>
              <button type="button" class="kill" onClick={remove}>
                Yes, delete {s.key}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" class="kill" onClick={() => setConfirming(true)}>
              Delete segment
            </button>
          )}
        </div>
      </fieldset>
    </form>
  );
}
