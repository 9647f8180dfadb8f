import type { Principal } from '../../auth/principal.js';
import type { Db } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { exposedUnitsSince } from '../events/service.js';
import { compare } from '../experiments/stats/index.js';
import { readConfig } from '../flags/service.js';
import { requireProject } from '../projects/service.js';
import { guardData, judgeGuard } from './controller.js';
import type { PlanTarget } from './service.js';
import * as store from './store.js';

/**
 * The figures of the flag's newest plan in the environment, read as the controller reads them
 * on its tick: the console shows them live beside the plan.
 */
export async function planFigures(db: Db, principal: Principal, t: PlanTarget, now = Date.now()) {
  const project = await requireProject(db, principal, t.projectKey);
  const { flag, env } = await readConfig(db, project, t.flagKey, t.envKey);
  const plan = await store.latestPlan(db, flag.id, env.id);
  if (plan === undefined) throw notFound('release plan of flag', t.flagKey);
  const current = plan.stages[plan.stage];
  let stage = null;
  if (current !== undefined && plan.stageStartedAt !== null) {
    const since = plan.stageStartedAt;
    const inStage = await exposedUnitsSince(db, { environmentId: env.id, flag: flag.key, since });
    stage = {
      number: plan.stage + 1,
      percent: current.percent,
      heldSeconds: Math.max(0, Math.floor((now - since.getTime()) / 1000)),
      holdSeconds: current.holdSeconds,
      units: { variant: inStage.units.get(plan.variant) ?? 0, control: inStage.units.get(plan.control) ?? 0 },
      minUnits: current.minUnits,
    };
  }
  const guards = [];
  for (const guard of plan.guards) {
    let data: Awaited<ReturnType<typeof guardData>>;
    try {
      data = await guardData(db, project, flag.key, plan, guard);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'NOT_FOUND')) throw err;
      const none = { variant: 0, control: 0 };
      guards.push({
        guard,
        units: none,
        value: none,
        relative: null,
        interval: null,
        difference: null,
        standing: 'metric-missing' as const,
      });
      continue;
    }
    const { variant, control } = data;
    const c = compare(control, variant);
    const reading = judgeGuard(plan, guard, data);
    // Over a control whose mean is 0 no relative change exists: such a guard is judged on the
    // difference of the means, which is then what the figures show.
    const regression = reading?.regression;
    guards.push({
      guard,
      units: { variant: variant.units, control: control.units },
      value: { variant: variant.mean, control: control.mean },
      // A maxRegression guard's own reading: compared stage by stage, with the pooled variance
      // (regression.ts); `null` until both sides have 20 units.
      relative: !('maxRegression' in guard)
        ? c.relative.estimate
        : regression?.basis === 'relative'
          ? regression.estimate
          : null,
      interval: !('maxRegression' in guard)
        ? c.sequential.ci95
        : regression?.basis === 'relative'
          ? regression.interval
          : null,
      difference:
        regression?.basis === 'absolute' ? { estimate: regression.estimate, interval: regression.interval } : null,
      standing:
        reading === undefined ? ('waiting' as const) : reading.breached ? ('breached' as const) : ('within' as const),
    });
  }
  return { state: plan.state, stage, guards, at: new Date(now).toISOString() };
}
