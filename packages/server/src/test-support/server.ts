import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ChangeFeed } from '../features/changes/change-feed.js';
import type { Actor } from '../features/changes/commit-change.js';
import { createKey } from '../features/keys/service.js';
import { type BuildOptions, buildServer } from '../server.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const SYSTEM: Actor = {
  principal: { keyId: 'system', name: 'system', type: 'admin', projectId: null, environmentId: null },
  reason: undefined,
};

export interface TestServer {
  app: FastifyInstance;
  testDb: TestDatabase;
  /** An organisation-wide admin token. */
  adminToken: string;
  /** `app.inject` with the admin token unless `token` says otherwise (`null`: no header). */
  call(method: string, url: string, body?: unknown, options?: CallOptions): Promise<LightMyRequestResponse>;
  /** `call` for set-up steps that must succeed: the parsed body, or an error naming the failure. */
  // biome-ignore lint/suspicious/noExplicitAny: set-up code reads whatever the API answered.
  ok(method: string, url: string, body?: unknown, options?: CallOptions): Promise<any>;
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string | null;
  headers?: Record<string, string>;
}

/**
 * Tests of refusals send hundreds of bad credentials from one address; the limit has its own
 * test (plugins/auth-failure-limit.test.ts).
 */
export const UNLIMITED_AUTH_FAILURES = 1_000_000;

/** A server on its own fresh database, with one organisation admin key. */
export async function startTestServer(options: Omit<BuildOptions, 'database'> = {}): Promise<TestServer> {
  const testDb = await createTestDatabase();
  // Last-used times are written when the server closes unless a test asks for more: a flush
  // in the middle of a test would show up as a change in a refusal's database snapshot.
  const keys = { usageFlushMs: 3_600_000, ...options.keys };
  const app = await buildServer({
    logger: false,
    authFailuresPerMinute: UNLIMITED_AUTH_FAILURES,
    ...options,
    keys,
    database: testDb.database,
  });
  const { token: adminToken } = await createKey({ db: testDb.database.db, feed: new ChangeFeed() }, SYSTEM, {
    name: 'test admin',
    type: 'admin',
  });
  const call: TestServer['call'] = (method, url, body, options = {}) => {
    const token = options.token === undefined ? adminToken : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    return app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(body === undefined ? {} : { payload: body as object }),
    });
  };
  return {
    app,
    testDb,
    adminToken,
    call,
    async ok(method, url, body, options) {
      const res = await call(method, url, body, options);
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}
