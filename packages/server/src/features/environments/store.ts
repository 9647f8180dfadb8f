import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { environments } from '../../db/schema.js';
import { AppError, isStillReferenced, sqlState, UNIQUE_VIOLATION } from '../../errors.js';

export interface Environment {
  id: string;
  projectId: string;
  key: string;
  name: string;
  version: number;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export async function findEnvironment(db: Db | Tx, projectId: string, key: string): Promise<Environment | undefined> {
  const [row] = await db
    .select()
    .from(environments)
    .where(and(eq(environments.projectId, projectId), eq(environments.key, key)));
  return row;
}

/** The environment's row, locked until the transaction ends. */
export async function lockEnvironment(tx: Tx, projectId: string, key: string): Promise<Environment | undefined> {
  const [row] = await tx
    .select()
    .from(environments)
    .where(and(eq(environments.projectId, projectId), eq(environments.key, key)))
    .for('no key update');
  return row;
}

export async function findEnvironmentById(db: Db | Tx, id: string): Promise<Environment | undefined> {
  const [row] = await db.select().from(environments).where(eq(environments.id, id));
  return row;
}

export async function listEnvironments(db: Db | Tx, projectId: string): Promise<Environment[]> {
  return db.select().from(environments).where(eq(environments.projectId, projectId)).orderBy(asc(environments.key));
}

export async function insertEnvironment(
  tx: Tx,
  e: { projectId: string; key: string; name: string; version: number },
): Promise<Environment> {
  try {
    const [row] = await tx.insert(environments).values(e).returning();
    return row as Environment;
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `environment ${JSON.stringify(e.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function renameEnvironment(tx: Tx, id: string, name: string): Promise<Environment> {
  const [row] = await tx
    .update(environments)
    .set({ name, revision: sql`${environments.revision} + 1`, updatedAt: new Date() })
    .where(eq(environments.id, id))
    .returning();
  return row as Environment;
}

export async function deleteEnvironment(tx: Tx, env: Environment): Promise<void> {
  try {
    await tx.delete(environments).where(eq(environments.id, env.id));
  } catch (err) {
    if (isStillReferenced(err)) {
      throw new AppError('CONFLICT', `environment ${JSON.stringify(env.key)} still has segments; delete them first`);
    }
    throw err;
  }
}
