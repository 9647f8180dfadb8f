import type { Principal } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound, sqlState, UNIQUE_VIOLATION } from '../../errors.js';
import { type Actor, commitChange, type Writer } from '../changes/commit-change.js';
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
 * Every metric write goes through here, on the one write path: one transaction that changes
 * the metric and records its audit entry. A metric is in no ruleset, so no version moves.
 */
async function auditedWrite(
  w: Writer,
  actor: Actor,
  project: Project,
  action: string,
  targetKey: string,
  change: (tx: Tx) => Promise<{ before: store.Metric | null; after: store.Metric }>,
): Promise<store.Metric> {
  return commitChange(w, actor, async (tx) => {
    const { before, after } = await change(tx);
    return {
      entries: [],
      apply: async () => ({
        result: after,
        audit: [
          {
            projectId: project.id,
            action,
            targetKind: 'metric',
            targetKey,
            before: before === null ? null : metricView(before),
            after: metricView(after),
          },
        ],
      }),
    };
  });
}

export async function requireMetric(db: Db, project: Project, key: string): Promise<store.Metric> {
  const metric = await store.findMetric(db, project.id, key);
  if (metric === undefined) throw notFound('metric', key);
  return metric;
}

export async function createMetric(w: Writer, actor: Actor, projectKey: string, body: CreateMetricBody) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  try {
    return await auditedWrite(w, actor, project, 'metric.create', body.key, async (tx) => ({
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
  w: Writer,
  actor: Actor,
  projectKey: string,
  key: string,
  action: string,
  patch: Parameters<typeof store.updateMetric>[2],
) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  return auditedWrite(w, actor, project, action, key, async (tx) => {
    const before = await store.lockMetric(tx, project.id, key);
    if (before === undefined) throw notFound('metric', key);
    return { before, after: await store.updateMetric(tx, before.id, patch) };
  });
}

export async function updateMetric(w: Writer, actor: Actor, projectKey: string, key: string, body: UpdateMetricBody) {
  const patch: Parameters<typeof store.updateMetric>[2] = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined) Object.assign(patch, { [k]: v });
  return changeMetric(w, actor, projectKey, key, 'metric.update', patch);
}

/** Archived metrics stay readable (and their results computable); they leave the default list. */
export async function setArchived(w: Writer, actor: Actor, projectKey: string, key: string, archived: boolean) {
  return changeMetric(w, actor, projectKey, key, archived ? 'metric.archive' : 'metric.unarchive', { archived });
}
