import { assertOrganisationAdmin, assertProjectAccess, type Principal, projectsWith } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { notFound } from '../../errors.js';
import { type Actor, commitChange, type Writer } from '../changes/commit-change.js';
import { assertRevision } from '../changes/precondition.js';
import * as store from './store.js';

export type { Project } from './store.js';

/** The project a caller names, when it exists and the caller's key may act on it. */
export async function requireProject(db: Db, principal: Principal, key: string): Promise<store.Project> {
  const project = await store.findProject(db, key);
  if (project === undefined) throw notFound('project', key);
  assertProjectAccess(principal, project.id);
  return project;
}

/** The project with this key, whoever asks: for the permission check, which then judges the caller's role in it. */
export async function findProjectByKey(db: Db, key: string): Promise<store.Project | undefined> {
  return store.findProject(db, key);
}

export async function projectById(db: Db | Tx, id: string): Promise<store.Project | undefined> {
  return store.findProjectById(db, id);
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
  return {
    key: p.key,
    name: p.name,
    revision: p.revision,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** The project's row, locked, at the revision `If-Match` names (when it names one). */
async function lockAt(tx: Tx, project: store.Project, ifMatch: number | undefined): Promise<store.Project> {
  const locked = await store.lockProject(tx, project.id);
  if (locked === undefined) throw notFound('project', project.key);
  assertRevision('project', locked.revision, ifMatch);
  return locked;
}

export async function createProject(w: Writer, actor: Actor, input: { key: string; name: string }) {
  assertOrganisationAdmin(actor.principal);
  return commitChange(w, actor, async (tx) => ({
    entries: [],
    apply: async () => {
      const project = await store.insertProject(tx, input);
      return {
        result: project,
        audit: [audit(project, 'project.create', null, projectView(project))],
      };
    },
  }));
}

export async function listProjects(db: Db, principal: Principal) {
  return store.listProjects(db, projectsWith(principal, 'viewer'));
}

export async function renameProject(w: Writer, actor: Actor, key: string, name: string, ifMatch: number | undefined) {
  const project = await requireProject(w.db, actor.principal, key);
  return commitChange(w, actor, async (tx) => {
    const before = await lockAt(tx, project, ifMatch);
    return {
      entries: [],
      apply: async () => {
        const renamed = await store.renameProject(tx, project.id, name);
        return {
          result: renamed,
          audit: [audit(project, 'project.update', projectView(before), projectView(renamed))],
        };
      },
    };
  });
}

/** A project can be deleted once it has no flags and no segments left; its environments and keys go with it. */
export async function deleteProject(w: Writer, actor: Actor, key: string, ifMatch: number | undefined): Promise<void> {
  assertOrganisationAdmin(actor.principal);
  const project = await requireProject(w.db, actor.principal, key);
  await commitChange(w, actor, async (tx) => {
    const before = await lockAt(tx, project, ifMatch);
    return {
      entries: [],
      apply: async () => {
        await store.deleteProject(tx, before);
        return { result: undefined, audit: [audit(before, 'project.delete', projectView(before), null)] };
      },
    };
  });
}

function audit(project: store.Project, action: string, before: unknown, after: unknown) {
  return { projectId: project.id, action, targetKind: 'project' as const, targetKey: project.key, before, after };
}
