import type { Config } from '../api/types.js';
import { FieldError } from '../ui/errors.js';
import { parseList } from './values.js';

type Prerequisites = Config['prerequisites'];

/** Flags that must serve one of some variants before this flag is evaluated at all. */
export function PrerequisitesEditor(props: {
  prerequisites: Prerequisites;
  onChange: (p: Prerequisites) => void;
  error: unknown;
}) {
  const { prerequisites, onChange } = props;
  const set = (i: number, p: Prerequisites[number]) => onChange(prerequisites.map((old, j) => (j === i ? p : old)));
  return (
    <fieldset>
      <legend>Prerequisites</legend>
      {prerequisites.map((p, i) => (
        <div class="row" key={i}>
          <label>
            Flag
            <input value={p.flag} onInput={(e) => set(i, { ...p, flag: e.currentTarget.value.trim() })} />
          </label>
          <label>
            Serves one of (variants)
            <input
              value={p.variants.join(', ')}
              onChange={(e) => set(i, { ...p, variants: parseList(e.currentTarget.value) })}
            />
          </label>
          <button type="button" onClick={() => onChange(prerequisites.filter((_, j) => j !== i))}>
            Remove prerequisite
          </button>
          <FieldError error={props.error} field={`prerequisites[${i}]`} />
        </div>
      ))}
      <button type="button" onClick={() => onChange([...prerequisites, { flag: '', variants: ['on'] }])}>
        Add prerequisite
      </button>
      <FieldError error={props.error} field="prerequisites" exact />
    </fieldset>
  );
}
