import { type Clause, OPERATORS, type Operator } from '../api/types.js';
import { FieldError } from '../ui/errors.js';
import { formatValues, parseValues } from './values.js';

/** What each operator does, for the operator menu. */
const OPERATOR_LABELS: Record<Operator, string> = {
  in: 'is one of',
  startsWith: 'starts with',
  endsWith: 'ends with',
  contains: 'contains',
  matches: 'matches regex',
  lt: '<',
  lte: '≤',
  gt: '>',
  gte: '≥',
  before: 'is before (date)',
  after: 'is after (date)',
  semverEq: 'semver =',
  semverLt: 'semver <',
  semverGt: 'semver >',
  inSegment: 'is in segment',
};

/** The clauses of one rule: all must match; each matches when any of its values does. */
export function ClauseBuilder(props: {
  clauses: Clause[];
  onChange: (clauses: Clause[]) => void;
  id: string;
  field: string;
  error: unknown;
}) {
  const { clauses, onChange, id } = props;
  const set = (i: number, c: Clause) => onChange(clauses.map((old, j) => (j === i ? c : old)));
  return (
    <div class="clauses">
      {clauses.map((c, i) => {
        const cid = `${id}-c${i}`;
        const field = `${props.field}[${i}]`;
        return (
          <div class="row clause" key={cid}>
            <label>
              Attribute
              <input
                value={c.attribute}
                placeholder="country"
                onInput={(e) => set(i, { ...c, attribute: e.currentTarget.value })}
              />
            </label>
            <label class="inline">
              <input
                type="checkbox"
                checked={c.negate === true}
                onChange={(e) => set(i, { ...c, negate: e.currentTarget.checked })}
              />
              not
            </label>
            <label>
              Operator
              <select
                value={c.op}
                onChange={(e) => {
                  const op = e.currentTarget.value as Operator;
                  set(i, { ...c, op, values: parseValues(op, formatValues(c.values)) });
                }}
              >
                {OPERATORS.map((op) => (
                  <option key={op} value={op}>
                    {OPERATOR_LABELS[op]} ({op})
                  </option>
                ))}
              </select>
            </label>
            <label>
              Values (comma-separated)
              <input
                value={formatValues(c.values)}
                placeholder={c.op === 'inSegment' ? 'beta-testers' : 'NL, BE'}
                onChange={(e) => set(i, { ...c, values: parseValues(c.op, e.currentTarget.value) })}
              />
            </label>
            <button type="button" onClick={() => onChange(clauses.filter((_, j) => j !== i))}>
              Remove condition
            </button>
            <FieldError error={props.error} field={field} />
          </div>
        );
      })}
      <button type="button" onClick={() => onChange([...clauses, { attribute: '', op: 'in', values: [] }])}>
        Add condition
      </button>
    </div>
  );
}
