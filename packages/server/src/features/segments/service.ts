import { randomBytes } from 'node:crypto';
import { checkSegment, type SegmentRule } from '@switchyard/core';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound, sqlState, UNIQUE_VIOLATION } from '../../errors.js';
import { recordAudit } from '../audit/store.js';
import { type Actor, bumpVersions, recordChanges, write } from '../changes/write.js';
import { type Environment, requireEnvironment } from '../environments/service.js';
import { toClause } from '../flags/schemas.js';
import { configsOfEnvironment, listFlags } from '../flags/store.js';
import type { Principal } from '../keys/principal.js';
import { requireProject } from '../projects/service.js';
import { toRulesetSegment } from './ruleset-entry.js';
import type { CreateSegmentBody, ReplaceSegmentBody } from './schemas.js';
import * as store from './store.js';

const invalid = (message: string, field: string) => new AppError('INVALID_CONFIG', message, { field });

export function segmentView(env: Environment, s: store.SegmentRow) {
  return {
    key: s.key,
    environment: env.key,
    name: s.name,
    description: s.description,
    included: s.included,
    excluded: s.excluded,
    rules: s.rules,
    version: s.version,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export async function existingSegmentKeys(tx: Db | Tx, environmentId: string, keys: string[]): Promise<Set<string>> {
  return new Set(await store.segmentKeysIn(tx, environmentId, keys));
}

async function scope(db: Db | Tx, principal: Principal, projectKey: string, envKey: string) {
  const project = await requireProject(db as Db, principal, projectKey);
  return { project, env: await requireEnvironment(db, project, envKey) };
}

export async function listSegments(db: Db, principal: Principal, projectKey: string, envKey: string) {
  const { env } = await scope(db, principal, projectKey, envKey);
  return (await store.listSegments(db, env.id)).map((s) => segmentView(env, s));
}

export async function getSegment(db: Db, principal: Principal, projectKey: string, envKey: string, key: string) {
  const { env } = await scope(db, principal, projectKey, envKey);
  const segment = await store.findSegment(db, env.id, key);
  if (segment === undefined) throw notFound('segment', key);
  return segmentView(env, segment);
}

export async function createSegment(db: Db, actor: Actor, projectKey: string, envKey: string, body: CreateSegmentBody) {
  const { project, env } = await scope(db, actor.principal, projectKey, envKey);
  const fields = toFields(body);
  try {
    return await write(db, async (tx) => {
      await validateSegment(tx, env.id, body.key, fields);
      const versions = await bumpVersions(tx, [env.id]);
      const created = await store.insertSegment(tx, {
        ...fields,
        environmentId: env.id,
        key: body.key,
        version: versions.get(env.id) as number,
      });
      await recordChanges(tx, [{ environmentId: env.id, kind: 'segment', key: created.key }], versions);
      const view = segmentView(env, created);
      await recordAudit(tx, actor, [
        {
          projectId: project.id,
          environmentId: env.id,
          action: 'segment.create',
          targetKind: 'segment',
          targetKey: created.key,
          before: null,
          after: view,
        },
      ]);
      return view;
    });
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `segment ${JSON.stringify(body.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function replaceSegment(
  db: Db,
  actor: Actor,
  t: { projectKey: string; envKey: string; key: string; ifMatch: number | undefined },
  body: ReplaceSegmentBody,
) {
  const { project, env } = await scope(db, actor.principal, t.projectKey, t.envKey);
  const fields = toFields(body);
  return write(db, async (tx) => {
    const current = await store.lockSegment(tx, env.id, t.key);
    if (current === undefined) throw notFound('segment', t.key);
    if (t.ifMatch !== undefined && t.ifMatch !== current.version) {
      throw new AppError('PRECONDITION_FAILED', `the segment is at version ${current.version}, not ${t.ifMatch}`, {
        currentVersion: current.version,
      });
    }
    await validateSegment(tx, env.id, t.key, fields);
    const versions = await bumpVersions(tx, [env.id]);
    const stored = await store.writeSegment(tx, current.id, fields, versions.get(env.id) as number);
    await recordChanges(tx, [{ environmentId: env.id, kind: 'segment', key: t.key }], versions);
    const view = segmentView(env, stored);
    await recordAudit(tx, actor, [
      {
        projectId: project.id,
        environmentId: env.id,
        action: 'segment.replace',
        targetKind: 'segment',
        targetKey: t.key,
        before: segmentView(env, current),
        after: view,
      },
    ]);
    return view;
  });
}

/** Deletes a segment that no flag rule and no other segment refers to. */
export async function deleteSegment(
  db: Db,
  actor: Actor,
  projectKey: string,
  envKey: string,
  key: string,
): Promise<void> {
  const { project, env } = await scope(db, actor.principal, projectKey, envKey);
  await write(db, async (tx) => {
    const current = await store.lockSegment(tx, env.id, key);
    if (current === undefined) throw notFound('segment', key);
    const users = await segmentUsers(tx, project.id, env.id, key);
    if (users.length > 0)
      throw new AppError('CONFLICT', `segment ${JSON.stringify(key)} is used by ${users.join(', ')}`, {
        usedBy: users,
      });
    const versions = await bumpVersions(tx, [env.id]);
    await store.deleteSegment(tx, current.id);
    await recordChanges(tx, [{ environmentId: env.id, kind: 'segment', key }], versions);
    await recordAudit(tx, actor, [
      {
        projectId: project.id,
        environmentId: env.id,
        action: 'segment.delete',
        targetKind: 'segment',
        targetKey: key,
        before: segmentView(env, current),
        after: null,
      },
    ]);
  });
}

function toFields(body: ReplaceSegmentBody): store.SegmentFields {
  const seen = new Set<string>();
  const rules: SegmentRule[] = body.rules.map((rule, i) => {
    const id = rule.id ?? `s_${randomBytes(5).toString('hex')}`;
    if (seen.has(id)) throw invalid(`rule id ${JSON.stringify(id)} is used twice`, `rules[${i}].id`);
    seen.add(id);
    return { id, clauses: rule.clauses.map(toClause) };
  });
  return { name: body.name, description: body.description, included: body.included, excluded: body.excluded, rules };
}

function referencedSegments(rules: { clauses: { op: string; values: unknown[] }[] }[]): string[] {
  return rules.flatMap((r) => r.clauses.filter((c) => c.op === 'inSegment').flatMap((c) => c.values.map(String)));
}

/** The engine's checks, then: referenced segments exist, and no segment reaches back to this one. */
async function validateSegment(tx: Tx, environmentId: string, key: string, fields: store.SegmentFields): Promise<void> {
  const problem = checkSegment(toRulesetSegment({ ...fields, key, version: 0 }));
  if (problem !== undefined) throw invalid(problem.message, problem.path);
  const all = new Map((await store.listSegments(tx, environmentId)).map((s) => [s.key, referencedSegments(s.rules)]));
  all.set(key, referencedSegments(fields.rules));
  for (const [i, rule] of fields.rules.entries()) {
    for (const [j, clause] of rule.clauses.entries()) {
      if (clause.op !== 'inSegment') continue;
      for (const [k, v] of clause.values.entries()) {
        if (!all.has(String(v)))
          throw invalid(`segment ${JSON.stringify(v)} does not exist`, `rules[${i}].clauses[${j}].values[${k}]`);
      }
    }
  }
  const stack = [key];
  const seen = new Set<string>();
  const reaches = (from: string): boolean =>
    (all.get(from) ?? []).some((next) => {
      if (next === key) return true;
      if (seen.has(next)) return false;
      seen.add(next);
      stack.push(next);
      const found = reaches(next);
      if (!found) stack.pop();
      return found;
    });
  if (reaches(key)) throw invalid(`segments would form a cycle: ${[...stack, key].join(' -> ')}`, 'rules');
}

async function segmentUsers(tx: Tx, projectId: string, environmentId: string, key: string): Promise<string[]> {
  const users: string[] = [];
  const flags = new Map((await listFlags(tx, projectId, { archived: undefined })).map((f) => [f.id, f.key]));
  for (const config of await configsOfEnvironment(tx, environmentId)) {
    if (referencedSegments(config.rules).includes(key)) users.push(`flag ${flags.get(config.flagId)}`);
  }
  for (const segment of await store.listSegments(tx, environmentId)) {
    if (segment.key !== key && referencedSegments(segment.rules).includes(key)) users.push(`segment ${segment.key}`);
  }
  return users;
}
