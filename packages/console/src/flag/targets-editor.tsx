import type { Config, Variant } from '../api/types.js';
import { FieldError } from '../ui/errors.js';
import { parseList } from './values.js';

type Targets = Config['targets'];

/** Individual targets: context keys that get one variant whatever the rules say. */
export function TargetsEditor(props: {
  targets: Targets;
  variants: Variant[];
  onChange: (t: Targets) => void;
  error: unknown;
}) {
  const { targets, variants, onChange } = props;
  const byVariant = (key: string) => targets.find((t) => t.variant === key)?.values ?? [];
  const set = (variant: string, text: string) => {
    const values = parseList(text);
    const others = targets.filter((t) => t.variant !== variant);
    onChange(values.length === 0 ? others : [...others, { variant, values }]);
  };
  return (
    <fieldset>
      <legend>Individual targets</legend>
      {variants.map((v) => {
        const index = targets.findIndex((t) => t.variant === v.key);
        return (
          <div key={v.key}>
            <label for={`targets-${v.key}`}>Context keys served {v.key} (comma or one per line)</label>
            <textarea
              id={`targets-${v.key}`}
              rows={2}
              value={byVariant(v.key).join(', ')}
              onChange={(e) => set(v.key, e.currentTarget.value)}
            />
            {index >= 0 && <FieldError error={props.error} field={`targets[${index}]`} />}
          </div>
        );
      })}
      <FieldError error={props.error} field="targets" exact />
    </fieldset>
  );
}
