import { useEffect, useState } from 'preact/hooks';
import { get, seg } from '../api/client.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';

/** How often the figures are read again while the plan runs: results come from events, not from the change stream. */
const REFRESH_MS = 5000;

export type Guard =
  | { metric: string; max: number }
  | { metric: string; min: number }
  | { metric: string; maxRegression: number };

/** The part of a release plan the figures need. */
export interface PlanFigures {
  variant: string;
  control: string;
  state: string;
  guards: Guard[];
  stages: { percent: number; holdSeconds: number; minUnits: number }[];
  stage: { number: number; percent: number } | null;
  stageStartedAt: string | null;
}

/** The part of the results API's answer shown here. */
interface Results {
  metric: { key: string; kind: 'conversion' | 'mean'; direction: 'increase' | 'decrease' };
  minUnitsPerVariant: number;
  srm: { pValue: number | null; mismatch: boolean };
  variants: { variant: string; units: number; mean: number }[];
  comparisons: {
    variant: string;
    relative: { estimate: number | null };
    sequential: { ci95: [number, number] | null };
  }[];
}

/** The server's `MIN_GUARD_UNITS`: fewer units on either side, and a relative guard is not judged yet. */
const MIN_GUARD_UNITS = 20;

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

function valueText(r: Results, mean: number | undefined): string {
  if (mean === undefined) return '–';
  return r.metric.kind === 'conversion' ? pct(mean) : mean.toFixed(3);
}

/**
 * Where a guard stands on these figures, by the controller's rule: a relative guard is beyond
 * tolerance when the whole sequential interval lies past it in the bad direction.
 */
function guardStanding(g: Guard, r: Results, variant: string, control: string): string {
  const units = (v: string) => r.variants.find((x) => x.variant === v)?.units ?? 0;
  if ('maxRegression' in g) {
    if (units(variant) < MIN_GUARD_UNITS || units(control) < MIN_GUARD_UNITS) return 'waiting for enough units';
    const ci = r.comparisons.find((c) => c.variant === variant)?.sequential.ci95;
    if (ci === undefined || ci === null) return 'no interval yet';
    const bad = r.metric.direction === 'increase' ? ci[1] < -g.maxRegression : ci[0] > g.maxRegression;
    return bad ? 'beyond tolerance' : 'within tolerance';
  }
  const mean = r.variants.find((v) => v.variant === variant)?.mean;
  if (mean === undefined || units(variant) < r.minUnitsPerVariant) return 'waiting for enough units';
  const bad = 'max' in g ? mean > g.max : mean < g.min;
  return bad ? 'beyond its bound' : 'within its bound';
}

/** Seconds since `from`, counted on this screen every second. */
function useElapsed(from: string | null): number | undefined {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return from === null ? undefined : Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
}

/**
 * A plan's live figures: the current stage's hold and units against what it needs, and each
 * guard's metric on the variant and the control with where the guard stands. Read again every
 * few seconds while the plan runs or is paused, and when `refresh` changes (the plan changed).
 * The figures are the results API's, over every exposure in the environment; the controller
 * judges on those since the plan started, so before a plan the two can differ.
 */
export function PlanMetrics(props: { resultsPath: string; plan: PlanFigures; refresh: number }) {
  const { plan } = props;
  const metrics = [...new Set(plan.guards.map((g) => g.metric))];
  const live = plan.state === 'running' || plan.state === 'paused';
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(t);
  }, [live]);
  const results = useLoad(
    async () =>
      Promise.all(
        metrics.map((m) =>
          get<Results>(`${props.resultsPath}?metric=${seg(m)}&control=${seg(plan.control)}`).then(
            (r) => [m, r] as const,
          ),
        ),
      ).then((pairs) => new Map(pairs)),
    [props.resultsPath, metrics.join(','), plan.control, props.refresh, tick],
  );
  const elapsed = useElapsed(plan.stageStartedAt);
  const stage = plan.stage === null ? undefined : plan.stages[plan.stage.number - 1];
  const anyResults = results.data === undefined ? undefined : [...results.data.values()][0];
  const units = (v: string) => anyResults?.variants.find((x) => x.variant === v)?.units ?? 0;
  return (
    <section class="plan-metrics" aria-labelledby="plan-metrics-title">
      <h2 id="plan-metrics-title">Live figures</h2>
      <p class="muted">
        From the experiment results over every exposure in this environment, read again every {REFRESH_MS / 1000} s.
      </p>
      {stage !== undefined && plan.stage !== null && plan.state !== 'draft' && (
        <p class="stage-figures">
          Stage {plan.stage.number} of {plan.stages.length} at {stage.percent} %: held{' '}
          <span data-figure="held">{elapsed ?? 0}</span> s of {stage.holdSeconds} s
          {anyResults !== undefined && (
            <>
              ; <span data-figure="units">{units(plan.variant) + units(plan.control)}</span> units exposed so far (
              {units(plan.variant)} on {plan.variant}, {units(plan.control)} on {plan.control})
              {stage.minUnits > 0 ? `, ${stage.minUnits} needed` : ''}
            </>
          )}
          .
        </p>
      )}
      <ErrorText error={results.error} />
      {metrics.length === 0 ? (
        <p class="muted">No guard metrics to watch.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Guard</th>
              <th scope="col">{plan.variant}</th>
              <th scope="col">{plan.control}</th>
              <th scope="col">Relative (sequential 95 % interval)</th>
              <th scope="col">Standing</th>
            </tr>
          </thead>
          <tbody>
            {plan.guards.map((g, i) => {
              const r = results.data?.get(g.metric);
              if (r === undefined)
                return (
                  <tr key={i} data-guard={g.metric}>
                    <td>{g.metric}</td>
                    <td colSpan={4}>{results.loading ? 'Loading…' : '–'}</td>
                  </tr>
                );
              const mean = (v: string) => r.variants.find((x) => x.variant === v)?.mean;
              const c = r.comparisons.find((x) => x.variant === plan.variant);
              const ci = c?.sequential.ci95;
              return (
                <tr key={i} data-guard={g.metric}>
                  <td>{g.metric}</td>
                  <td>{valueText(r, mean(plan.variant))}</td>
                  <td>{valueText(r, mean(plan.control))}</td>
                  <td>
                    {c?.relative.estimate === null || c === undefined ? '–' : pct(c.relative.estimate)}
                    {ci === null || ci === undefined ? '' : ` [${pct(ci[0])}, ${pct(ci[1])}]`}
                  </td>
                  <td class="standing">
                    {guardStanding(g, r, plan.variant, plan.control)}
                    {r.srm.mismatch ? '; sample-ratio mismatch' : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
