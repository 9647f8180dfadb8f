import type { Principal } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, commitChange, type Writer } from '../changes/commit-change.js';
import { assertRevision } from '../changes/precondition.js';
import { configureFlagsIn } from '../flags/service.js';
import { activeKeysOfEnvironment } from '../keys/service.js';
import { lockProjectStructure, type Project, requireProject } from '../projects/service.js';
import * as store from './store.js';

export type { Environment } from './store.js';

export function environmentView(e: store.Environment) {
  return {
    key: e.key,
    name: e.name,
    version: e.version,
    revision: e.revision,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export async function requireEnvironment(db: Db | Tx, project: Project, key: string): Promise<store.Environment> {
  const env = await store.findEnvironment(db, project.id, key);
  if (env === undefined) throw notFound('environment', key);
  return env;
}

export async function environmentById(db: Db | Tx, id: string): Promise<store.Environment | undefined> {
  return store.findEnvironmentById(db, id);
}

/** The environments of a project, in key order. */
export async function environmentsOf(db: Db | Tx, project: Project): Promise<store.Environment[]> {
  return store.listEnvironments(db, project.id);
}

/** A new environment starts at version 1 with every existing flag off in it. */
export async function createEnvironment(
  w: Writer,
  actor: Actor,
  projectKey: string,
  input: { key: string; name: string },
) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  return commitChange(w, actor, async (tx) => {
    await lockProjectStructure(tx, project);
    return {
      entries: [],
      apply: async () => {
        const env = await store.insertEnvironment(tx, {
          projectId: project.id,
          key: input.key,
          name: input.name,
          version: 1,
        });
        await configureFlagsIn(tx, project, env.id, env.version);
        return { result: env, audit: [audit(project, env, 'environment.create', null, environmentView(env))] };
      },
    };
  });
}

export async function listEnvironments(db: Db, principal: Principal, projectKey: string) {
  return environmentsOf(db, await requireProject(db, principal, projectKey));
}

export async function getEnvironment(db: Db, principal: Principal, projectKey: string, envKey: string) {
  return requireEnvironment(db, await requireProject(db, principal, projectKey), envKey);
}

/** An environment a write names; `ifMatch` is the revision the caller last read (`If-Match`), if it sent one. */
export interface EnvironmentTarget {
  projectKey: string;
  envKey: string;
  ifMatch: number | undefined;
}

/** The environment's row, locked, at the revision `If-Match` names (when it names one). */
async function lockAt(tx: Tx, project: Project, t: EnvironmentTarget): Promise<store.Environment> {
  const env = await store.lockEnvironment(tx, project.id, t.envKey);
  if (env === undefined) throw notFound('environment', t.envKey);
  assertRevision('environment', env.revision, t.ifMatch);
  return env;
}

export async function renameEnvironment(w: Writer, actor: Actor, t: EnvironmentTarget, name: string) {
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  return commitChange(w, actor, async (tx) => {
    const env = await lockAt(tx, project, t);
    return {
      entries: [],
      apply: async () => {
        const renamed = await store.renameEnvironment(tx, env.id, name);
        return {
          result: renamed,
          audit: [audit(project, env, 'environment.update', environmentView(env), environmentView(renamed))],
        };
      },
    };
  });
}

/**
 * An environment can be deleted once it has no segments and no active SDK keys (which would
 * otherwise break silently); its flag configurations and revoked keys go with it.
 */
export async function deleteEnvironment(w: Writer, actor: Actor, t: EnvironmentTarget): Promise<void> {
  const project = await requireProject(w.db, actor.principal, t.projectKey);
  const envKey = t.envKey;
  await commitChange(w, actor, async (tx) => {
    await lockProjectStructure(tx, project);
    const env = await lockAt(tx, project, t);
    const keys = await activeKeysOfEnvironment(tx, env.id);
    if (keys > 0) {
      throw new AppError(
        'CONFLICT',
        `environment ${JSON.stringify(envKey)} has ${keys} active SDK key(s); revoke them first`,
      );
    }
    return {
      entries: [],
      removedEnvironments: [{ environmentId: env.id, version: env.version }],
      apply: async () => {
        await store.deleteEnvironment(tx, env);
        return { result: undefined, audit: [audit(project, env, 'environment.delete', environmentView(env), null)] };
      },
    };
  });
}

function audit(project: Project, env: store.Environment, action: string, before: unknown, after: unknown) {
  return {
    projectId: project.id,
    environmentId: env.id,
    action,
    targetKind: 'environment' as const,
    targetKey: env.key,
    before,
    after,
  };
}
