import { and, desc, eq, inArray, lt, type SQL } from 'drizzle-orm';
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
