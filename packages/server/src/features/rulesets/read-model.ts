// The read model SDK delivery serves: an environment's flags, configurations and segments as
// ruleset entries, whole or as the changes since a version, each read in one snapshot so that
// a version and its entries always agree. Delivery reads these tables through here only.
import type { Flag, Segment } from '@switchyard/core';
import { and, asc, eq, gt, inArray, lte } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { changes, environments, flagConfigs, flags, projects, segments } from '../../db/schema.js';
import { toRulesetFlag, toRulesetSegment } from './ruleset-entries.js';

export interface EnvironmentSnapshot {
  environmentId: string;
  /** `project/environment`, what a ruleset calls its environment. */
  name: string;
  version: number;
  flags: Flag[];
  segments: Segment[];
}

export interface ChangeBatch {
  environmentId: string;
  /** The environment version the batch brings the environment to. */
  version: number;
  /** One entry per change row, in version order, each with the item's state at `version`. */
  changes: { kind: 'flag' | 'segment'; key: string; version: number; value: Flag | Segment | null }[];
  /** When the oldest of these changes was written (Postgres's clock, ms since the epoch); undefined when there are none. */
  oldestAt: number | undefined;
}

/** Current versions of every environment: what reconciliation compares with. */
export async function environmentVersions(db: Db): Promise<Map<string, number>> {
  const rows = await db.select({ id: environments.id, version: environments.version }).from(environments);
  return new Map(rows.map((r) => [r.id, r.version]));
}

/**
 * Reads in one REPEATABLE READ transaction, so that the version and the items belong to the
 * same committed state.
 */
async function snapshotRead<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(fn, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

/** The whole environment (archived flags are left out: SDKs no longer see them). */
export async function loadEnvironment(db: Db, environmentId: string): Promise<EnvironmentSnapshot | undefined> {
  return snapshotRead(db, async (tx) => {
    const [env] = await tx
      .select({ key: environments.key, version: environments.version, project: projects.key })
      .from(environments)
      .innerJoin(projects, eq(projects.id, environments.projectId))
      .where(eq(environments.id, environmentId));
    if (env === undefined) return undefined;
    return {
      environmentId,
      name: `${env.project}/${env.key}`,
      version: env.version,
      flags: await readFlags(tx, environmentId, undefined),
      segments: await readSegments(tx, environmentId, undefined),
    };
  });
}

/** The changes after `fromVersion`, with the state of each changed item. */
export async function loadChanges(
  db: Db,
  environmentId: string,
  fromVersion: number,
): Promise<ChangeBatch | undefined> {
  return snapshotRead(db, async (tx) => {
    const [env] = await tx
      .select({ version: environments.version })
      .from(environments)
      .where(eq(environments.id, environmentId));
    if (env === undefined) return undefined;
    const rows = await tx
      .select({ kind: changes.kind, key: changes.key, version: changes.version, createdAt: changes.createdAt })
      .from(changes)
      .where(
        and(
          eq(changes.environmentId, environmentId),
          gt(changes.version, fromVersion),
          lte(changes.version, env.version),
        ),
      )
      .orderBy(asc(changes.version), asc(changes.id));
    const flagKeys = [...new Set(rows.filter((r) => r.kind === 'flag').map((r) => r.key))];
    const segmentKeys = [...new Set(rows.filter((r) => r.kind === 'segment').map((r) => r.key))];
    const flagsByKey = new Map((await readFlags(tx, environmentId, flagKeys)).map((f) => [f.key, f]));
    const segmentsByKey = new Map((await readSegments(tx, environmentId, segmentKeys)).map((s) => [s.key, s]));
    return {
      environmentId,
      version: env.version,
      changes: rows.map(({ kind, key, version }) => ({
        kind,
        key,
        version,
        value: (kind === 'flag' ? flagsByKey.get(key) : segmentsByKey.get(key)) ?? null,
      })),
      oldestAt:
        rows.length === 0
          ? undefined
          : rows.reduce((t, r) => Math.min(t, r.createdAt.getTime()), Number.POSITIVE_INFINITY),
    };
  });
}

async function readFlags(tx: Tx, environmentId: string, keys: string[] | undefined): Promise<Flag[]> {
  if (keys !== undefined && keys.length === 0) return [];
  const where = [eq(flagConfigs.environmentId, environmentId), eq(flags.archived, false)];
  if (keys !== undefined) where.push(inArray(flags.key, keys));
  const rows = await tx
    .select({ flag: flags, config: flagConfigs })
    .from(flagConfigs)
    .innerJoin(flags, eq(flags.id, flagConfigs.flagId))
    .where(and(...where))
    .orderBy(asc(flags.key));
  return rows.map((r) => toRulesetFlag(r.flag, r.config));
}

async function readSegments(tx: Tx, environmentId: string, keys: string[] | undefined): Promise<Segment[]> {
  if (keys !== undefined && keys.length === 0) return [];
  const where = [eq(segments.environmentId, environmentId)];
  if (keys !== undefined) where.push(inArray(segments.key, keys));
  const rows = await tx
    .select()
    .from(segments)
    .where(and(...where))
    .orderBy(asc(segments.key));
  return rows.map(toRulesetSegment);
}
