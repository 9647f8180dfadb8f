import { randomBytes } from 'node:crypto';
import { checkSegment, type SegmentRule } from '@switchyard/core';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, commitChange, lockEnvironments, type Writer } from '../changes/commit-change.js';
import { etagOf } from '../changes/precondition.js';
import { type Environment, requireEnvironment } from '../environments/service.js';
import { toClause } from '../flags/schemas.js';
import { flagRulesIn } from '../flags/service.js';
import type { Principal } from '../keys/principal.js';
import { type Project, requireProject } from '../projects/service.js';
import { toRulesetSegment } from '../rulesets/ruleset-entries.js';
import { refuseCatastrophicPatterns } from '../rulesets/safe-patterns.js';
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

export async function createSegment(
  w: Writer,
  actor: Actor,
  projectKey: string,
  envKey: string,
  body: CreateSegmentBody,
) {
  const { project, env } = await scope(w.db, actor.principal, projectKey, envKey);
  const fields = toFields(body);
  await refuseCatastrophicPatterns(fields.rules);
  return commitChange(w, actor, async (tx) => {
    await lockEnvironments(tx, [env.id]);
    await validateSegment(tx, env.id, body.key, fields);
    return {
      entries: [{ environmentId: env.id, kind: 'segment', key: body.key }],
      apply: async (versions) => {
        const created = await store.insertSegment(tx, {
          ...fields,
          environmentId: env.id,
          key: body.key,
          version: versions.get(env.id) as number,
        });
        const view = segmentView(env, created);
        return { result: view, audit: [audit(project, env, 'segment.create', body.key, null, view)] };
      },
    };
  });
}

export async function replaceSegment(
  w: Writer,
  actor: Actor,
  t: { projectKey: string; envKey: string; key: string; ifMatch: number | undefined },
  body: ReplaceSegmentBody,
) {
  const { project, env } = await scope(w.db, actor.principal, t.projectKey, t.envKey);
  const fields = toFields(body);
  await refuseCatastrophicPatterns(fields.rules);
  return commitChange(w, actor, async (tx) => {
    const current = await store.lockSegment(tx, env.id, t.key);
    if (current === undefined) throw notFound('segment', t.key);
    if (t.ifMatch !== undefined && t.ifMatch !== current.version) {
      throw new AppError('PRECONDITION_FAILED', `the segment is at version ${current.version}, not ${t.ifMatch}`, {
        currentVersion: current.version,
        etag: etagOf(current.version),
      });
    }
    await lockEnvironments(tx, [env.id]);
    await validateSegment(tx, env.id, t.key, fields);
    return {
      entries: [{ environmentId: env.id, kind: 'segment', key: t.key }],
      apply: async (versions) => {
        const stored = await store.writeSegment(tx, current.id, fields, versions.get(env.id) as number);
        const view = segmentView(env, stored);
        return {
          result: view,
          audit: [audit(project, env, 'segment.replace', t.key, segmentView(env, current), view)],
        };
      },
    };
  });
}

/** Deletes a segment that no flag rule and no other segment refers to. */
export async function deleteSegment(
  w: Writer,
  actor: Actor,
  projectKey: string,
  envKey: string,
  key: string,
): Promise<void> {
  const { project, env } = await scope(w.db, actor.principal, projectKey, envKey);
  await commitChange(w, actor, async (tx) => {
    const current = await store.lockSegment(tx, env.id, key);
    if (current === undefined) throw notFound('segment', key);
    await lockEnvironments(tx, [env.id]);
    const users = await segmentUsers(tx, project, env.id, key);
    if (users.length > 0)
      throw new AppError('CONFLICT', `segment ${JSON.stringify(key)} is used by ${users.join(', ')}`, {
        usedBy: users,
      });
    return {
      entries: [{ environmentId: env.id, kind: 'segment', key }],
      apply: async () => {
        await store.deleteSegment(tx, current.id);
        return {
          result: undefined,
          audit: [audit(project, env, 'segment.delete', key, segmentView(env, current), null)],
        };
      },
    };
  });
}

function audit(project: Project, env: Environment, action: string, key: string, before: unknown, after: unknown) {
  return {
    projectId: project.id,
    environmentId: env.id,
    action,
    targetKind: 'segment' as const,
    targetKey: key,
    before,
    after,
  };
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

async function segmentUsers(tx: Tx, project: Project, environmentId: string, key: string): Promise<string[]> {
  const users: string[] = [];
  for (const { flag, rules } of await flagRulesIn(tx, project, environmentId)) {
    if (referencedSegments(rules).includes(key)) users.push(`flag ${flag}`);
  }
  for (const segment of await store.listSegments(tx, environmentId)) {
    if (segment.key !== key && referencedSegments(segment.rules).includes(key)) users.push(`segment ${segment.key}`);
  }
  return users;
}
