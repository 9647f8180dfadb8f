import type { FlagType, JsonValue } from '@switchyard/core';
import { findEnvironment } from '../../packages/server/src/features/environments/store.js';
import { findProject } from '../../packages/server/src/features/projects/store.js';
import type { BuildOptions, DeliverySettings } from '../../packages/server/src/server.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

/** A flag server on a real socket and its own database, counting the SDK requests it receives. */
export interface LiveServer {
  s: TestServer;
  url: string;
  port: number;
  /** Every request received, by path without query (`/sdk/v1/stream`, …). */
  requests: string[];
  count(path: string): number;
  ok(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** A server key for project `web`, environment `prod`. */
  key(type?: 'server' | 'client'): Promise<{ id: string; token: string }>;
  environmentId(): Promise<string>;
}

/** Test settings: streams are told to retry at once, heartbeats are frequent, revoked keys are found fast. */
export const FAST_DELIVERY: Partial<DeliverySettings> = {
  heartbeatIntervalMs: 200,
  retryMs: 20,
  reconcileIntervalMs: 200,
};

export async function startLiveServer(options: Omit<BuildOptions, 'database'> = {}): Promise<LiveServer> {
  const s = await startTestServer({ delivery: FAST_DELIVERY, ...options });
  const requests: string[] = [];
  // The raw server's own event sees every request, whatever Fastify plugin answers it.
  s.app.server.on('request', (req: { url?: string }) => requests.push((req.url ?? '').split('?')[0] ?? ''));
  const url = await s.app.listen({ port: 0, host: '127.0.0.1' });
  const live: LiveServer = {
    s,
    url,
    port: Number(new URL(url).port),
    requests,
    count: (path) => requests.filter((r) => r === path).length,
    async ok(method, path, body) {
      const res = await s.call(method, path, body);
      if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
      return res.statusCode === 204 ? {} : res.json();
    },
    async key(type = 'server') {
      const k = await live.ok('POST', '/api/v1/keys', {
        name: `${type} key`,
        type,
        project: 'web',
        environment: 'prod',
      });
      return { id: k.id as string, token: k.token as string };
    },
    async environmentId() {
      const db = s.testDb.database.db;
      const project = await findProject(db, 'web');
      const env = await findEnvironment(db, project?.id ?? '', 'prod');
      if (env === undefined) throw new Error('no environment web/prod');
      return env.id;
    },
  };
  await live.ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
  await live.ok('POST', '/api/v1/projects/web/environments', { key: 'prod', name: 'Production' });
  return live;
}

export const API = '/api/v1/projects/web';

export async function createFlag(
  live: LiveServer,
  key: string,
  config: Record<string, unknown>,
  type: FlagType = 'boolean',
  variants?: { key: string; value: JsonValue }[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  await live.ok('POST', `${API}/flags`, { key, name: key, type, ...(variants ? { variants } : {}), ...extra });
  await live.ok('PUT', `${API}/flags/${key}/environments/prod`, config);
}

/** Polls `predicate` until it holds; fails with `what` after `timeoutMs`. A wait, not a timing assertion. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
