import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, openPglite } from './db/database.js';
import { type SeededCredentials, seedIfEmpty } from './seed.js';
import { buildServer } from './server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-embedded-'));
const FIRST_TOKEN = 'sy_admin_embedded-first-start-token-0001';

interface Embedded {
  database: Database;
  app: FastifyInstance;
  seeded: SeededCredentials | undefined;
}

/** What `pnpm start` does without DATABASE_URL, minus `listen`. */
async function start(adminToken: string): Promise<Embedded> {
  const database = await openPglite(dataDir);
  await database.migrate();
  const seeded = await seedIfEmpty(database.db, { adminToken });
  const app = await buildServer({ database, logger: false });
  return { database, app, seeded };
}

async function stop(e: Embedded): Promise<void> {
  await e.app.close();
  await e.database.close();
}

function call(e: Embedded, method: string, url: string, token: string, body?: unknown) {
  return e.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

// PGlite is Postgres compiled to WebAssembly: creating, migrating and seeding a fresh data
// directory is CPU-bound, and took 20–34 s on a 2-core machine at a load average of 10–14,
// before and after the write-path change alike. The test proves behaviour, not speed.
describe('the embedded server', { timeout: 90_000 }, () => {
  const config = '/api/v1/projects/demo/flags/survivor/environments/production';
  let before: { config: unknown; environments: unknown; auditIds: number[]; keys: unknown };

  it('seeds a demo project with the given admin token on first start, and takes writes', async () => {
    const e = await start(FIRST_TOKEN);
    try {
      expect(e.seeded?.adminToken).toBe(FIRST_TOKEN);
      expect(e.seeded?.sdkKeys.map((k) => k.environment)).toEqual(['development', 'production']);
      const flags = await call(e, 'GET', '/api/v1/projects/demo/flags', FIRST_TOKEN);
      expect(flags.json().items.map((f: { key: string }) => f.key)).toEqual(['new-checkout']);

      const created = await call(e, 'POST', '/api/v1/projects/demo/flags', FIRST_TOKEN, {
        key: 'survivor',
        name: 'Survivor',
        type: 'boolean',
      });
      expect(created.statusCode).toBe(201);
      const configured = await call(e, 'PATCH', config, FIRST_TOKEN, {
        enabled: true,
        rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } }],
        defaultServe: { variant: 'off' },
      });
      expect(configured.statusCode).toBe(200);

      before = {
        config: (await call(e, 'GET', config, FIRST_TOKEN)).json(),
        environments: (await call(e, 'GET', '/api/v1/projects/demo/environments', FIRST_TOKEN)).json(),
        auditIds: (await call(e, 'GET', '/api/v1/audit?limit=500', FIRST_TOKEN))
          .json()
          .items.map((i: { id: number }) => i.id),
        keys: withoutLastUse((await call(e, 'GET', '/api/v1/keys', FIRST_TOKEN)).json()),
      };
      expect(before.auditIds.length).toBeGreaterThan(0);
    } finally {
      await stop(e);
    }
  });

  it('keeps its data across a restart on the same data directory, and does not seed again', async () => {
    const e = await start('sy_admin_embedded-second-start-token-0002');
    try {
      expect(e.seeded).toBeUndefined();
      expect((await call(e, 'GET', config, FIRST_TOKEN)).json()).toEqual(before.config);
      expect((await call(e, 'GET', '/api/v1/projects/demo/environments', FIRST_TOKEN)).json()).toEqual(
        before.environments,
      );
      expect(withoutLastUse((await call(e, 'GET', '/api/v1/keys', FIRST_TOKEN)).json())).toEqual(before.keys);
      const audit = (await call(e, 'GET', '/api/v1/audit?limit=500', FIRST_TOKEN)).json();
      expect(audit.items.map((i: { id: number }) => i.id)).toEqual(before.auditIds);
      const flags = (await call(e, 'GET', '/api/v1/projects/demo/flags', FIRST_TOKEN)).json();
      expect(flags.items.map((f: { key: string }) => f.key)).toEqual(['new-checkout', 'survivor']);
      const projects = (await call(e, 'GET', '/api/v1/projects', FIRST_TOKEN)).json();
      expect(projects.items.map((p: { key: string }) => p.key)).toEqual(['demo']);
    } finally {
      await stop(e);
    }
  });

  it('ignores a different admin token on a later start: only the first one was seeded', async () => {
    const e = await start('sy_admin_embedded-third-start-token-00003');
    try {
      const res = await call(e, 'GET', '/api/v1/projects', 'sy_admin_embedded-third-start-token-00003');
      expect(res.statusCode).toBe(401);
      const next = await call(e, 'PATCH', config, FIRST_TOKEN, { enabled: false });
      expect(next.statusCode).toBe(200);
      expect(next.json().version).toBe((before.config as { version: number }).version + 1);
    } finally {
      await stop(e);
    }
  });
});

/** The key list without `lastUsedAt`, which the requests of the test itself move. */
function withoutLastUse(list: { items: Record<string, unknown>[] }) {
  return list.items.map(({ lastUsedAt: _, ...key }) => key);
}
