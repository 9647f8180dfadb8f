import type { Principal } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, type AuditRecord, commitChange, type Writer } from '../changes/commit-change.js';
import type { Environment } from '../environments/service.js';
import {
  type ConfigPatch,
  patchedConfig,
  prepareConfigChange,
  readConfig,
  refusePatchPatterns,
} from '../flags/service.js';
import { requireProject } from '../projects/service.js';
import { type ListSchedulesQuery, MAX_AHEAD_DAYS, type ScheduleBody } from './schemas.js';
import * as store from './store.js';

export type { ScheduledChange } from './store.js';

export interface ScheduleTarget {
  projectKey: string;
  flagKey: string;
  envKey: string;
}

export function scheduledView(row: store.ScheduledChange, flagKey: string, envKey: string) {
  return {
    id: row.id,
    flag: flagKey,
    environment: envKey,
    at: row.at.toISOString(),
    change: row.change,
    ifVersionMoved: row.ifVersionMoved,
    baseVersion: row.baseVersion,
    reason: row.reason,
    state: row.state,
    scheduledBy: row.scheduledBy,
    scheduledById: row.scheduledById,
    appliedVersion: row.appliedVersion,
    outcome: row.outcome,
    settledBy: row.settledBy,
    settledAt: row.settledAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The audit entry of a scheduled change's own step: `schedule.create`, `.cancel`, `.apply`, `.refuse`, `.fail`. */
export function scheduleAudit(
  projectId: string,
  action: string,
  before: store.ScheduledChange | null,
  after: store.ScheduledChange,
  flagKey: string,
  envKey: string,
): AuditRecord {
  return {
    projectId,
    environmentId: after.environmentId,
    action: `schedule.${action}`,
    targetKind: 'scheduled-change',
    targetKey: String(after.id),
    before: before === null ? null : scheduledView(before, flagKey, envKey),
    after: scheduledView(after, flagKey, envKey),
  };
}

/**
 * The configuration write a change is audited as: turning the flag off alone is a kill and on
 * alone an unkill (so webhooks subscribed to kills hear of a scheduled one, and a kill of an
 * archived flag goes through as a person's does); anything else is an update.
 */
export function writeActionOf(change: ConfigPatch): 'flag.kill' | 'flag.unkill' | 'flag.config.update' {
  const fields = Object.entries(change).filter(([, v]) => v !== undefined);
  const [only] = fields;
  if (fields.length === 1 && only?.[0] === 'enabled') return only[1] === false ? 'flag.kill' : 'flag.unkill';
  return 'flag.config.update';
}

const CONFIG_FIELDS = [
  'enabled',
  'offVariant',
  'prerequisites',
  'targets',
  'rules',
  'defaultServe',
  'salt',
  'measured',
] as const satisfies readonly (keyof ConfigPatch)[];

/** A few words for the audit reason: "kill", "enable", "change of rules and defaultServe". */
export function describeChange(change: ConfigPatch): string {
  const action = writeActionOf(change);
  if (action === 'flag.kill') return 'kill';
  if (action === 'flag.unkill') return 'enable';
  // In the order a configuration lists its fields, whatever order the stored JSON keeps them in.
  const fields = CONFIG_FIELDS.filter((k) => change[k] !== undefined);
  return `change of ${fields.length > 1 ? `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}` : fields[0]}`;
}

/** `2026-12-06 18:00:00 UTC`: how a time reads in a reason. */
export const readableTime = (at: Date) => `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/** An error of the change's validation, its field named as the request names it (`change.rules[0]…`). */
function underChange(err: unknown): unknown {
  if (!(err instanceof AppError) || typeof err.details?.field !== 'string') return err;
  const field = err.details.field;
  if (field.startsWith('change.')) return err;
  return new AppError(err.code, err.message, { ...err.details, field: field === '' ? 'change' : `change.${field}` });
}

/**
 * Schedules a change of the flag's configuration in the environment. The change is checked now
 * as a PATCH would be (its patterns proven safe, the configuration it makes valid), so a change
 * that could never apply is refused here rather than at its time; it is checked again then.
 * `ifMatch` (`If-Match`), when given, must be the configuration's current version.
 */
export async function scheduleChange(
  w: Writer,
  actor: Actor,
  t: ScheduleTarget,
  body: ScheduleBody,
  ifMatch: number | undefined,
  now: number,
) {
  const at = new Date(body.at);
  if (at.getTime() <= now) {
    throw new AppError('VALIDATION_FAILED', `at must be in the future; it is ${new Date(now).toISOString()} now`, {
      field: 'at',
    });
  }
  if (at.getTime() > now + MAX_AHEAD_DAYS * 86_400_000) {
    throw new AppError('VALIDATION_FAILED', `at may be at most ${MAX_AHEAD_DAYS} days ahead`, { field: 'at' });
  }
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  const change: ConfigPatch = body.change;
  try {
    await refusePatchPatterns(change);
  } catch (err) {
    throw underChange(err);
  }
  return commitChange(w, actor, async (tx) => {
    let prepared: Awaited<ReturnType<typeof prepareConfigChange>>;
    try {
      prepared = await prepareConfigChange(
        tx,
        project,
        t.flagKey,
        t.envKey,
        writeActionOf(change),
        (current) => patchedConfig(current, change),
        ifMatch,
      );
    } catch (err) {
      throw underChange(err);
    }
    const { flag, env, current } = prepared;
    return {
      entries: [],
      apply: async () => {
        const row = await store.insertScheduled(tx, {
          projectId: project.id,
          flagId: flag.id,
          environmentId: env.id,
          at,
          change: JSON.parse(JSON.stringify(change)) as Record<string, unknown>,
          ifVersionMoved: body.ifVersionMoved,
          baseVersion: current.version,
          reason: body.reason ?? null,
          scheduledBy: actor.principal.name,
          scheduledById: actor.principal.id,
        });
        return {
          result: scheduledView(row, flag.key, env.key),
          audit: [scheduleAudit(project.id, 'create', null, row, flag.key, env.key)],
        };
      },
    };
  });
}

async function locate(db: Db, principal: Principal, t: ScheduleTarget) {
  const project = await requireProject(db, principal, t.projectKey);
  const { flag, env } = await readConfig(db, project, t.flagKey, t.envKey);
  return { project, flag, env };
}

export async function listScheduled(db: Db, principal: Principal, t: ScheduleTarget, q: ListSchedulesQuery) {
  const { flag, env } = await locate(db, principal, t);
  const rows = await store.listScheduled(db, flag.id, env.id, { state: q.state, limit: q.limit });
  return rows.map((r) => scheduledView(r, flag.key, env.key));
}

/** The change `id` when it belongs to the flag in the environment the path names. */
function belongs(
  row: store.ScheduledChange | undefined,
  flagId: string,
  env: Environment,
  id: number,
): store.ScheduledChange {
  if (row === undefined || row.flagId !== flagId || row.environmentId !== env.id) {
    throw notFound('scheduled change', String(id));
  }
  return row;
}

export async function getScheduled(db: Db, principal: Principal, t: ScheduleTarget, id: number) {
  const { flag, env } = await locate(db, principal, t);
  const row = belongs(await store.findScheduled(db, id), flag.id, env, id);
  return scheduledView(row, flag.key, env.key);
}

/** Cancels a pending change. One being applied at this moment is waited for, and then cannot be cancelled. */
export async function cancelScheduled(w: Writer, actor: Actor, t: ScheduleTarget, id: number) {
  const { project, flag, env } = await locate(w.db, actor.principal, t);
  return commitChange(w, actor, async (tx: Tx) => {
    const row = belongs(await store.lockScheduled(tx, id), flag.id, env, id);
    if (row.state !== 'pending') {
      throw new AppError('CONFLICT', `the scheduled change is ${row.state}; only a pending one can be cancelled`, {
        state: row.state,
      });
    }
    return {
      entries: [],
      apply: async () => {
        const who = actor.principal.name;
        const after = await store.settle(tx, id, {
          state: 'cancelled',
          outcome: `cancelled by ${who}${actor.reason === undefined ? '' : `: ${actor.reason}`}`,
          settledBy: who,
        });
        return {
          result: scheduledView(after, flag.key, env.key),
          audit: [scheduleAudit(project.id, 'cancel', row, after, flag.key, env.key)],
        };
      },
    };
  });
}
