import { isDeepStrictEqual } from 'node:util';
import type { Serve } from '@switchyard/core';
import { type Principal, SYSTEM_PRINCIPAL as SYSTEM } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import type { PlanGuard, PlanStage } from '../../db/schema.js';
import { AppError, notFound } from '../../errors.js';
import {
  type Actor,
  type AuditRecord,
  commitChange,
  type EntryRef,
  noChange,
  type Writer,
} from '../changes/commit-change.js';
import { environmentById } from '../environments/service.js';
import {
  type ConfigFields,
  type ConfigWriteEvent,
  type FlagRow,
  flagById,
  lockFlagForWrite,
  prepareConfigChange,
  readConfig,
  type VariantUse,
} from '../flags/service.js';
import { requireMetric } from '../metrics/service.js';
import { type Project, projectById, requireProject } from '../projects/service.js';
import { DEFAULT_STAGES, type PlanAction, type PutPlanBody } from './schemas.js';
import * as store from './store.js';

export type { PlanRow, PlanState } from './store.js';

/** Who the controller's steps are recorded as in the audit log and the plan's history. */
export const SYSTEM_PRINCIPAL: Principal = SYSTEM;

const FULL = 100_000;

export interface PlanTarget {
  projectKey: string;
  flagKey: string;
  envKey: string;
}

/** The 1-based number of the stage the plan is at, and the percent of units it serves the variant. */
export function stageOf(plan: store.PlanRow): { number: number; percent: number } | null {
  const stage = plan.stages[plan.stage];
  return stage === undefined ? null : { number: plan.stage + 1, percent: stage.percent };
}

export function planView(plan: store.PlanRow, flagKey: string, envKey: string) {
  return {
    id: plan.id,
    flag: flagKey,
    environment: envKey,
    variant: plan.variant,
    control: plan.control,
    stages: plan.stages,
    guards: plan.guards,
    onBreach: plan.onBreach,
    state: plan.state,
    stage: stageOf(plan),
    startedAt: plan.startedAt?.toISOString() ?? null,
    stageStartedAt: plan.stageStartedAt?.toISOString() ?? null,
    revision: plan.revision,
    createdAt: plan.createdAt.toISOString(),
    updatedAt: plan.updatedAt.toISOString(),
  };
}

function historyView(h: store.HistoryRow) {
  return {
    at: h.createdAt.toISOString(),
    actor: h.actor,
    action: h.action,
    state: h.state,
    stage: h.stage >= 0 ? h.stage + 1 : null,
    reason: h.reason,
    details: h.details,
  };
}

/**
 * The flag's default rollout at `percent` for the plan's variant and the rest for its control.
 * Buckets are laid out in the flag's variant order and zero weights take no room (DESIGN §3), so
 * with only these two weighted the variant's range grows from its end of the bucket space as the
 * percent does: widening keeps everyone who already had it. An existing `bucketBy` is kept.
 */
export function stageServe(current: ConfigFields, plan: Pick<store.PlanRow, 'variant' | 'control'>, percent: number) {
  const weight = Math.round(percent * 1000);
  const bucketBy = 'rollout' in current.defaultServe ? current.defaultServe.rollout.bucketBy : undefined;
  const serve: Serve = {
    rollout: {
      ...(bucketBy === undefined ? {} : { bucketBy }),
      weights: [
        { variant: plan.variant, weight },
        { variant: plan.control, weight: FULL - weight },
      ],
    },
  };
  return serve;
}

/** One step of a plan: its new fields, the flag's configuration it writes (if any), and why. */
export interface Step {
  action: string;
  fields: Partial<store.PlanRow>;
  config?: (current: ConfigFields, flag: FlagRow) => ConfigFields | undefined;
  /**
   * The audit action of the configuration write (`flag.config.update` by default): a kill is
   * recorded as `flag.kill`, as a person's is, so audit filters and `flag.killed` webhooks see it.
   */
  configAction?: 'flag.kill';
  reason: string;
  details?: Record<string, unknown> | undefined;
}

/** The plan as locked for a step, with the flag's configuration it drives. */
export interface Locked {
  plan: store.PlanRow;
  config: ConfigFields;
  flag: FlagRow;
}

function planAudit(
  project: Project,
  action: string,
  flagKey: string,
  envKey: string,
  before: store.PlanRow | null,
  after: store.PlanRow,
): AuditRecord {
  return {
    projectId: project.id,
    environmentId: after.environmentId,
    action: `release-plan.${action}`,
    targetKind: 'release-plan',
    targetKey: flagKey,
    before: before === null ? null : planView(before, flagKey, envKey),
    after: planView(after, flagKey, envKey),
  };
}

/**
 * Commits one step of plan `planId` through the one write path: the flag's row is locked first
 * (as every configuration write does, so a person's edit and a step queue up rather than
 * deadlock), then the plan's; `decide` sees both as locked and says what the step is, or
 * `undefined` when there is none to take (the plan moved since its caller read it). The plan's
 * revision moves on, its history gets the step, and the audit log the plan's change and the
 * configuration's. Returns the plan after the step, or `undefined` when none was taken.
 */
export async function commitStep(
  w: Writer,
  actor: Actor,
  planId: string,
  decide: (locked: Locked) => Step | undefined,
): Promise<{ plan: store.PlanRow; flagKey: string; envKey: string } | undefined> {
  return commitChange(w, actor, async (tx) => {
    const seen = await store.findPlan(tx, planId);
    if (seen === undefined) return noChange(undefined);
    const { project, flag, envKey } = await planContext(tx, seen);
    // The flag before the plan: the order every configuration write locks them in.
    await lockFlagForWrite(tx, project, flag.key);
    const plan = await store.lockPlan(tx, planId);
    if (plan === undefined) return noChange(undefined);
    const { config } = await readConfig(tx, project, flag.key, envKey);
    const step = decide({ plan, config, flag });
    if (step === undefined) return noChange(undefined);
    const wanted = step.config?.(config, flag);
    // A step that leaves the configuration as it is (a resume whose rollout nobody changed, an
    // end of a plan whose flag was measured before) writes no version, audit entry, SDK update
    // or webhook for it.
    const changing = wanted !== undefined && !sameFields(wanted, config);
    const prepared = !changing
      ? undefined
      : await prepareConfigChange(
          tx,
          project,
          flag.key,
          envKey,
          step.configAction ?? 'flag.config.update',
          () => wanted,
        );
    const changesConfig = prepared?.next !== undefined;
    const entries: EntryRef[] = changesConfig && prepared !== undefined ? [prepared.entry] : [];
    return {
      entries,
      apply: async (versions) => {
        const audit: [AuditRecord, ...AuditRecord[]] = [planAudit(project, step.action, flag.key, envKey, plan, plan)];
        if (changesConfig && prepared !== undefined) {
          audit.push((await prepared.write(versions.get(plan.environmentId) as number)).audit);
        }
        const after = await store.updatePlan(tx, plan.id, step.fields);
        audit[0] = planAudit(project, step.action, flag.key, envKey, plan, after);
        await store.insertHistory(tx, {
          planId: plan.id,
          revision: after.revision,
          action: step.action,
          state: after.state,
          stage: after.stage,
          actor: actor.principal.name,
          reason: step.reason,
          details: step.details ?? null,
        });
        return { result: { plan: after, flagKey: flag.key, envKey }, audit };
      },
    };
  });
}

async function planContext(db: Db | Tx, plan: store.PlanRow) {
  const project = await projectById(db, plan.projectId);
  const flag = await flagById(db, plan.flagId);
  const env = await environmentById(db, plan.environmentId);
  if (project === undefined || flag === undefined || env === undefined) throw notFound('release plan', plan.id);
  return { project, flag, envKey: env.key };
}

/** The project, flag and environment keys of a plan, for the controller's reasons and views, and whether the flag is archived. */
export async function planKeys(db: Db, plan: store.PlanRow) {
  const { project, flag, envKey } = await planContext(db, plan);
  return { project, flagKey: flag.key, envKey, archived: flag.archived };
}

const measuredBack = (plan: store.PlanRow) => (current: ConfigFields) => ({
  ...current,
  measured: plan.measuredBefore ?? current.measured,
});

/** The steps the controller takes, each a {@link Step} on the plan as it is. */
export const steps = {
  advance(plan: store.PlanRow, reason: string, details?: Record<string, unknown>): Step {
    const next = plan.stages[plan.stage + 1];
    if (next === undefined) {
      return { action: 'complete', fields: { state: 'completed' }, config: measuredBack(plan), reason, details };
    }
    return {
      action: 'advance',
      fields: { stage: plan.stage + 1, stageStartedAt: new Date() },
      config: (current) => ({ ...current, defaultServe: stageServe(current, plan, next.percent), measured: true }),
      reason,
      details,
    };
  },
  pause(reason: string, details?: Record<string, unknown>): Step {
    return { action: 'pause', fields: { state: 'paused' }, reason, details };
  },
  rollback(plan: store.PlanRow, reason: string, details?: Record<string, unknown>): Step {
    return {
      action: 'rollback',
      fields: { state: 'rolled_back' },
      config: (current) => ({
        ...measuredBack(plan)(current),
        defaultServe: stageServe(current, plan, 0),
      }),
      reason,
      details,
    };
  },
  kill(plan: store.PlanRow, reason: string, details?: Record<string, unknown>): Step {
    return {
      action: 'kill',
      fields: { state: 'rolled_back' },
      config: (current) => ({ ...measuredBack(plan)(current), enabled: false }),
      configAction: 'flag.kill',
      reason,
      details,
    };
  },
};

async function locate(db: Db, principal: Principal, t: PlanTarget) {
  const project = await requireProject(db, principal, t.projectKey);
  const { flag, env, config } = await readConfig(db, project, t.flagKey, t.envKey);
  return { project, flag, env, config };
}

/** The newest plan of the flag in the environment, with its history. */
export async function getPlan(db: Db, principal: Principal, t: PlanTarget) {
  const { flag, env } = await locate(db, principal, t);
  const plan = await store.latestPlan(db, flag.id, env.id);
  if (plan === undefined) throw notFound('release plan of flag', t.flagKey);
  return { ...planView(plan, flag.key, env.key), history: (await store.historyOf(db, plan.id)).map(historyView) };
}

/**
 * Creates the flag's plan in the environment, or replaces it while it is a draft. A running or
 * paused plan must be ended (aborted) before another replaces it.
 */
export async function putPlan(w: Writer, actor: Actor, t: PlanTarget, body: PutPlanBody) {
  const { project, flag, config } = await locate(w.db, actor.principal, t);
  const variantKeys = flag.variants.map((v) => v.key);
  if (!variantKeys.includes(body.variant)) {
    throw new AppError('INVALID_CONFIG', `variant ${JSON.stringify(body.variant)} is not a variant of the flag`, {
      field: 'variant',
    });
  }
  const control =
    body.control ??
    (config.offVariant !== null && config.offVariant !== body.variant
      ? config.offVariant
      : variantKeys.find((v) => v !== body.variant));
  if (control === undefined || !variantKeys.includes(control) || control === body.variant) {
    throw new AppError('INVALID_CONFIG', 'the control must be another variant of the flag', { field: 'control' });
  }
  const guards = body.guards as PlanGuard[];
  for (const [i, g] of guards.entries()) {
    try {
      await requireMetric(w.db, project, g.metric);
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') {
        throw new AppError('INVALID_CONFIG', err.message, { field: `guards[${i}].metric` });
      }
      throw err;
    }
  }
  const stages: PlanStage[] = (body.stages ?? DEFAULT_STAGES).map((s) => ({
    percent: s.percent,
    holdSeconds: s.holdSeconds,
    minUnits: s.minUnits,
  }));
  const fields = { variant: body.variant, control, stages, guards, onBreach: body.onBreach };
  return commitChange(w, actor, async (tx) => {
    const locked = await lockFlagForWrite(tx, project, flag.key);
    const { env } = await readConfig(tx, project, locked.key, t.envKey);
    const open = await store.lockOpenPlan(tx, locked.id, env.id);
    if (open !== undefined && open.state !== 'draft') {
      throw new AppError('CONFLICT', `the flag's release plan is ${open.state}; abort it before replacing it`, {
        state: open.state,
      });
    }
    return {
      entries: [],
      apply: async () => {
        const after =
          open === undefined
            ? await store.insertPlan(tx, {
                projectId: project.id,
                flagId: locked.id,
                environmentId: env.id,
                state: 'draft',
                ...fields,
              })
            : await store.updatePlan(tx, open.id, fields);
        const action = open === undefined ? 'create' : 'update';
        await store.insertHistory(tx, {
          planId: after.id,
          revision: after.revision,
          action,
          state: after.state,
          stage: after.stage,
          actor: actor.principal.name,
          reason: actor.reason ?? `${action}d by ${actor.principal.name}`,
          details: null,
        });
        return {
          result: { created: open === undefined, view: planView(after, locked.key, env.key) },
          audit: [planAudit(project, action, locked.key, env.key, open ?? null, after)],
        };
      },
    };
  });
}

const ALLOWED: Record<PlanAction, store.PlanState[]> = {
  start: ['draft'],
  pause: ['running'],
  resume: ['paused'],
  advance: ['running', 'paused'],
  abort: ['draft', 'running', 'paused'],
};

/** A person's step: start, pause, resume, advance or abort the flag's open plan. */
export async function personStep(w: Writer, actor: Actor, t: PlanTarget, action: PlanAction) {
  const { flag, env } = await locate(w.db, actor.principal, t);
  const plan = await store.latestPlan(w.db, flag.id, env.id);
  if (plan === undefined) throw notFound('release plan of flag', t.flagKey);
  const why = actor.reason ?? `${action} by ${actor.principal.name}`;
  const done = await commitStep(w, actor, plan.id, ({ plan: p, config, flag: f }) => {
    if (!ALLOWED[action].includes(p.state)) {
      throw new AppError('CONFLICT', `a ${p.state} release plan cannot ${action}`, { state: p.state });
    }
    // No SDK is served an archived flag: a plan on one can wait or end, not move.
    if (f.archived && action !== 'pause' && action !== 'abort') {
      throw new AppError('CONFLICT', `flag ${JSON.stringify(f.key)} is archived; unarchive it first`);
    }
    return personStepOf(action, p, config, why, f.archived);
  });
  if (done === undefined) throw notFound('release plan of flag', t.flagKey);
  return planView(done.plan, done.flagKey, done.envKey);
}

function personStepOf(
  action: PlanAction,
  plan: store.PlanRow,
  config: ConfigFields,
  reason: string,
  archived: boolean,
): Step {
  const first = plan.stages[0] as PlanStage;
  const current = plan.stages[plan.stage];
  switch (action) {
    case 'start': {
      const now = new Date();
      return {
        action,
        fields: { state: 'running', stage: 0, startedAt: now, stageStartedAt: now, measuredBefore: config.measured },
        config: (c) => ({ ...c, defaultServe: stageServe(c, plan, first.percent), measured: true }),
        reason,
      };
    }
    case 'pause':
      return steps.pause(reason);
    case 'resume':
      // The stage's rollout again (a person may have changed it while paused), held anew.
      return {
        action,
        fields: { state: 'running', stageStartedAt: new Date() },
        config: (c) => ({ ...c, defaultServe: stageServe(c, plan, current?.percent ?? 0), measured: true }),
        reason,
      };
    case 'advance':
      return steps.advance(plan, reason);
    case 'abort':
      // The rollout stays where it is: what to do with it is the person's next change. An
      // archived flag's configuration cannot be written, and no SDK is served it: its plan
      // ends all the same, `measured` left as the plan set it.
      return {
        action,
        fields: { state: 'aborted' },
        ...(plan.state === 'draft' || archived ? {} : { config: measuredBack(plan) }),
        reason,
      };
  }
}

/**
 * The flags write path's hook: an open plan (draft, running or paused) names its variant and
 * control, so neither may be removed from the flag, nor the two swapped in its variant order
 * (which lays out the rollout's buckets), until the plan ends.
 */
export async function variantsOfOpenPlans(tx: Tx, flagId: string): Promise<VariantUse[]> {
  const uses: VariantUse[] = [];
  for (const plan of await store.openPlansOfFlag(tx, flagId)) {
    const environment = (await environmentById(tx, plan.environmentId))?.key ?? plan.environmentId;
    uses.push({
      variant: plan.variant,
      environment,
      path: `release plan (${plan.state}) variant`,
      orderedWith: plan.control,
    });
    uses.push({ variant: plan.control, environment, path: `release plan (${plan.state}) control` });
  }
  return uses;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Whether every field of `next` is as it is in `current`, whatever the order of their keys: what
 * Postgres stores as jsonb comes back with its keys in an order of its own.
 */
function sameFields(next: ConfigFields, current: ConfigFields): boolean {
  return (Object.keys(next) as (keyof ConfigFields)[]).every((k) => isDeepStrictEqual(next[k], current[k]));
}

/**
 * The flags write path's hook: a person's change to the rollout a running plan drives (its
 * default serve or salt), turning the flag off, or turning its measurement off pauses the plan
 * rather than fighting it. Without measurement SDKs send no exposures, so no guard could judge
 * again, and the stages would widen on their holds alone.
 */
export async function pauseOnManualEdit(tx: Tx, e: ConfigWriteEvent): Promise<AuditRecord[]> {
  const killed = e.before.enabled && !e.after.enabled;
  const unmeasured = e.before.measured && !e.after.measured;
  const touched =
    !sameJson(e.before.defaultServe, e.after.defaultServe) || e.before.salt !== e.after.salt || killed || unmeasured;
  if (!touched) return [];
  const plan = await store.lockOpenPlan(tx, e.flagId, e.environmentId);
  if (plan === undefined || plan.state !== 'running') return [];
  const after = await store.updatePlan(tx, plan.id, { state: 'paused' });
  const what = killed ? 'kill switch' : unmeasured ? 'measurement' : 'rollout';
  const reason = `stage ${plan.stage + 1}: the flag's ${what} was changed by hand (${e.action}) → paused`;
  await store.insertHistory(tx, {
    planId: plan.id,
    revision: after.revision,
    action: 'pause',
    state: after.state,
    stage: after.stage,
    actor: 'system',
    reason,
    details: { cause: 'manual-edit', write: e.action },
  });
  return [
    {
      projectId: e.projectId,
      environmentId: e.environmentId,
      action: 'release-plan.pause',
      targetKind: 'release-plan',
      targetKey: e.flagKey,
      before: planView(plan, e.flagKey, e.environmentKey),
      after: { ...planView(after, e.flagKey, e.environmentKey), reason },
    },
  ];
}
