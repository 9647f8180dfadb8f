import type { Db, Tx } from '../../db/database.js';
import { AppError, isStillReferenced, notFound, sqlState, UNIQUE_VIOLATION } from '../../errors.js';
import { recordAudit } from '../audit/store.js';
import { type Actor, write } from '../changes/write.js';
import { assertOrganisationAdmin, assertProjectAccess, type Principal } from '../keys/principal.js';
import * as store from './store.js';

export type { Project } from './store.js';

/** The project a caller names, when it exists and the caller's key may act on it. */
export async function requireProject(db: Db, principal: Principal, key: string): Promise<store.Project> {
  const project = await store.findProject(db, key);
  if (project === undefined) throw notFound('project', key);
  assertProjectAccess(principal, project.id);
  return project;
}

/**
 * Serialises the writes that change which flags and environments a project has. Without it, a
 * flag created while an environment is being created gets no configuration in that environment
 * (neither transaction sees the other's new row), and a configuration written for a flag or an
 * environment deleted meanwhile fails on the vanished row.
 */
export async function lockProjectStructure(tx: Tx, project: store.Project): Promise<void> {
  await store.lockProject(tx, project.id);
}

export function projectView(p: store.Project) {
  return { key: p.key, name: p.name, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() };
}

export async function createProject(db: Db, actor: Actor, input: { key: string; name: string }) {
  assertOrganisationAdmin(actor.principal);
  try {
    return await write(db, async (tx) => {
      const project = await store.insertProject(tx, input);
      await recordAudit(tx, actor, [
        {
          projectId: project.id,
          action: 'project.create',
          targetKind: 'project',
          targetKey: project.key,
          before: null,
          after: projectView(project),
        },
      ]);
      return project;
    });
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `project ${JSON.stringify(input.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function listProjects(db: Db, principal: Principal) {
  return store.listProjects(db, principal.projectId);
}

export async function renameProject(db: Db, actor: Actor, key: string, name: string) {
  const project = await requireProject(db, actor.principal, key);
  return write(db, async (tx) => {
    const renamed = await store.renameProject(tx, project.id, name);
    await recordAudit(tx, actor, [
      {
        projectId: project.id,
        action: 'project.update',
        targetKind: 'project',
        targetKey: key,
        before: projectView(project),
        after: projectView(renamed),
      },
    ]);
    return renamed;
  });
}

/** A project can be deleted once it has no flags and no segments left; its environments and keys go with it. */
export async function deleteProject(db: Db, actor: Actor, key: string): Promise<void> {
  assertOrganisationAdmin(actor.principal);
  const project = await requireProject(db, actor.principal, key);
  try {
    await write(db, async (tx) => {
      await store.deleteProject(tx, project.id);
      await recordAudit(tx, actor, [
        {
          projectId: project.id,
          action: 'project.delete',
          targetKind: 'project',
          targetKey: key,
          before: projectView(project),
          after: null,
        },
      ]);
    });
  } catch (err) {
    if (isStillReferenced(err)) {
      throw new AppError('CONFLICT', `project ${JSON.stringify(key)} still has flags or segments; delete them first`);
    }
    throw err;
  }
}
