import type { Database, HeldLock } from '../../db/database.js';
import type { PlanGuard } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import type { Writer } from '../changes/commit-change.js';
import { exposedUnitsSince, type MetricTotals, metricTotalsSince } from '../events/service.js';
import {
  MIN_UNITS_PER_VARIANT,
  sampleRatioMismatch,
  summarize,
  type VariantSummary,
} from '../experiments/stats/index.js';
import { type Metric, requireMetric } from '../metrics/service.js';
import type { Project } from '../projects/service.js';
import { judgeBound } from './bound.js';
import { judgeRegression, type RegressionReading, type Stratum } from './regression.js';
import { commitStep, type PlanRow, planKeys, type Step, SYSTEM_PRINCIPAL, stageOf, steps } from './service.js';
import { historyOf, runningPlans } from './store.js';

/** The advisory lock whose holder drives every release plan. Any constant shared by every instance. */
export const PLAN_LOCK = 0x5317_91a4;

/** Units exposed in a stage's first second may have been served the previous stage's split: the SRM check skips them. */
const SRM_GRACE_MS = 1000;

/** Other work due at a time that the instance driving plans does on its tick too (scheduled changes, DESIGN §10). */
export interface DueWork {
  runDue(onError: (err: unknown, context: string) => void): Promise<void>;
}

export interface PlanControllerOptions {
  writer: Writer;
  database: Database;
  intervalMs: number;
  onError: (err: unknown, context: string) => void;
  /** Run on every tick of the lock's holder, before the plans are judged. */
  dueWork?: readonly DueWork[];
}

const percent = (r: number) => `${r >= 0 ? '+' : '−'}${Math.round(Math.abs(r) * 100)} %`;
const count = (n: number) => n.toLocaleString('en-US');
const number = (x: number) => Number(x.toPrecision(4)).toString();
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${number(Math.abs(x))}`;

/**
 * Drives the running release plans (DESIGN §10): on every tick, the one instance holding
 * {@link PLAN_LOCK} judges each running plan and takes its step through the one write path. A
 * step commits only on the plan revision it judged, so even two instances that both believed
 * they held the lock could not take one stage twice.
 */
export class PlanController {
  private lock: HeldLock | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: PlanControllerOptions) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.lock?.release();
    this.lock = undefined;
  }

  /** Whether this instance drives plans now. */
  get leading(): boolean {
    return this.lock !== undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err) => this.options.onError(err, 'tick'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
  }

  /** One pass: take or keep the lock, do the due work, then judge every running plan. */
  async tick(): Promise<void> {
    if (!(await this.lead())) return;
    for (const work of this.options.dueWork ?? []) {
      if (this.stopped) return;
      try {
        await work.runDue(this.options.onError);
      } catch (err) {
        this.options.onError(err, 'due work');
      }
    }
    const { db } = this.options.writer;
    for (const plan of await runningPlans(db)) {
      if (this.stopped) return;
      try {
        await this.drive(plan);
      } catch (err) {
        this.options.onError(err, `release plan ${plan.id}`);
      }
    }
  }

  private async lead(): Promise<boolean> {
    if (this.lock !== undefined && !(await this.lock.alive())) {
      await this.lock.release();
      this.lock = undefined;
    }
    if (this.lock === undefined) this.lock = await this.options.database.tryAdvisoryLock(PLAN_LOCK);
    return this.lock !== undefined;
  }

  /**
   * Judges `plan` as read and takes its step, if any, only if the plan has not moved since that
   * read. Public so that tests can race two instances on one stale read.
   */
  async drive(plan: PlanRow): Promise<void> {
    const { db } = this.options.writer;
    const { project, flagKey, archived } = await planKeys(db, plan);
    const step = archived ? archivedStep(plan) : await judge(db, project, flagKey, plan);
    if (step === undefined) return;
    await commitStep(
      this.options.writer,
      { principal: SYSTEM_PRINCIPAL, reason: step.reason },
      plan.id,
      ({ plan: now }) => (now.revision === plan.revision && now.state === 'running' ? step : undefined),
    );
  }
}

export interface GuardReading {
  guard: PlanGuard;
  metric: string;
  breached: boolean;
  /** The numbers, as they go into a reason. */
  summary: string;
  details: Record<string, unknown>;
  /** A `maxRegression` guard's reading, as the plan's figures show it. */
  regression?: RegressionReading | undefined;
}

function summaryOf(metric: Metric, row: { units: number; conversions: number; sum: number; sumOfSquares: number }) {
  return summarize(
    metric.kind,
    metric.kind === 'conversion'
      ? { units: row.units, sum: row.conversions, sumOfSquares: row.conversions }
      : { units: row.units, sum: row.sum, sumOfSquares: row.sumOfSquares },
  );
}

const EMPTY = { units: 0, conversions: 0, sum: 0, sumOfSquares: 0 };

/**
 * A guard's metric on the plan's variant and control over the units first exposed since the
 * plan started, in all (`variant`, `control`) and by the window in which they were first
 * exposed (`strata`): a window ends at each step of the plan's history, where its split may
 * have changed.
 */
export interface GuardData {
  metric: Metric;
  variant: VariantSummary;
  control: VariantSummary;
  strata: Stratum[];
}

export async function guardData(
  db: Writer['db'],
  project: Project,
  flagKey: string,
  plan: PlanRow,
  guard: PlanGuard,
): Promise<GuardData> {
  const metric = await requireMetric(db, project, guard.metric);
  const since = plan.startedAt ?? plan.createdAt;
  const steps = (await historyOf(db, plan.id)).map((h) => h.createdAt).filter((at) => at > since);
  // A unit's window is fixed by its first exposure: each window's totals are those since its
  // start less those since the next one's.
  const totals: MetricTotals[] = [];
  for (const at of [since, ...steps]) {
    totals.push(
      await metricTotalsSince(db, { environmentId: plan.environmentId, flag: flagKey, event: metric.event, since: at }),
    );
  }
  const side = (t: MetricTotals | undefined, variant: string) =>
    t?.variants.find((x) => x.variant === variant) ?? EMPTY;
  const window = (i: number, variant: string) => {
    const from = side(totals[i], variant);
    const after = side(totals[i + 1], variant);
    return summaryOf(metric, {
      units: Math.max(0, from.units - after.units),
      conversions: Math.max(0, from.conversions - after.conversions),
      sum: from.sum - after.sum,
      sumOfSquares: Math.max(0, from.sumOfSquares - after.sumOfSquares),
    });
  };
  return {
    metric,
    variant: summaryOf(metric, side(totals[0], plan.variant)),
    control: summaryOf(metric, side(totals[0], plan.control)),
    strata: totals.map((_, i) => ({ variant: window(i, plan.variant), control: window(i, plan.control) })),
  };
}

/** One guard on the plan's units. `undefined`: not enough data to judge yet. */
async function readGuard(
  db: Writer['db'],
  project: Project,
  flagKey: string,
  plan: PlanRow,
  guard: PlanGuard,
): Promise<GuardReading | undefined> {
  return judgeGuard(plan, guard, await guardData(db, project, flagKey, plan, guard));
}

/** A guard judged on its data, as the controller judges it. `undefined`: not enough data yet. */
export function judgeGuard(plan: PlanRow, guard: PlanGuard, data: GuardData): GuardReading | undefined {
  const { metric, variant, control } = data;
  const units = variant.units + control.units;
  if ('maxRegression' in guard) {
    const reading = judgeRegression(metric.direction, guard.maxRegression, data.strata);
    if (reading === undefined) return undefined;
    const { breached, estimate, interval } = reading;
    const unitsBy = { [plan.variant]: variant.units, [plan.control]: control.units };
    if (reading.basis === 'absolute') {
      return {
        guard,
        metric: metric.key,
        breached,
        regression: reading,
        summary: `${metric.key} ${number(variant.mean)} vs 0 on control, difference ${signed(estimate)}, interval [${signed(interval[0])}, ${signed(interval[1])}], ${count(units)} units`,
        details: {
          metric: metric.key,
          maxRegression: guard.maxRegression,
          // Control's mean is 0: no relative change exists, the difference is judged against 0.
          relative: null,
          absolute: estimate,
          interval,
          units: unitsBy,
        },
      };
    }
    return {
      guard,
      metric: metric.key,
      breached,
      regression: reading,
      summary: `${metric.key} ${percent(estimate)} vs control, interval [${percent(interval[0])}, ${percent(interval[1])}], ${count(units)} units`,
      details: {
        metric: metric.key,
        maxRegression: guard.maxRegression,
        relative: estimate,
        interval,
        units: unitsBy,
      },
    };
  }
  if (variant.units < MIN_UNITS_PER_VARIANT) return undefined;
  const bound = 'max' in guard ? guard.max : guard.min;
  const reading = judgeBound(guard, metric.kind, variant);
  if (reading === undefined) return undefined;
  const { breached, interval } = reading;
  return {
    guard,
    metric: metric.key,
    breached,
    summary: `${metric.key} ${number(variant.mean)} on ${plan.variant}, interval [${number(interval[0])}, ${number(interval[1])}], ${'max' in guard ? 'above its max' : 'below its min'} ${number(bound)}, ${count(variant.units)} units`,
    details: { ...guard, value: variant.mean, interval, units: variant.units },
  };
}

/**
 * An archived flag is served to no SDK and its rollout cannot be written until it is unarchived:
 * there is nothing to widen or to judge, and a step would fail on every tick. The plan waits
 * paused; `resume` is refused until the flag is unarchived.
 */
function archivedStep(plan: PlanRow): Step {
  const at = stageOf(plan);
  const where = at === null ? 'the plan' : `stage ${at.number} (${at.percent} %)`;
  return steps.pause(`${where}: the flag was archived → paused`, { cause: 'archived' });
}

const OUTCOME = { rollback: 'rolled back', kill: 'killed', pause: 'paused' } as const;

/**
 * What a running plan's next step is, if any: a breached guard → its `onBreach`; a sample-ratio
 * mismatch in the stage → pause; the stage held long enough with enough units → the next stage,
 * or `completed` after the last. Exported for the controller's tests.
 */
export async function judge(
  db: Writer['db'],
  project: Project,
  flagKey: string,
  plan: PlanRow,
  now = Date.now(),
): Promise<Step | undefined> {
  const stage = plan.stages[plan.stage];
  const at = stageOf(plan);
  if (stage === undefined || at === null) return undefined;
  const where = `stage ${at.number} (${at.percent} %)`;

  for (const guard of plan.guards) {
    let reading: GuardReading | undefined;
    try {
      reading = await readGuard(db, project, flagKey, plan, guard);
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') {
        return steps.pause(`${where}: guard metric ${JSON.stringify(guard.metric)} no longer exists → paused`, {
          guard,
        });
      }
      throw err;
    }
    if (reading?.breached) {
      const reason = `${where}: ${reading.summary} → ${OUTCOME[plan.onBreach]}`;
      const details = { cause: 'guard', ...reading.details };
      if (plan.onBreach === 'rollback') return steps.rollback(plan, reason, details);
      if (plan.onBreach === 'kill') return steps.kill(plan, reason, details);
      return steps.pause(reason, details);
    }
  }

  const stageStart = plan.stageStartedAt?.getTime() ?? now;
  const inStage = await exposedUnitsSince(db, {
    environmentId: plan.environmentId,
    flag: flagKey,
    since: new Date(stageStart),
  });
  const nVariant = inStage.units.get(plan.variant) ?? 0;
  const nControl = inStage.units.get(plan.control) ?? 0;

  // At 100 % there is no split to test: a unit still served control is an SDK not yet updated.
  if (stage.percent < 100) {
    const window = await exposedUnitsSince(db, {
      environmentId: plan.environmentId,
      flag: flagKey,
      since: new Date(stageStart + SRM_GRACE_MS),
    });
    const observed = [window.units.get(plan.variant) ?? 0, window.units.get(plan.control) ?? 0];
    const weight = Math.round(stage.percent * 1000);
    const srm = sampleRatioMismatch(observed, [weight, 100_000 - weight]);
    if (srm.mismatch) {
      return steps.pause(
        `${where}: sample ratio mismatch, ${count(observed[0] ?? 0)} units on ${plan.variant} and ${count(observed[1] ?? 0)} on ${plan.control} where ${at.percent} % / ${100 - at.percent} % were configured (p = ${srm.pValue.toExponential(2)}) → paused`,
        { cause: 'srm', units: observed, pValue: srm.pValue },
      );
    }
  }

  const heldMs = now - stageStart;
  const units = nVariant + nControl;
  if (heldMs < stage.holdSeconds * 1000 || units < stage.minUnits) return undefined;
  const last = plan.stage + 1 >= plan.stages.length;
  const next = plan.stages[plan.stage + 1];
  const held = `${where}: held ${Math.floor(heldMs / 1000)} s, ${count(units)} units`;
  return steps.advance(
    plan,
    last || next === undefined ? `${held} → completed` : `${held} → stage ${at.number + 1} (${next.percent} %)`,
    { cause: 'held', heldSeconds: Math.floor(heldMs / 1000), units },
  );
}
