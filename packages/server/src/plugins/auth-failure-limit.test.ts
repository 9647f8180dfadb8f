import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeFeed } from '../features/changes/change-feed.js';
import { createKey } from '../features/keys/service.js';
import { buildServer } from '../server.js';
import { createTestDatabase, type TestDatabase } from '../test-support/database.js';
import { SYSTEM } from '../test-support/server.js';
import { AuthFailureLimit, addressKey } from './auth-failure-limit.js';

describe('AuthFailureLimit', () => {
  it('refuses an address for the rest of the minute once it reached its budget, then forgets it', () => {
    let now = 1_000_000;
    const limit = new AuthFailureLimit(3, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limit.retryAfterSeconds('10.0.0.1')).toBe(0);
      limit.recordFailure('10.0.0.1');
    }
    now += 20_500;
    expect(limit.retryAfterSeconds('10.0.0.1')).toBe(40);
    expect(limit.retryAfterSeconds('10.0.0.2')).toBe(0);
    now += 39_500;
    expect(limit.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('keeps its windows on the minute it started with, however long it was idle', () => {
    let now = 0;
    const limit = new AuthFailureLimit(1, () => now);
    now = 150_000;
    limit.recordFailure('10.0.0.1');
    now = 179_999;
    expect(limit.retryAfterSeconds('10.0.0.1')).toBe(1);
    now = 180_000;
    expect(limit.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('counts an IPv6 host by its /64 and an IPv4 one by its address', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('::ffff:192.0.2.7');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:DB8:0000:0001:ffff:0:0:2')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    const limit = new AuthFailureLimit(2, () => 0);
    limit.recordFailure('2001:db8:0:1::1');
    limit.recordFailure('2001:db8:0:1::2');
    expect(limit.retryAfterSeconds('2001:db8:0:1:ffff::3')).toBe(60);
    expect(limit.retryAfterSeconds('2001:db8:0:2::1')).toBe(0);
  });
});

const DATABASE_URL = process.env.DATABASE_URL;

describe.runIf(DATABASE_URL)('failed authentications over HTTP', () => {
  let testDb: TestDatabase;
  let app: FastifyInstance;
  let base = '';
  let adminToken = '';

  beforeAll(async () => {
    testDb = await createTestDatabase();
    // `X-Forwarded-For` stands in for distinct client addresses: every request here comes from 127.0.0.1.
    app = await buildServer({ database: testDb.database, logger: false, authFailuresPerMinute: 5, trustProxy: true });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    adminToken = (
      await createKey({ db: testDb.database.db, feed: new ChangeFeed() }, SYSTEM, { name: 'a', type: 'admin' })
    ).token;
  });

  afterAll(async () => {
    await app?.close();
    await testDb?.drop();
  });

  const get = (path: string, from: string, token: string) =>
    fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': from } });

  it('answers 429 with Retry-After to an address past its budget, on every route, whatever it sends', async () => {
    const from = '198.51.100.1';
    for (let i = 0; i < 3; i++) expect((await get('/api/v1/projects', from, 'sy_admin_guess')).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await get('/sdk/v1/ruleset', from, 'sy_server_guess')).status).toBe(401);

    const refused = await get('/api/v1/projects', from, adminToken);
    expect(refused.status).toBe(429);
    const seconds = Number(refused.headers.get('retry-after'));
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    expect(await refused.json()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.stringContaining('too many failed'),
        details: { retryAfterSeconds: seconds },
      },
    });
    expect((await get('/sdk/v1/ruleset', from, 'sy_server_guess')).status).toBe(429);
    expect((await fetch(`${base}/healthz`, { headers: { 'x-forwarded-for': from } })).status).toBe(200);
  });

  it('leaves other addresses alone and does not count successes', async () => {
    const from = '198.51.100.2';
    for (let i = 0; i < 20; i++) expect((await get('/api/v1/projects', from, adminToken)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await get('/api/v1/projects', from, 'sy_admin_guess')).status).toBe(401);
    expect((await get('/api/v1/projects', from, adminToken)).status).toBe(200);
    expect((await get('/api/v1/projects', '198.51.100.3', adminToken)).status).toBe(200);
  });
});
