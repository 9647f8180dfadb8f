import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './test-support/server.js';
import { snapshotDatabase } from './test-support/snapshot.js';

let s: TestServer;
const p = '/api/v1/projects/tx';

async function ok(method: string, url: string, body?: unknown) {
  const res = await s.call(method, url, body);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res;
}

beforeAll(async () => {
  s = await startTestServer();
  await ok('POST', '/api/v1/projects', { key: 'tx', name: 'Transactions' });
  for (const key of ['staging', 'production']) await ok('POST', `${p}/environments`, { key, name: key });
  for (const key of ['config-audit-boom', 'config-outbox-boom', 'control']) {
    await ok('POST', `${p}/flags`, { key, name: key, type: 'boolean' });
  }
  // Flags are killed by tag in key order: the failing one comes last, after the others were written.
  for (const key of ['x1', 'x2', 'y-audit-boom']) {
    await ok('POST', `${p}/flags`, { key, name: key, type: 'boolean', tags: ['incident'] });
    await ok('PATCH', `${p}/flags/${key}/environments/production`, { enabled: true });
  }

  // The injected failure: a row whose column (first trigger argument) contains the marker
  // (second argument) makes the insert raise, inside whatever transaction is writing it.
  const db = s.testDb.database.db;
  await db.execute(
    sql.raw(`create function fail_on_marker() returns trigger language plpgsql as $$
      begin
        if (to_jsonb(new) ->> tg_argv[0]) like '%' || tg_argv[1] || '%' then
          raise exception 'injected failure in %', tg_table_name;
        end if;
        return new;
      end
    $$`),
  );
  await db.execute(
    sql.raw(`create trigger fail_audit before insert on audit_entries
      for each row execute function fail_on_marker('target_key', 'audit-boom')`),
  );
  await db.execute(
    sql.raw(`create trigger fail_outbox before insert on changes
      for each row execute function fail_on_marker('key', 'outbox-boom')`),
  );
});

afterAll(async () => {
  await s?.close();
});

/** The request fails with a bare 500 and leaves every table exactly as it was. */
async function expectNoTrace(request: () => Promise<LightMyRequestResponse>) {
  const before = await snapshotDatabase(s.testDb.database.db);
  const res = await request();
  expect(res.statusCode).toBe(500);
  expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error', details: {} } });
  expect(res.body).not.toContain('injected failure');
  expect(await snapshotDatabase(s.testDb.database.db)).toEqual(before);
}

describe('a failure injected mid-transaction', () => {
  it('leaves no trace of a configuration update whose audit entry fails', async () => {
    await expectNoTrace(() =>
      s.call('PATCH', `${p}/flags/config-audit-boom/environments/production`, { enabled: true }),
    );
  });

  it('leaves no trace of a configuration update whose outbox row fails', async () => {
    await expectNoTrace(() =>
      s.call('PUT', `${p}/flags/config-outbox-boom/environments/staging`, {
        enabled: true,
        defaultServe: { variant: 'on' },
      }),
    );
  });

  it('leaves no trace of a flag creation: no flag, no configurations, no version bump', async () => {
    await expectNoTrace(() => s.call('POST', `${p}/flags`, { key: 'new-audit-boom', name: 'N', type: 'boolean' }));
    await expectNoTrace(() => s.call('POST', `${p}/flags`, { key: 'new-outbox-boom', name: 'N', type: 'boolean' }));
    expect((await s.call('GET', `${p}/flags/new-audit-boom`)).statusCode).toBe(404);
  });

  it('leaves no trace of a kill by tag whose last flag fails, though the flags before it were written', async () => {
    await expectNoTrace(() => s.call('POST', `${p}/environments/production/kill`, { tag: 'incident' }));
    for (const key of ['x1', 'x2', 'y-audit-boom']) {
      expect((await s.call('GET', `${p}/flags/${key}/environments/production`)).json().enabled).toBe(true);
    }
  });

  it('leaves no trace of a segment creation', async () => {
    await expectNoTrace(() =>
      s.call('POST', `${p}/environments/production/segments`, { key: 'seg-audit-boom', name: 'S' }),
    );
    await expectNoTrace(() =>
      s.call('POST', `${p}/environments/production/segments`, { key: 'seg-outbox-boom', name: 'S' }),
    );
  });

  it('leaves no trace of a flag deletion', async () => {
    await expectNoTrace(() => s.call('DELETE', `${p}/flags/config-outbox-boom`));
    expect((await s.call('GET', `${p}/flags/config-outbox-boom`)).statusCode).toBe(200);
  });

  it('keeps serving writes that do not hit the failure, on the same database', async () => {
    const before = (await s.call('GET', `${p}/environments/production`)).json().version;
    const res = await s.call('PATCH', `${p}/flags/control/environments/production`, { enabled: true });
    expect(res.statusCode).toBe(200);
    expect(res.json().version).toBe(before + 1);
    const killed = await s.call('POST', `${p}/flags/x1/environments/production/kill`);
    expect(killed.statusCode).toBe(200);
    expect(killed.json()).toMatchObject({ enabled: false, changed: true, version: before + 2 });
  });
});
