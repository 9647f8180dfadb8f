import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/database.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/database.js';
import { SYSTEM } from '../../test-support/server.js';
import { queryRows, snapshotDatabase } from '../../test-support/snapshot.js';
import { ChangeFeed, type CommittedVersion } from './change-feed.js';
import { type AuditRecord, commitChange, noChange, type Writer } from './commit-change.js';

let testDb: TestDatabase;
let db: Db;
const env = { a: '', b: '' };

async function versionOf(environmentId: string): Promise<number> {
  const [row] = await queryRows<{ version: string }>(
    db,
    sql`select version from environments where id = ${environmentId}`,
  );
  return Number(row?.version);
}

function audited(targetKey: string): AuditRecord {
  return { projectId: null, action: 'test.write', targetKind: 'flag', targetKey, before: null, after: null };
}

/** A writer whose feed records every announcement, with the versions Postgres showed other connections right then. */
function recordingWriter() {
  const feed = new ChangeFeed();
  const announced: CommittedVersion[][] = [];
  const visible: Promise<number[]>[] = [];
  feed.subscribe((committed) => {
    announced.push([...committed]);
    visible.push(Promise.all(committed.map((c) => versionOf(c.environmentId))));
  });
  const writer: Writer = { db, feed };
  return { writer, announced, visible };
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  const [project] = await queryRows<{ id: string }>(
    db,
    sql`insert into projects (key, name) values ('cc', 'Commit change') returning id`,
  );
  for (const key of ['a', 'b'] as const) {
    const [row] = await queryRows<{ id: string }>(
      db,
      sql`insert into environments (project_id, key, name, version) values (${project?.id}, ${key}, ${key}, 1) returning id`,
    );
    env[key] = row?.id as string;
  }
});

afterAll(async () => {
  await testDb?.drop();
});

describe('commitChange', () => {
  it('announces the new versions only once they are committed, as other connections see them', async () => {
    const { writer, announced, visible } = recordingWriter();
    const before = await versionOf(env.a);
    await commitChange(writer, SYSTEM, async () => ({
      entries: [{ environmentId: env.a, kind: 'flag', key: 'f' }],
      apply: async (versions) => {
        expect(announced).toEqual([]);
        return { result: versions.get(env.a), audit: [audited('f')] };
      },
    }));
    expect(announced).toEqual([[{ environmentId: env.a, version: before + 1 }]]);
    expect(await Promise.all(visible)).toEqual([[before + 1]]);
  });

  it('bumps each environment once however many of its entries change, with one outbox row per entry', async () => {
    const { writer, announced } = recordingWriter();
    const a = await versionOf(env.a);
    const b = await versionOf(env.b);
    const [last] = await queryRows<{ id: string | null }>(db, sql`select max(id) as id from changes`);
    const lastOutboxId = Number(last?.id ?? 0);
    const versions = await commitChange(writer, SYSTEM, async () => ({
      entries: [
        { environmentId: env.a, kind: 'flag', key: 'x' },
        { environmentId: env.a, kind: 'segment', key: 'y' },
        { environmentId: env.b, kind: 'flag', key: 'x' },
      ],
      apply: async (versions) => ({ result: versions, audit: [audited('x'), audited('y')] }),
    }));
    expect(Object.fromEntries(versions)).toEqual({ [env.a]: a + 1, [env.b]: b + 1 });
    const outbox = await queryRows<{ kind: string; key: string; version: string }>(
      db,
      sql`select kind, key, version from changes where id > ${lastOutboxId} order by id`,
    );
    expect(outbox.map((r) => `${r.kind}:${r.key}@${r.version}`)).toEqual([
      `flag:x@${a + 1}`,
      `segment:y@${a + 1}`,
      `flag:x@${b + 1}`,
    ]);
    expect(announced.flat()).toHaveLength(2);
  });

  it('never announces a write that rolls back, and leaves no row, version, outbox row or audit entry of it', async () => {
    const { writer, announced } = recordingWriter();
    const snapshot = await snapshotDatabase(db);
    await expect(
      commitChange(writer, SYSTEM, async (tx) => ({
        entries: [{ environmentId: env.a, kind: 'flag', key: 'doomed' }],
        apply: async () => {
          await tx.execute(sql`insert into projects (key, name) values ('doomed', 'Doomed')`);
          throw new Error('the write fails after its rows');
        },
      })),
    ).rejects.toThrow('the write fails after its rows');
    expect(announced).toEqual([]);
    expect(await snapshotDatabase(db)).toEqual(snapshot);
  });

  it('writes and announces nothing for a write that changes nothing', async () => {
    const { writer, announced } = recordingWriter();
    const snapshot = await snapshotDatabase(db);
    expect(await commitChange(writer, SYSTEM, async () => noChange('as it was'))).toBe('as it was');
    expect(announced).toEqual([]);
    expect(await snapshotDatabase(db)).toEqual(snapshot);
  });

  it('audits a write outside every ruleset without moving any version or announcing it', async () => {
    const { writer, announced } = recordingWriter();
    const a = await versionOf(env.a);
    await commitChange(writer, { ...SYSTEM, reason: 'tidy up' }, async () => ({
      entries: [],
      apply: async () => ({ result: undefined, audit: [audited('outside')] }),
    }));
    const [entry] = await queryRows<{ actor: string; reason: string }>(
      db,
      sql`select actor, reason from audit_entries where target_key = 'outside'`,
    );
    expect(entry).toEqual({ actor: 'system', reason: 'tidy up' });
    expect(await versionOf(env.a)).toBe(a);
    expect(announced).toEqual([]);
  });

  it('keeps a committed write when a feed listener throws', async () => {
    const feed = new ChangeFeed();
    const heard: number[] = [];
    feed.subscribe(() => {
      throw new Error('listener broke');
    });
    feed.subscribe((committed) => heard.push(...committed.map((c) => c.version)));
    const a = await versionOf(env.a);
    await commitChange({ db, feed }, SYSTEM, async () => ({
      entries: [{ environmentId: env.a, kind: 'flag', key: 'f' }],
      apply: async () => ({ result: undefined, audit: [audited('f')] }),
    }));
    expect(await versionOf(env.a)).toBe(a + 1);
    expect(heard).toEqual([a + 1]);
  });

  it('announces a deleted environment so that delivery forgets it', async () => {
    const { writer, announced } = recordingWriter();
    await commitChange(writer, SYSTEM, async () => ({
      entries: [],
      removedEnvironments: [{ environmentId: 'gone', version: 7 }],
      apply: async () => ({ result: undefined, audit: [audited('gone')] }),
    }));
    expect(announced).toEqual([[{ environmentId: 'gone', version: 7 }]]);
  });
});

describe('ChangeFeed', () => {
  it('stops calling a listener once it unsubscribes', () => {
    const feed = new ChangeFeed();
    const heard: number[] = [];
    const unsubscribe = feed.subscribe((c) => heard.push(c.length));
    feed.announce([{ environmentId: 'e', version: 1 }]);
    unsubscribe();
    feed.announce([{ environmentId: 'e', version: 2 }]);
    expect(heard).toEqual([1]);
  });
});
