import { asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { projects } from '../../db/schema.js';
import { AppError, isStillReferenced, sqlState, UNIQUE_VIOLATION } from '../../errors.js';

export interface Project {
  id: string;
  key: string;
  name: string;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export async function findProject(db: Db | Tx, key: string): Promise<Project | undefined> {
  const [row] = await db.select().from(projects).where(eq(projects.key, key));
  return row;
}

export async function findProjectById(db: Db | Tx, id: string): Promise<Project | undefined> {
  const [row] = await db.select().from(projects).where(eq(projects.id, id));
  return row;
}

/** Holds the project's row until the transaction ends; other writers that lock it wait. */
export async function lockProject(tx: Tx, id: string): Promise<Project | undefined> {
  const [row] = await tx.select().from(projects).where(eq(projects.id, id)).for('no key update');
  return row;
}

/** These projects, or every project when `onlyIds` is `undefined`, by key. */
export async function listProjects(db: Db, onlyIds: readonly string[] | undefined): Promise<Project[]> {
  if (onlyIds?.length === 0) return [];
  const query = db.select().from(projects);
  const filtered = onlyIds === undefined ? query : query.where(inArray(projects.id, [...onlyIds]));
  return filtered.orderBy(asc(projects.key));
}

export async function insertProject(tx: Tx, p: { key: string; name: string }): Promise<Project> {
  try {
    const [row] = await tx.insert(projects).values(p).returning();
    return row as Project;
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `project ${JSON.stringify(p.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function renameProject(tx: Tx, id: string, name: string): Promise<Project> {
  const [row] = await tx
    .update(projects)
    .set({ name, revision: sql`${projects.revision} + 1`, updatedAt: new Date() })
    .where(eq(projects.id, id))
    .returning();
  return row as Project;
}

export async function deleteProject(tx: Tx, project: Project): Promise<void> {
  try {
    await tx.delete(projects).where(eq(projects.id, project.id));
  } catch (err) {
    if (isStillReferenced(err)) {
      throw new AppError(
        'CONFLICT',
        `project ${JSON.stringify(project.key)} still has flags or segments; delete them first`,
      );
    }
    throw err;
  }
}
