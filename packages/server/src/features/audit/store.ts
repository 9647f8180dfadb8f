import { and, asc, desc, eq, gt, inArray, lt, lte, max, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { auditEntries } from '../../db/schema.js';

export interface AuditEntry {
  id: number;
  projectId: string | null;
  environmentId: string | null;
  actor: string;
  actorId: string;
  action: string;
  targetKind: string;
  targetKey: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  createdAt: Date;
}

export interface AuditFilter {
  projectId?: string | undefined;
  /** Only entries of these projects (a person sees those of the projects they have a role in). */
  projectIds?: readonly string[] | undefined;
  environmentId?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  actorId?: string | undefined;
  targetKind?: string | undefined;
  targetKey?: string | undefined;
  /** Entries older than this id: the cursor of the previous page. */
  before?: number | undefined;
  limit: number;
}

/** Newest first. */
export async function listAudit(db: Db, f: AuditFilter): Promise<AuditEntry[]> {
  const where: SQL[] = [];
  if (f.projectId !== undefined) where.push(eq(auditEntries.projectId, f.projectId));
  if (f.environmentId !== undefined) where.push(eq(auditEntries.environmentId, f.environmentId));
  if (f.action !== undefined) where.push(eq(auditEntries.action, f.action));
  if (f.projectIds !== undefined) {
    if (f.projectIds.length === 0) return [];
    where.push(inArray(auditEntries.projectId, [...f.projectIds]));
  }
  if (f.actor !== undefined) where.push(eq(auditEntries.actor, f.actor));
  if (f.actorId !== undefined) where.push(eq(auditEntries.actorId, f.actorId));
  if (f.targetKind !== undefined) where.push(eq(auditEntries.targetKind, f.targetKind));
  if (f.targetKey !== undefined) where.push(eq(auditEntries.targetKey, f.targetKey));
  if (f.before !== undefined) where.push(lt(auditEntries.id, f.before));
  return db
    .select()
    .from(auditEntries)
    .where(and(...where))
    .orderBy(desc(auditEntries.id))
    .limit(f.limit);
}

/** Entries after `afterId`, oldest first. */
export async function auditAfter(db: Db, afterId: number, limit: number): Promise<AuditEntry[]> {
  return db.select().from(auditEntries).where(gt(auditEntries.id, afterId)).orderBy(asc(auditEntries.id)).limit(limit);
}

/**
 * The ids of this database's transactions running now that have written something. Audit ids
 * come from a sequence when a write inserts its entries, not when it commits: an id below the
 * newest one committed may belong to one of these (a write has its transaction id from its
 * first row, before its audit entries), and is final only once they have ended. The server's
 * writes all run as its own database role, whose sessions `pg_stat_activity` always shows it.
 */
export async function runningWrites(db: Db): Promise<string[]> {
  const rows = await rowsOf<{ xid: string }>(
    db,
    sql`select backend_xid::text as xid from pg_stat_activity
        where datname = current_database() and backend_xid is not null`,
  );
  return rows.map((r) => r.xid);
}

/** Whether any of these transactions (from `runningWrites`) is still running. */
export async function anyStillRunning(db: Db, xids: readonly string[]): Promise<boolean> {
  if (xids.length === 0) return false;
  const rows = await rowsOf<{ xid: string }>(
    db,
    sql`select backend_xid::text as xid from pg_stat_activity
        where datname = current_database() and backend_xid::text in ${[...xids]} limit 1`,
  );
  return rows.length > 0;
}

/** A project's entries with `afterId < id <= upTo`, oldest first. */
export async function projectAuditBetween(
  db: Db,
  projectId: string,
  afterId: number,
  upTo: number,
  limit: number,
): Promise<AuditEntry[]> {
  return db
    .select()
    .from(auditEntries)
    .where(and(eq(auditEntries.projectId, projectId), gt(auditEntries.id, afterId), lte(auditEntries.id, upTo)))
    .orderBy(asc(auditEntries.id))
    .limit(limit);
}

/** The newest entry's id; 0 for an empty log. */
export async function newestAuditId(db: Db): Promise<number> {
  const [row] = await db.select({ id: max(auditEntries.id) }).from(auditEntries);
  return row?.id ?? 0;
}

async function rowsOf<T>(db: Db, query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}
