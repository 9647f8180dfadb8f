import { ApiError, call, get, seg } from '../api/client.js';
import type { Flag, FlagType, JsonValue, Variant } from '../api/types.js';
import { DraftSaveOutcome } from '../ui/draft-save-outcome.js';
import { FieldError } from '../ui/errors.js';
import { useDraft } from '../ui/use-draft.js';
import { useDraftSave } from '../ui/use-draft-save.js';

/** A variant as typed: its value is text until it is saved. */
interface Row {
  key: string;
  value: string;
}

const rowsOf = (f: Flag): Row[] =>
  f.variants.map((v) => ({ key: v.key, value: typeof v.value === 'string' ? v.value : JSON.stringify(v.value) }));

/**
 * What a person typed as a value of a flag of this type: strings are taken as typed, numbers
 * and JSON are parsed. A number that is not one is sent as typed, for the API to name the field;
 * JSON that does not parse is refused here, next to its field.
 */
function typedValue(type: FlagType, text: string, field: string): JsonValue {
  if (type === 'string') return text;
  if (type === 'number') return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new ApiError(0, 'INVALID_JSON', 'this is not valid JSON', { field });
  }
}

/**
 * The configuration versions a write of the flag at `revision` produced: the write moves every
 * environment's configuration version without changing the configuration. Read back at once; a
 * newer revision means someone else wrote the flag meanwhile, and then no version is claimed.
 * A configuration rewritten meanwhile shows a new `updatedAt`, which the editors check too.
 */
async function versionsCausedBy(path: string, revision: number): Promise<Record<string, number>> {
  const now = await get<Flag>(path);
  if (now.revision !== revision) return {};
  return Object.fromEntries(Object.entries(now.environments ?? {}).map(([env, c]) => [env, c.version]));
}

/**
 * The flag's variants: added, given new values, or removed, and saved with one `PATCH` of the
 * flag guarded by its revision. The API refuses, naming the field, a value of the wrong type,
 * a key used twice, or removing a variant still in use anywhere.
 */
export function VariantsEditor(props: {
  project: string;
  flag: Flag;
  canEdit: boolean;
  /** A save starts: the configurations' versions are about to move because of it. */
  onSaving: () => void;
  /**
   * The save is over: per environment, the configuration version it produced (none when it
   * failed, or when someone else changed the flag right after so the versions are not known).
   */
  onSettled: (caused: Record<string, number>) => void;
  /** The save met a newer revision than the page holds: have it read again. */
  onStale: () => void;
}) {
  const { flag } = props;
  const drafted = useDraft(flag, rowsOf, (f) => f.revision);
  const rows = drafted.draft;
  const saving = useDraftSave(drafted, props.onStale);
  const { error } = saving;
  const set = (i: number, row: Row) => saving.change(rows.map((r, j) => (j === i ? row : r)));
  if (flag.type === 'boolean') {
    return (
      <>
        <h2>Variants</h2>
        <p class="muted">A boolean flag always has the variants on (true) and off (false).</p>
      </>
    );
  }
  const save = async (e: Event) => {
    e.preventDefault();
    props.onSaving();
    let caused: Record<string, number> = {};
    await saving.run(async () => {
      const variants: Variant[] = rows.map((r, i) => ({
        key: r.key.trim(),
        value: typedValue(flag.type, r.value, `variants[${i}].value`),
      }));
      const path = `/projects/${seg(props.project)}/flags/${seg(flag.key)}`;
      const { body: after } = await call<Flag>('PATCH', path, { body: { variants }, ifMatch: drafted.base.revision });
      saving.succeeded();
      caused = await versionsCausedBy(path, after.revision);
    });
    props.onSettled(caused);
  };
  return (
    <form onSubmit={save} aria-label="Variants">
      <h2>Variants</h2>
      <fieldset disabled={!props.canEdit}>
        <legend>Variants ({flag.type} values)</legend>
        {rows.map((r, i) => (
          <div class="row variant" key={i}>
            <label>
              Variant {i + 1} key
              <input value={r.key} onInput={(e) => set(i, { ...r, key: e.currentTarget.value })} />
            </label>
            <label>
              Variant {i + 1} value
              <input value={r.value} onInput={(e) => set(i, { ...r, value: e.currentTarget.value })} />
            </label>
            <button type="button" onClick={() => drafted.change(rows.filter((_, j) => j !== i))}>
              Remove variant {i + 1}
            </button>
            <FieldError error={error} field={`variants[${i}]`} />
          </div>
        ))}
        <button type="button" onClick={() => drafted.change([...rows, { key: '', value: '' }])}>
          Add variant
        </button>
        <FieldError error={error} field="variants" exact />
        <DraftSaveOutcome what="flag" savedText="Variants saved." drafted={drafted} save={saving} />
        <button type="submit" class="primary" disabled={saving.busy}>
          Save variants
        </button>
      </fieldset>
    </form>
  );
}
