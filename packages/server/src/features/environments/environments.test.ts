import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const envs = '/api/v1/projects/shop/environments';

beforeAll(async () => {
  s = await startTestServer();
  for (const key of ['shop', 'other']) {
    expect((await s.call('POST', '/api/v1/projects', { key, name: key })).statusCode).toBe(201);
  }
  expect((await s.call('POST', envs, { key: 'production', name: 'Production' })).statusCode).toBe(201);
  const flag = await s.call('POST', '/api/v1/projects/shop/flags', { key: 'checkout', name: 'C', type: 'boolean' });
  expect(flag.statusCode).toBe(201);
});

afterAll(async () => {
  await s?.close();
});

describe('environments', () => {
  it('creates an environment at version 1 and answers 201', async () => {
    const res = await s.call('POST', envs, { key: 'staging', name: 'Staging' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      key: 'staging',
      name: 'Staging',
      version: 1,
      revision: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('gives a new environment an off configuration of every existing flag', async () => {
    const res = await s.call('GET', '/api/v1/projects/shop/flags/checkout/environments/staging');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      flag: 'checkout',
      environment: 'staging',
      enabled: false,
      offVariant: 'off',
      version: 1,
    });
  });

  it('lists the environments of a project in key order', async () => {
    const res = await s.call('GET', envs);
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((e: { key: string }) => e.key)).toEqual(['production', 'staging']);
  });

  it('gets one environment with its version', async () => {
    const res = await s.call('GET', `${envs}/production`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ key: 'production', name: 'Production', version: expect.any(Number) });
  });

  it('answers 404 for an environment or a project that does not exist', async () => {
    for (const url of [`${envs}/nowhere`, '/api/v1/projects/nowhere/environments', '/api/v1/projects/nowhere']) {
      const res = await s.call('GET', url);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
  });

  it('renames an environment and keeps its key and version', async () => {
    const before = (await s.call('GET', `${envs}/staging`)).json();
    const res = await s.call('PATCH', `${envs}/staging`, { name: 'Pre-production' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ key: 'staging', name: 'Pre-production', version: before.version });
  });

  it('refuses to rename an environment that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('PATCH', `${envs}/nowhere`, { name: 'x' }), { status: 404, code: 'NOT_FOUND' });
  });

  it('refuses a duplicate environment key in the same project with 409 and changes nothing', async () => {
    await expectRefusal(s, () => s.call('POST', envs, { key: 'production', name: 'Again' }), {
      status: 409,
      code: 'CONFLICT',
      field: 'key',
    });
    expect((await s.call('GET', `${envs}/production`)).json().name).toBe('Production');
  });

  it('allows the same environment key in another project', async () => {
    const res = await s.call('POST', '/api/v1/projects/other/environments', { key: 'production', name: 'P' });
    expect(res.statusCode).toBe(201);
  });

  it('refuses an environment key that does not match the key pattern with 400', async () => {
    await expectRefusal(s, () => s.call('POST', envs, { key: 'Prod', name: 'P' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'key',
    });
    await expectRefusal(s, () => s.call('POST', envs, { key: '.prod', name: 'P' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'key',
    });
  });

  it('refuses an environment in a project that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects/nowhere/environments', { key: 'qa', name: 'QA' }), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it('deletes an environment without segments or SDK keys, with its flag configurations', async () => {
    expect((await s.call('POST', envs, { key: 'qa', name: 'QA' })).statusCode).toBe(201);
    const res = await s.call('DELETE', `${envs}/qa`);
    expect(res.statusCode).toBe(204);
    expect((await s.call('GET', `${envs}/qa`)).statusCode).toBe(404);
    const flag = (await s.call('GET', '/api/v1/projects/shop/flags/checkout')).json();
    expect(Object.keys(flag.environments).sort()).toEqual(['production', 'staging']);
  });

  it('refuses to delete an environment that still has segments with 409 and changes nothing', async () => {
    expect((await s.call('POST', envs, { key: 'with-segment', name: 'S' })).statusCode).toBe(201);
    const segment = await s.call('POST', `${envs}/with-segment/segments`, { key: 'beta', name: 'Beta' });
    expect(segment.statusCode).toBe(201);
    await expectRefusal(s, () => s.call('DELETE', `${envs}/with-segment`), { status: 409, code: 'CONFLICT' });
    expect((await s.call('GET', `${envs}/with-segment/segments/beta`)).statusCode).toBe(200);
  });

  it.each(['server', 'client'] as const)(
    'refuses to delete an environment with an active %s key until the key is revoked',
    async (type) => {
      const env = `with-${type}-key`;
      expect((await s.call('POST', envs, { key: env, name: env })).statusCode).toBe(201);
      const key = await s.call('POST', '/api/v1/keys', { name: `${env} key`, type, project: 'shop', environment: env });
      expect(key.statusCode).toBe(201);
      await expectRefusal(s, () => s.call('DELETE', `${envs}/${env}`), { status: 409, code: 'CONFLICT' });

      expect((await s.call('POST', `/api/v1/keys/${key.json().id}/revoke`)).statusCode).toBe(200);
      expect((await s.call('DELETE', `${envs}/${env}`)).statusCode).toBe(204);
      const keys = (await s.call('GET', '/api/v1/keys?project=shop')).json().items;
      expect(keys.map((k: { id: string }) => k.id)).not.toContain(key.json().id);
    },
  );

  it('refuses to delete an environment that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('DELETE', `${envs}/nowhere`), { status: 404, code: 'NOT_FOUND' });
  });
});

// Two writers racing needs two connections: a real Postgres server. The embedded database
// has one connection and runs every transaction after the other.
if ((process.env.DATABASE_URL ?? '') !== '') {
  describe('environments and flags created at the same time', () => {
    it('gives a flag created during the creation of an environment a configuration in it', async () => {
      const url = s.testDb.url as string;
      const blocker = new pg.Client({ connectionString: url });
      const watcher = new pg.Client({ connectionString: url });
      await blocker.connect();
      await watcher.connect();
      const waiting = async () =>
        Number(
          (
            await watcher.query(
              `select count(*)::int as n from pg_stat_activity
               where datname = current_database() and wait_event_type = 'Lock'`,
            )
          ).rows[0].n,
        );
      try {
        // Hold the production environment's row, so the flag creation stops at its version bump.
        await blocker.query('begin');
        await blocker.query(
          `select e.id from environments e join projects p on p.id = e.project_id
           where p.key = 'shop' and e.key = 'production' for update`,
        );
        const flag = s.call('POST', '/api/v1/projects/shop/flags', { key: 'raced', name: 'R', type: 'boolean' });
        while ((await waiting()) < 1) await new Promise((r) => setTimeout(r, 10));

        let created = false;
        const env = s.call('POST', envs, { key: 'raced-env', name: 'Raced' }).then((res) => {
          created = true;
          return res;
        });
        // Either the environment is created while the flag waits, or it waits for the flag.
        while (!created && (await waiting()) < 2) await new Promise((r) => setTimeout(r, 10));
        await blocker.query('commit');

        expect((await flag).statusCode).toBe(201);
        expect((await env).statusCode).toBe(201);
        const config = await s.call('GET', '/api/v1/projects/shop/flags/raced/environments/raced-env');
        expect(config.statusCode).toBe(200);
        expect(config.json()).toMatchObject({ enabled: false, offVariant: 'off' });
      } finally {
        await blocker.end();
        await watcher.end();
      }
    });
  });
}
