import { expect } from 'vitest';
import type { ServerProcess } from './server-process.js';

export const METRICS_TOKEN = 'faults-metrics-token-0123456789abcdef';

/**
 * Postgres waits for tests whose fault is elsewhere: the defaults (500 ms to connect, 1.2 s a
 * statement) are for a Postgres that hangs, and a shared 2-core machine under load can pass them
 * with a healthy one, turning into a 503 (or a failed start) what the test is not about.
 */
export const PATIENT_POSTGRES = {
  SWITCHYARD_DB_CONNECT_TIMEOUT_MS: '5000',
  SWITCHYARD_DB_ACQUIRE_TIMEOUT_MS: '10000',
  SWITCHYARD_DB_STATEMENT_TIMEOUT_MS: '10000',
  SWITCHYARD_DB_QUERY_TIMEOUT_MS: '12000',
};

/**
 * Every answer a test got from a server, checked as it comes: a 5xx fails the test at once, with
 * the request that got it. Management and SDK calls alike go through here.
 */
export async function call(
  server: ServerProcess,
  method: string,
  path: string,
  body?: unknown,
  token?: string | null,
): Promise<Response> {
  const res = await server.call(method, path, body, token);
  if (res.status >= 500) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}\n${server.output()}`);
  return res;
}

/** A call that must succeed; its JSON body (empty for 204). */
export async function ok(server: ServerProcess, method: string, path: string, body?: unknown) {
  const res = await call(server, method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
}

/** The server's Prometheus text (the process must run with `SWITCHYARD_METRICS_TOKEN` = {@link METRICS_TOKEN}). */
export async function metrics(server: ServerProcess): Promise<string> {
  return (await call(server, 'GET', '/metrics', undefined, METRICS_TOKEN)).text();
}

/** The sum of a metric's samples whose labels contain every `label="value"` of `labels`. */
export function sample(text: string, name: string, labels: Record<string, string | RegExp> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const matches = Object.entries(labels).every(([k, v]) => {
      const value = new RegExp(`(?:^|,)${k}="([^"]*)"`).exec(labelText)?.[1];
      return value !== undefined && (typeof v === 'string' ? value === v : v.test(value));
    });
    if (matches) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Fails unless the server's own request metrics hold no 5xx answer, whoever the client was. */
export async function expectNo5xx(server: ServerProcess): Promise<void> {
  const text = await metrics(server);
  expect(sample(text, 'switchyard_http_request_duration_seconds_count', { status_code: /^5/ })).toBe(0);
}

/** A project `shop` with environment `prod`, `count` boolean flags `f0…` and a server key; returns the key. */
export async function seedShop(server: ServerProcess, count: number): Promise<string> {
  await ok(server, 'POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await ok(server, 'POST', '/api/v1/projects/shop/environments', { key: 'prod', name: 'Production' });
  for (let i = 0; i < count; i++) {
    await ok(server, 'POST', '/api/v1/projects/shop/flags', { key: `f${i}`, name: `F${i}`, type: 'boolean' });
  }
  const key = await ok(server, 'POST', '/api/v1/keys', {
    name: 'sdk',
    type: 'server',
    project: 'shop',
    environment: 'prod',
  });
  return key.token as string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` until it holds; fails with `what` after `timeoutMs`. A wait, not a timing assertion. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}
