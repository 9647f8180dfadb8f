import type { Serve, Variant } from '../api/types.js';
import { FieldError } from '../ui/errors.js';
import { percentOf, WHOLE } from './values.js';

/**
 * What a rule or the default serves: one variant, or a rollout over the variants. Each weight
 * has a slider for quick moves and a number for the exact share (to 0.001 %).
 */
export function ServeEditor(props: {
  serve: Serve;
  variants: Variant[];
  onChange: (serve: Serve) => void;
  /** Unique among the page's serve editors: names the controls and their labels. */
  id: string;
  /** The API's path of this serve (`defaultServe`, `rules[2].serve`) to show its errors. */
  field: string;
  error: unknown;
  label: string;
}) {
  const { serve, variants, onChange, id } = props;
  const weights =
    'rollout' in serve
      ? variants.map((v) => serve.rollout.weights.find((w) => w.variant === v.key)?.weight ?? 0)
      : undefined;
  const toRollout = () => {
    const first = 'variant' in serve ? serve.variant : variants[0]?.key;
    onChange({ rollout: { weights: variants.map((v) => ({ variant: v.key, weight: v.key === first ? WHOLE : 0 })) } });
  };
  const setWeight = (index: number, weight: number) => {
    if (weights === undefined || !('rollout' in serve)) return;
    const next = weights.map((w, i) => (i === index ? Math.max(0, Math.min(WHOLE, Math.round(weight))) : w));
    // With two variants, moving one moves the other: the shares always add up to everyone.
    if (next.length === 2) next[1 - index] = WHOLE - (next[index] as number);
    onChange({
      rollout: {
        ...serve.rollout,
        weights: variants.map((v, i) => ({ variant: v.key, weight: next[i] as number })),
      },
    });
  };
  const total = weights?.reduce((a, b) => a + b, 0) ?? WHOLE;
  return (
    <fieldset class="serve">
      <legend>{props.label}</legend>
      <label class="inline">
        <input
          type="radio"
          name={`${id}-kind`}
          checked={'variant' in serve}
          onChange={() => onChange({ variant: variants[0]?.key ?? '' })}
        />
        One variant
      </label>{' '}
      <label class="inline">
        <input type="radio" name={`${id}-kind`} checked={'rollout' in serve} onChange={toRollout} />
        Percentage rollout
      </label>
      {'variant' in serve ? (
        <div class="row">
          <label for={`${id}-variant`}>Serve</label>
          <select
            id={`${id}-variant`}
            value={serve.variant}
            onChange={(e) => onChange({ variant: e.currentTarget.value })}
          >
            {variants.map((v) => (
              <option key={v.key} value={v.key}>
                {v.key}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <div class="weights">
          {variants.map((v, i) => {
            const w = weights?.[i] ?? 0;
            return (
              <div class="row" key={v.key}>
                <label for={`${id}-w-${v.key}`}>{v.key} %</label>
                <input
                  id={`${id}-w-${v.key}`}
                  type="number"
                  min={0}
                  max={100}
                  step={0.001}
                  value={percentOf(w)}
                  onChange={(e) => setWeight(i, Number(e.currentTarget.value) * 1000)}
                />
                <input
                  type="range"
                  aria-label={`${v.key} share`}
                  min={0}
                  max={WHOLE}
                  step={100}
                  value={w}
                  aria-valuetext={`${percentOf(w)} %`}
                  onInput={(e) => setWeight(i, Number(e.currentTarget.value))}
                />
                <output>{w.toLocaleString('en')} / 100,000</output>
              </div>
            );
          })}
          <p class={total === WHOLE ? 'muted' : 'error'}>
            Total {percentOf(total)} %{total === WHOLE ? '' : ' — the shares must add up to 100 %'}
          </p>
          <label for={`${id}-bucket`}>Bucket by (attribute; the context key when empty)</label>
          <input
            id={`${id}-bucket`}
            value={serve.rollout.bucketBy ?? ''}
            onInput={(e) => {
              const bucketBy = e.currentTarget.value;
              const { bucketBy: _old, ...rest } = serve.rollout;
              onChange({ rollout: bucketBy === '' ? rest : { ...rest, bucketBy } });
            }}
          />
        </div>
      )}
      <FieldError error={props.error} field={props.field} />
    </fieldset>
  );
}
