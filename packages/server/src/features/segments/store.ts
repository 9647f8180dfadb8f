import type { SegmentRule } from '@switchyard/core';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { segments } from '../../db/schema.js';
import { AppError, sqlState, UNIQUE_VIOLATION } from '../../errors.js';

export interface SegmentRow {
  id: string;
  environmentId: string;
  key: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  rules: SegmentRule[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type SegmentFields = Pick<SegmentRow, 'name' | 'description' | 'included' | 'excluded' | 'rules'>;

export async function findSegment(db: Db | Tx, environmentId: string, key: string): Promise<SegmentRow | undefined> {
  const [row] = await db
    .select()
    .from(segments)
    .where(and(eq(segments.environmentId, environmentId), eq(segments.key, key)));
  return row;
}

export async function lockSegment(tx: Tx, environmentId: string, key: string): Promise<SegmentRow | undefined> {
  const [row] = await tx
    .select()
    .from(segments)
    .where(and(eq(segments.environmentId, environmentId), eq(segments.key, key)))
    .for('update');
  return row;
}

export async function listSegments(db: Db | Tx, environmentId: string): Promise<SegmentRow[]> {
  return db.select().from(segments).where(eq(segments.environmentId, environmentId)).orderBy(asc(segments.key));
}

export async function segmentKeysIn(db: Db | Tx, environmentId: string, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const rows = await db
    .select({ key: segments.key })
    .from(segments)
    .where(and(eq(segments.environmentId, environmentId), inArray(segments.key, keys)));
  return rows.map((r) => r.key);
}

export async function insertSegment(
  tx: Tx,
  s: SegmentFields & { environmentId: string; key: string; version: number },
) {
  try {
    const [row] = await tx.insert(segments).values(s).returning();
    return row as SegmentRow;
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `segment ${JSON.stringify(s.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function writeSegment(tx: Tx, id: string, fields: SegmentFields, version: number): Promise<SegmentRow> {
  const [row] = await tx
    .update(segments)
    .set({ ...fields, version, updatedAt: new Date() })
    .where(eq(segments.id, id))
    .returning();
  return row as SegmentRow;
}

export async function deleteSegment(tx: Tx, id: string): Promise<void> {
  await tx.delete(segments).where(eq(segments.id, id));
}
