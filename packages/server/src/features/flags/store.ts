import type { FlagMetadata, FlagType, Prerequisite, Rule, Serve, Target, Variant } from '@switchyard/core';
import { and, arrayContains, asc, eq, ilike, inArray, or, type SQL, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { flagConfigs, flags } from '../../db/schema.js';
import { AppError, sqlState, UNIQUE_VIOLATION } from '../../errors.js';

export interface FlagRow {
  id: string;
  projectId: string;
  key: string;
  name: string;
  description: string;
  tags: string[];
  type: FlagType;
  variants: Variant[];
  clientSide: boolean;
  archived: boolean;
  metadata: FlagMetadata;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConfigRow {
  flagId: string;
  environmentId: string;
  enabled: boolean;
  offVariant: string | null;
  prerequisites: Prerequisite[];
  targets: Target[];
  rules: Rule[];
  defaultServe: Serve;
  salt: string | null;
  measured: boolean;
  version: number;
  updatedAt: Date;
}

export type ConfigFields = Omit<ConfigRow, 'flagId' | 'environmentId' | 'version' | 'updatedAt'>;

export async function findFlag(db: Db | Tx, projectId: string, key: string): Promise<FlagRow | undefined> {
  const [row] = await db
    .select()
    .from(flags)
    .where(and(eq(flags.projectId, projectId), eq(flags.key, key)));
  return row;
}

/** Locks the flag's row until the transaction ends, so concurrent writes to it queue up. */
export async function lockFlag(tx: Tx, projectId: string, key: string): Promise<FlagRow | undefined> {
  const [row] = await tx
    .select()
    .from(flags)
    .where(and(eq(flags.projectId, projectId), eq(flags.key, key)))
    .for('update');
  return row;
}

export interface FlagFilter {
  tag?: string | undefined;
  text?: string | undefined;
  archived: boolean | undefined;
}

export async function listFlags(db: Db | Tx, projectId: string, f: FlagFilter): Promise<FlagRow[]> {
  const where: SQL[] = [eq(flags.projectId, projectId)];
  if (f.archived !== undefined) where.push(eq(flags.archived, f.archived));
  if (f.tag !== undefined) where.push(arrayContains(flags.tags, [f.tag]));
  if (f.text !== undefined && f.text !== '') {
    const pattern = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(or(ilike(flags.key, pattern), ilike(flags.name, pattern), ilike(flags.description, pattern)) as SQL);
  }
  return db
    .select()
    .from(flags)
    .where(and(...where))
    .orderBy(asc(flags.key));
}

export async function findFlagsByKeys(db: Db | Tx, projectId: string, keys: string[]): Promise<FlagRow[]> {
  if (keys.length === 0) return [];
  return db
    .select()
    .from(flags)
    .where(and(eq(flags.projectId, projectId), inArray(flags.key, keys)));
}

export async function insertFlag(
  tx: Tx,
  flag: Omit<FlagRow, 'id' | 'revision' | 'createdAt' | 'updatedAt'>,
): Promise<FlagRow> {
  try {
    const [row] = await tx.insert(flags).values(flag).returning();
    return row as FlagRow;
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `flag ${JSON.stringify(flag.key)} already exists`, { field: 'key' });
    }
    throw err;
  }
}

export async function updateFlag(tx: Tx, id: string, patch: Partial<FlagRow>): Promise<FlagRow> {
  const [row] = await tx
    .update(flags)
    .set({ ...patch, revision: sql`${flags.revision} + 1`, updatedAt: new Date() })
    .where(eq(flags.id, id))
    .returning();
  return row as FlagRow;
}

export async function deleteFlag(tx: Tx, id: string): Promise<void> {
  await tx.delete(flags).where(eq(flags.id, id));
}

export async function insertConfigs(
  tx: Tx,
  rows: { flagId: string; environmentId: string; version: number; fields: ConfigFields }[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .insert(flagConfigs)
    .values(rows.map((r) => ({ flagId: r.flagId, environmentId: r.environmentId, version: r.version, ...r.fields })));
}

export async function findConfig(db: Db | Tx, flagId: string, environmentId: string): Promise<ConfigRow | undefined> {
  const [row] = await db
    .select()
    .from(flagConfigs)
    .where(and(eq(flagConfigs.flagId, flagId), eq(flagConfigs.environmentId, environmentId)));
  return row;
}

export async function configsOfEnvironment(db: Db | Tx, environmentId: string): Promise<ConfigRow[]> {
  return db.select().from(flagConfigs).where(eq(flagConfigs.environmentId, environmentId));
}

export async function configsOfFlag(db: Db | Tx, flagId: string): Promise<ConfigRow[]> {
  return db.select().from(flagConfigs).where(eq(flagConfigs.flagId, flagId));
}

export async function configsOfFlags(db: Db | Tx, flagIds: string[]): Promise<ConfigRow[]> {
  if (flagIds.length === 0) return [];
  return db.select().from(flagConfigs).where(inArray(flagConfigs.flagId, flagIds));
}

export async function writeConfig(
  tx: Tx,
  flagId: string,
  environmentId: string,
  fields: ConfigFields,
  version: number,
) {
  const [row] = await tx
    .update(flagConfigs)
    .set({ ...fields, version, updatedAt: new Date() })
    .where(and(eq(flagConfigs.flagId, flagId), eq(flagConfigs.environmentId, environmentId)))
    .returning();
  return row as ConfigRow;
}

/** Stamps the flag's configurations with new environment versions: its ruleset entry changed. */
export async function touchConfigs(tx: Tx, flagId: string, versions: ReadonlyMap<string, number>): Promise<void> {
  for (const [environmentId, version] of versions) {
    await tx
      .update(flagConfigs)
      .set({ version })
      .where(and(eq(flagConfigs.flagId, flagId), eq(flagConfigs.environmentId, environmentId)));
  }
}

export async function findFlagById(db: Db | Tx, id: string): Promise<FlagRow | undefined> {
  const [row] = await db.select().from(flags).where(eq(flags.id, id));
  return row;
}
