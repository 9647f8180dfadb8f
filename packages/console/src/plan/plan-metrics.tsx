import { useEffect, useState } from 'preact/hooks';
import { get } from '../api/client.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';

/** How often the figures are read again while the plan runs: they move with traffic, not only with changes. */
const REFRESH_MS = 5000;

export type Guard =
  | { metric: string; max: number }
  | { metric: string; min: number }
  | { metric: string; maxRegression: number };

interface PerSide {
  variant: number;
  control: number;
}

/** `GET …/release-plan/figures`: what the controller judges on its next tick. */
interface Figures {
  state: string;
  stage: {
    number: number;
    percent: number;
    heldSeconds: number;
    holdSeconds: number;
    units: PerSide;
    minUnits: number;
  } | null;
  guards: {
    guard: Guard;
    units: PerSide;
    value: PerSide;
    relative: number | null;
    interval: [number, number] | null;
    difference: { estimate: number; interval: [number, number] } | null;
    standing: 'waiting' | 'within' | 'breached' | 'metric-missing';
  }[];
}

const STANDING: Record<Figures['guards'][number]['standing'], string> = {
  waiting: 'waiting for enough units',
  within: 'within its bound',
  breached: 'breached',
  'metric-missing': 'its metric no longer exists',
};

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const num = (x: number) => Number(x.toPrecision(4)).toString();
const signed = (x: number) => `${x > 0 ? '+' : ''}${num(x)}`;

/**
 * A plan's live figures, as the controller reads them: the current stage's hold and units against
 * what it needs, and each guard's metric on the variant and the control with where the guard
 * stands. Read again every few seconds while the plan runs or is paused, and when `refresh`
 * changes (the plan changed).
 */
export function PlanMetrics(props: {
  path: string;
  plan: { variant: string; control: string; state: string };
  refresh: number;
}) {
  const { plan } = props;
  const live = plan.state === 'running' || plan.state === 'paused';
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(t);
  }, [live]);
  const figures = useLoad(() => get<Figures>(`${props.path}/figures`), [props.path, props.refresh, plan.state, tick]);
  const f = figures.data;
  const stage = f?.stage;
  return (
    <section class="plan-metrics" aria-labelledby="plan-metrics-title">
      <h2 id="plan-metrics-title">Live figures</h2>
      <ErrorText error={figures.error} />
      {stage !== undefined && stage !== null && (
        <p class="stage-figures">
          Stage {stage.number} at {stage.percent} %: held <span data-figure="held">{stage.heldSeconds}</span> s of{' '}
          {stage.holdSeconds} s; <span data-figure="units">{stage.units.variant + stage.units.control}</span> units in
          this stage ({stage.units.variant} on {plan.variant}, {stage.units.control} on {plan.control})
          {stage.minUnits > 0 ? ` of ${stage.minUnits} needed` : ''}.
        </p>
      )}
      {f !== undefined &&
        (f.guards.length === 0 ? (
          <p class="muted">No guards to watch.</p>
        ) : (
          <table>
            <caption class="muted">
              Since the plan started, the change compared stage by stage; read again every {REFRESH_MS / 1000} s.
            </caption>
            <thead>
              <tr>
                <th scope="col">Guard</th>
                <th scope="col">Units</th>
                <th scope="col">{plan.variant}</th>
                <th scope="col">{plan.control}</th>
                <th scope="col">Change vs control (95 % sequential interval)</th>
                <th scope="col">Standing</th>
              </tr>
            </thead>
            <tbody>
              {f.guards.map((g, i) => (
                <tr key={i} data-guard={g.guard.metric} class={g.standing === 'breached' ? 'breached' : undefined}>
                  <td>
                    {g.guard.metric}{' '}
                    {'maxRegression' in g.guard
                      ? `(≤ ${num(g.guard.maxRegression * 100)} % worse)`
                      : 'max' in g.guard
                        ? `(≤ ${num(g.guard.max)})`
                        : `(≥ ${num(g.guard.min)})`}
                  </td>
                  <td>
                    {g.units.variant} / {g.units.control}
                  </td>
                  <td>{num(g.value.variant)}</td>
                  <td>{num(g.value.control)}</td>
                  <td>
                    {g.difference !== null
                      ? `${signed(g.difference.estimate)} [${signed(g.difference.interval[0])}, ${signed(g.difference.interval[1])}] over a control at 0`
                      : g.relative === null
                        ? '–'
                        : pct(g.relative)}
                    {g.difference === null && g.interval !== null
                      ? ` [${pct(g.interval[0])}, ${pct(g.interval[1])}]`
                      : ''}
                  </td>
                  <td>{STANDING[g.standing]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
