import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const sdk = { type: 'server', project: 'life', environment: 'prod' };

// Key usage is written in the background. The refusal tests compare database snapshots taken
// around a request, so they run on a server whose usage flush never falls inside that window;
// only the last-used test gets a server that flushes every 100 ms.
let used: TestServer;

async function startWithProject(usageFlushMs?: number): Promise<TestServer> {
  const server = await startTestServer(usageFlushMs === undefined ? {} : { keys: { usageFlushMs } });
  await server.ok('POST', '/api/v1/projects', { key: 'life', name: 'Life' });
  await server.ok('POST', '/api/v1/projects/life/environments', { key: 'prod', name: 'Production' });
  return server;
}

beforeAll(async () => {
  s = await startWithProject();
  used = await startWithProject(100);
});

afterAll(async () => {
  await s?.close();
  await used?.close();
});

const ruleset = (token: string, server = s) => server.call('GET', '/sdk/v1/ruleset', undefined, { token });

async function until(condition: () => Promise<boolean>, limitMs: number): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > limitMs) throw new Error(`not true after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('rotating a key', () => {
  it('answers a new secret; the old one keeps working for the grace period, then stops', async () => {
    const key = await s.ok('POST', '/api/v1/keys', { name: 'rotated', ...sdk });
    expect((await ruleset(key.token)).statusCode).toBe(200);
    const rotated = await s.ok('POST', `/api/v1/keys/${key.id}/rotate`, { graceSeconds: 2 });
    expect(rotated.token).not.toBe(key.token);
    expect(rotated.prefix).toBe(rotated.token.slice(0, 16));
    expect(Date.parse(rotated.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
    expect((await ruleset(rotated.token)).statusCode).toBe(200);
    expect((await ruleset(key.token)).statusCode).toBe(200);
    await until(async () => (await ruleset(key.token)).statusCode === 401, 4000);
    expect((await ruleset(rotated.token)).statusCode).toBe(200);
  });

  it('with a grace period of 0 stops the old secret at once, admin keys too', async () => {
    const key = await s.ok('POST', '/api/v1/keys', { name: 'admin rotated', type: 'admin' });
    expect((await s.call('GET', '/api/v1/projects', undefined, { token: key.token })).statusCode).toBe(200);
    const rotated = await s.ok('POST', `/api/v1/keys/${key.id}/rotate`, { graceSeconds: 0 });
    expect((await s.call('GET', '/api/v1/projects', undefined, { token: key.token })).statusCode).toBe(401);
    expect((await s.call('GET', '/api/v1/projects', undefined, { token: rotated.token })).statusCode).toBe(200);
  });

  it('takes an hour of grace by default and refuses more than a week', async () => {
    const key = await s.ok('POST', '/api/v1/keys', { name: 'default grace', ...sdk });
    const rotated = await s.ok('POST', `/api/v1/keys/${key.id}/rotate`);
    const grace = Date.parse(rotated.previousSecretExpiresAt) - Date.now();
    expect(grace).toBeGreaterThan(3500_000);
    expect(grace).toBeLessThanOrEqual(3600_000);
    await expectRefusal(s, () => s.call('POST', `/api/v1/keys/${key.id}/rotate`, { graceSeconds: 604_801 }), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });

  it('refuses a revoked key with 409', async () => {
    const key = await s.ok('POST', '/api/v1/keys', { name: 'revoked', ...sdk });
    await s.ok('POST', `/api/v1/keys/${key.id}/revoke`);
    await expectRefusal(s, () => s.call('POST', `/api/v1/keys/${key.id}/rotate`, {}), {
      status: 409,
      code: 'CONFLICT',
    });
  });
});

describe('key expiry', () => {
  it('ends a key at its expiresAt', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const key = await s.ok('POST', '/api/v1/keys', { name: 'expiring', expiresAt, ...sdk });
    expect(key.expiresAt).toBe(expiresAt);
    expect((await ruleset(key.token)).statusCode).toBe(200);
    await until(async () => (await ruleset(key.token)).statusCode === 401, 3000);
  });

  it('refuses an expiry in the past, and PATCH moves or clears it with If-Match', async () => {
    await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/keys', { name: 'past', expiresAt: '2001-01-01T00:00:00Z', ...sdk }),
      { status: 400, code: 'VALIDATION_FAILED', field: 'expiresAt' },
    );
    const key = await s.ok('POST', '/api/v1/keys', { name: 'moved', ...sdk });
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const read = await s.call('GET', `/api/v1/keys/${key.id}`);
    const moved = await s.call(
      'PATCH',
      `/api/v1/keys/${key.id}`,
      { expiresAt: later },
      {
        headers: { 'if-match': read.headers.etag as string },
      },
    );
    expect(moved.statusCode).toBe(200);
    expect(moved.json().expiresAt).toBe(later);
    await expectRefusal(
      s,
      () =>
        s.call(
          'PATCH',
          `/api/v1/keys/${key.id}`,
          { expiresAt: null },
          {
            headers: { 'if-match': read.headers.etag as string },
          },
        ),
      { status: 412, code: 'PRECONDITION_FAILED' },
    );
    expect((await s.ok('PATCH', `/api/v1/keys/${key.id}`, { expiresAt: null })).expiresAt).toBeNull();
  });
});

describe('last used', () => {
  it('is empty for a new key and shows in the list once the key is used', async () => {
    const key = await used.ok('POST', '/api/v1/keys', { name: 'used', ...sdk });
    expect(key.lastUsedAt).toBeNull();
    for (let i = 0; i < 20; i++) expect((await ruleset(key.token, used)).statusCode).toBe(200);
    await until(async () => {
      const list = await used.ok('GET', '/api/v1/keys?project=life');
      return list.items.find((k: { id: string }) => k.id === key.id).lastUsedAt !== null;
    }, 3000);
  });
});
