import type { Rule, Variant } from '../api/types.js';
import { FieldError } from '../ui/errors.js';
import { ClauseBuilder } from './clause-builder.js';
import { ServeEditor } from './serve-editor.js';

/** The targeting rules, in order: the first whose clauses all match decides what is served. */
export function RulesEditor(props: {
  rules: Rule[];
  variants: Variant[];
  onChange: (rules: Rule[]) => void;
  error: unknown;
}) {
  const { rules, variants, onChange } = props;
  const set = (i: number, r: Rule) => onChange(rules.map((old, j) => (j === i ? r : old)));
  const move = (i: number, by: number) => {
    const next = [...rules];
    const [r] = next.splice(i, 1);
    if (r !== undefined) next.splice(i + by, 0, r);
    onChange(next);
  };
  return (
    <fieldset>
      <legend>Rules</legend>
      {rules.length === 0 && <p class="muted">No rules: everyone not targeted gets the default.</p>}
      {rules.map((r, i) => {
        const field = `rules[${i}]`;
        return (
          <fieldset class="rule" key={r.id ?? `new-${i}`} aria-label={`Rule ${i + 1}`}>
            <legend>Rule {i + 1}</legend>
            <label>
              Description
              <input
                value={r.description ?? ''}
                onInput={(e) => set(i, { ...r, description: e.currentTarget.value })}
              />
            </label>
            <ClauseBuilder
              clauses={r.clauses}
              id={`r${i}`}
              field={`${field}.clauses`}
              error={props.error}
              onChange={(clauses) => set(i, { ...r, clauses })}
            />
            <ServeEditor
              serve={r.serve}
              variants={variants}
              id={`r${i}-serve`}
              field={`${field}.serve`}
              error={props.error}
              label={`Rule ${i + 1} serves`}
              onChange={(serve) => set(i, { ...r, serve })}
            />
            <div class="row">
              <button type="button" disabled={i === 0} onClick={() => move(i, -1)}>
                Move up
              </button>
              <button type="button" disabled={i === rules.length - 1} onClick={() => move(i, 1)}>
                Move down
              </button>
              <button type="button" onClick={() => onChange(rules.filter((_, j) => j !== i))}>
                Remove rule {i + 1}
              </button>
            </div>
            <FieldError error={props.error} field={`${field}.id`} />
          </fieldset>
        );
      })}
      <button
        type="button"
        onClick={() =>
          onChange([
            ...rules,
            { clauses: [{ attribute: '', op: 'in', values: [] }], serve: { variant: variants[0]?.key ?? '' } },
          ])
        }
      >
        Add rule
      </button>
      <FieldError error={props.error} field="rules" exact />
    </fieldset>
  );
}
