import type { Db, Tx } from '../../db/database.js';
import { AppError, isStillReferenced, notFound, sqlState, UNIQUE_VIOLATION } from '../../errors.js';
import { recordAudit } from '../audit/store.js';
import { type Actor, noteVersion, write } from '../changes/write.js';
import { initialConfig } from '../flags/ruleset-entry.js';
import { insertConfigs, listFlags } from '../flags/store.js';
import type { Principal } from '../keys/principal.js';
import { countActiveForEnvironment } from '../keys/store.js';
import { lockProjectStructure, type Project, requireProject } from '../projects/service.js';
import * as store from './store.js';

export type { Environment } from './store.js';

export function environmentView(e: store.Environment) {
  return {
    key: e.key,
    name: e.name,
    version: e.version,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export async function requireEnvironment(db: Db | Tx, project: Project, key: string): Promise<store.Environment> {
  const env = await store.findEnvironment(db, project.id, key);
  if (env === undefined) throw notFound('environment', key);
  return env;
}

/** A new environment starts at version 1 with every existing flag off in it. */
export async function createEnvironment(
  db: Db,
  actor: Actor,
  projectKey: string,
  input: { key: string; name: string },
) {
  const project = await requireProject(db, actor.principal, projectKey);
  try {
    return await write(db, async (tx) => {
      await lockProjectStructure(tx, project);
      const env = await store.insertEnvironment(tx, {
        projectId: project.id,
        key: input.key,
        name: input.name,
        version: 1,
      });
      const flags = await listFlags(tx, project.id, { archived: undefined });
      await insertConfigs(
        tx,
        flags.map((f) => ({ flagId: f.id, environmentId: env.id, version: 1, fields: initialConfig(f) })),
      );
      await recordAudit(tx, actor, [
        {
          projectId: project.id,
          environmentId: env.id,
          action: 'environment.create',
          targetKind: 'environment',
          targetKey: env.key,
          before: null,
          after: environmentView(env),
        },
      ]);
      return env;
    });
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `environment ${JSON.stringify(input.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function listEnvironments(db: Db, principal: Principal, projectKey: string) {
  const project = await requireProject(db, principal, projectKey);
  return store.listEnvironments(db, project.id);
}

export async function getEnvironment(db: Db, principal: Principal, projectKey: string, envKey: string) {
  return requireEnvironment(db, await requireProject(db, principal, projectKey), envKey);
}

export async function renameEnvironment(db: Db, actor: Actor, projectKey: string, envKey: string, name: string) {
  const project = await requireProject(db, actor.principal, projectKey);
  return write(db, async (tx) => {
    const env = await requireEnvironment(tx, project, envKey);
    const renamed = await store.renameEnvironment(tx, env.id, name);
    await recordAudit(tx, actor, [
      {
        projectId: project.id,
        environmentId: env.id,
        action: 'environment.update',
        targetKind: 'environment',
        targetKey: env.key,
        before: environmentView(env),
        after: environmentView(renamed),
      },
    ]);
    return renamed;
  });
}

/**
 * An environment can be deleted once it has no segments and no active SDK keys (which would
 * otherwise break silently); its flag configurations and revoked keys go with it.
 */
export async function deleteEnvironment(db: Db, actor: Actor, projectKey: string, envKey: string): Promise<void> {
  const project = await requireProject(db, actor.principal, projectKey);
  try {
    await write(db, async (tx) => {
      await lockProjectStructure(tx, project);
      const env = await requireEnvironment(tx, project, envKey);
      const keys = await countActiveForEnvironment(tx, env.id);
      if (keys > 0)
        throw new AppError(
          'CONFLICT',
          `environment ${JSON.stringify(envKey)} has ${keys} active SDK key(s); revoke them first`,
        );
      await store.deleteEnvironment(tx, env.id);
      noteVersion(tx, env.id, env.version);
      await recordAudit(tx, actor, [
        {
          projectId: project.id,
          environmentId: env.id,
          action: 'environment.delete',
          targetKind: 'environment',
          targetKey: env.key,
          before: environmentView(env),
          after: null,
        },
      ]);
    });
  } catch (err) {
    if (isStillReferenced(err)) {
      throw new AppError('CONFLICT', `environment ${JSON.stringify(envKey)} still has segments; delete them first`);
    }
    throw err;
  }
}
