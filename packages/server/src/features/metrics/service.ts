import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound, sqlState, UNIQUE_VIOLATION } from '../../errors.js';
import { recordAudit } from '../audit/store.js';
import { type Actor, write } from '../changes/write.js';
import type { Principal } from '../keys/principal.js';
import { type Project, requireProject } from '../projects/service.js';
import type { CreateMetricBody, UpdateMetricBody } from './schemas.js';
import * as store from './store.js';

export type { Metric } from './store.js';

export function metricView(m: store.Metric) {
  return {
    key: m.key,
    name: m.name,
    description: m.description,
    event: m.event,
    kind: m.kind,
    direction: m.direction,
    archived: m.archived,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

/**
 * Every metric write goes through here: one transaction that changes the metric and records
 * its audit entry. A metric changes nothing SDKs see, so no environment version is bumped.
 */
async function auditedWrite(
  db: Db,
  actor: Actor,
  project: Project,
  action: string,
  targetKey: string,
  change: (tx: Tx) => Promise<{ before: store.Metric | null; after: store.Metric }>,
): Promise<store.Metric> {
  return write(db, async (tx) => {
    const { before, after } = await change(tx);
    await recordAudit(tx, actor, [
      {
        projectId: project.id,
        action,
        targetKind: 'metric',
        targetKey,
        before: before === null ? null : metricView(before),
        after: metricView(after),
      },
    ]);
    return after;
  });
}

export async function requireMetric(db: Db, project: Project, key: string): Promise<store.Metric> {
  const metric = await store.findMetric(db, project.id, key);
  if (metric === undefined) throw notFound('metric', key);
  return metric;
}

export async function createMetric(db: Db, actor: Actor, projectKey: string, body: CreateMetricBody) {
  const project = await requireProject(db, actor.principal, projectKey);
  try {
    return await auditedWrite(db, actor, project, 'metric.create', body.key, async (tx) => ({
      before: null,
      after: await store.insertMetric(tx, {
        projectId: project.id,
        key: body.key,
        name: body.name ?? body.key,
        description: body.description,
        event: body.event,
        kind: body.kind,
        direction: body.direction,
      }),
    }));
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `metric ${JSON.stringify(body.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function listMetrics(
  db: Db,
  principal: Principal,
  projectKey: string,
  archived: 'true' | 'false' | 'all',
) {
  const project = await requireProject(db, principal, projectKey);
  return store.listMetrics(db, project.id, archived === 'all' ? undefined : archived === 'true');
}

export async function getMetric(db: Db, principal: Principal, projectKey: string, key: string) {
  return requireMetric(db, await requireProject(db, principal, projectKey), key);
}

async function changeMetric(
  db: Db,
  actor: Actor,
  projectKey: string,
  key: string,
  action: string,
  patch: Parameters<typeof store.updateMetric>[2],
) {
  const project = await requireProject(db, actor.principal, projectKey);
  return auditedWrite(db, actor, project, action, key, async (tx) => {
    const before = await store.lockMetric(tx, project.id, key);
    if (before === undefined) throw notFound('metric', key);
    return { before, after: await store.updateMetric(tx, before.id, patch) };
  });
}

export async function updateMetric(db: Db, actor: Actor, projectKey: string, key: string, body: UpdateMetricBody) {
  const patch: Parameters<typeof store.updateMetric>[2] = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined) Object.assign(patch, { [k]: v });
  return changeMetric(db, actor, projectKey, key, 'metric.update', patch);
}

/** Archived metrics stay readable (and their results computable); they leave the default list. */
export async function setArchived(db: Db, actor: Actor, projectKey: string, key: string, archived: boolean) {
  return changeMetric(db, actor, projectKey, key, archived ? 'metric.archive' : 'metric.unarchive', { archived });
}
