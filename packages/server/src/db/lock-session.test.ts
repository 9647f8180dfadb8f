import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_SESSION_SETTINGS, openPostgres } from './database.js';

const url = process.env.DATABASE_URL;

describe.skipIf(url === undefined)('the session that holds an advisory lock', () => {
  const database = url === undefined ? undefined : openPostgres(url);
  afterAll(async () => {
    await database?.close();
  });

  it('makes Postgres probe a silent connection within seconds, not the kernel default of two hours', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const statement of LOCK_SESSION_SETTINGS) await client.query(statement);
      const value = async (name: string) => (await client.query(`show ${name}`)).rows[0][name];
      expect(await value('tcp_keepalives_idle')).toBe('10');
      expect(await value('tcp_keepalives_interval')).toBe('5');
      expect(await value('tcp_keepalives_count')).toBe('3');
      expect(await value('tcp_user_timeout')).toBe('30000');
    } finally {
      await client.end();
    }
  });

  it('is taken by one holder at a time, and free again once released', async () => {
    const key = 0x5317_0042;
    const first = await database?.tryAdvisoryLock?.(key);
    expect(first).toBeDefined();
    expect(await first?.alive()).toBe(true);
    expect(await database?.tryAdvisoryLock?.(key)).toBeUndefined();
    await first?.release();
    const second = await database?.tryAdvisoryLock?.(key);
    expect(second).toBeDefined();
    await second?.release();
  });
});
