import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerson, type SignedIn, signIn } from '../../test-support/people.js';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
let person: SignedIn;

beforeAll(async () => {
  // Last-used times are flushed often here, so the test sees them without waiting for the close.
  s = await startTestServer({ keys: { usageFlushMs: 50 } });
  await s.ok('POST', '/api/v1/projects', { key: 'scripts', name: 'Scripts' });
  await createPerson(s, 'scripter@example.com', { project: 'scripts', role: 'viewer' });
  person = await signIn(s, 'scripter@example.com');
});

afterAll(async () => {
  await s?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listed(id: string) {
  const { items } = await s.ok('GET', '/api/v1/tokens', undefined, person.as());
  return items.find((t: { id: string }) => t.id === id);
}

describe('a personal token', () => {
  it('with an expiry works until then and is refused after it with 401 TOKEN_EXPIRED', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await s.ok('POST', '/api/v1/tokens', { name: 'short-lived', expiresAt }, person.as());
    expect(created.expiresAt).toBe(expiresAt);
    expect((await listed(created.id)).expiresAt).toBe(expiresAt);
    expect((await s.call('GET', '/api/v1/projects', undefined, { token: created.token })).statusCode).toBe(200);
    await sleep(Date.parse(expiresAt) - Date.now() + 50);
    const res = await s.call('GET', '/api/v1/projects', undefined, { token: created.token });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_EXPIRED');
    expect(res.json().error.message).toContain(expiresAt);
  });

  it('refuses an expiry in the past or without an offset, naming the field', async () => {
    for (const expiresAt of [new Date(Date.now() - 1000).toISOString(), '2099-01-01T00:00:00', 'tomorrow']) {
      await expectRefusal(s, () => s.call('POST', '/api/v1/tokens', { name: 'bad', expiresAt }, person.as()), {
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'expiresAt',
      });
    }
  });

  it('without an expiry lists it as null, and shows when it was last used once it is', async () => {
    const created = await s.ok('POST', '/api/v1/tokens', { name: 'forever' }, person.as());
    expect(created).toMatchObject({ expiresAt: null, lastUsedAt: null });
    expect(await listed(created.id)).toMatchObject({ expiresAt: null, lastUsedAt: null });
    const before = Date.now();
    for (let i = 0; i < 5; i++) {
      expect((await s.call('GET', '/api/v1/projects', undefined, { token: created.token })).statusCode).toBe(200);
    }
    let lastUsedAt: string | null = null;
    for (let waited = 0; lastUsedAt === null && waited < 3000; waited += 50) {
      await sleep(50);
      lastUsedAt = (await listed(created.id)).lastUsedAt;
    }
    expect(lastUsedAt).not.toBeNull();
    expect(Date.parse(lastUsedAt as string)).toBeGreaterThanOrEqual(before - 1000);
  });
});
