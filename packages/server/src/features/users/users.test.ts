import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../auth/permissions.js';
import { createPerson, PASSWORD, type SignedIn, signIn } from '../../test-support/people.js';
import { expectRefusal } from '../../test-support/refusal.js';
import { listRoutes, WRITE_METHODS } from '../../test-support/routes.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { queryRows } from '../../test-support/snapshot.js';
import { verifyPassword } from './password.js';

let s: TestServer;
const p = '/api/v1/projects/roles';
let viewer: SignedIn;
let editor: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  s = await startTestServer({ webhooks: { dispatch: false }, plans: { intervalMs: 3_600_000 } });
  for (const key of ['roles', 'other']) await s.ok('POST', '/api/v1/projects', { key, name: key });
  await s.ok('POST', `${p}/environments`, { key: 'production', name: 'Production' });
  await s.ok('POST', `${p}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean' });
  await createPerson(s, 'viewer@example.com', { project: 'roles', role: 'viewer' });
  await createPerson(s, 'editor@example.com', { project: 'roles', role: 'editor' });
  await createPerson(s, 'admin@example.com', { project: 'roles', role: 'admin' });
  viewer = await signIn(s, 'viewer@example.com');
  editor = await signIn(s, 'editor@example.com');
  admin = await signIn(s, 'admin@example.com');
});

afterAll(async () => {
  await s?.close();
});

/** Every management route, with its parameters filled in with values of the `roles` project. */
function concreteRoutes() {
  const values: Record<string, string> = {
    project: 'roles',
    env: 'production',
    flag: 'checkout',
    segment: 'beta',
    metric: 'buys',
    id: '00000000-0000-4000-8000-000000000000',
    user: '00000000-0000-4000-8000-000000000000',
    webhook: '00000000-0000-4000-8000-000000000000',
    delivery: '00000000-0000-4000-8000-000000000000',
  };
  return listRoutes(s.app)
    .filter((r) => r.path.startsWith('/api/v1') && r.method !== 'HEAD')
    .map((r) => ({
      route: `${r.method} ${r.path}`,
      method: r.method,
      url: r.path.replace(/:(\w+)/g, (_, name: string) => values[name] ?? 'x'),
      permission: PERMISSIONS[`${r.method} ${r.path}`],
    }));
}

describe('the permission table', () => {
  it('has an entry for every management route Fastify registered, and none for a route that does not exist', () => {
    const routes = concreteRoutes();
    expect(routes.filter((r) => r.permission === undefined).map((r) => r.route)).toEqual([]);
    expect(Object.keys(PERMISSIONS).sort()).toEqual(routes.map((r) => r.route).sort());
  });
});

describe('signing in', () => {
  it('answers a session cookie that scripts cannot read and that is not sent on cross-site writes, and a CSRF token', async () => {
    const res = await s.call(
      'POST',
      '/api/v1/session',
      { email: 'viewer@example.com', password: PASSWORD },
      { token: null },
    );
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^sy_session=sy_session_[\w-]{43}; /);
    expect(cookie.split('; ').slice(1)).toEqual(['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${7 * 24 * 3600}`]);
    expect(res.json()).toEqual({
      user: {
        id: expect.any(String),
        email: 'viewer@example.com',
        owner: false,
        disabledAt: null,
        mustChangePassword: false,
        createdAt: expect.any(String),
      },
      csrfToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      expiresAt: expect.any(String),
    });
  });

  it('marks the cookie Secure when the request came over https through a trusted proxy', async () => {
    const behindProxy = await startTestServer({ trustProxy: true });
    try {
      await behindProxy.ok('POST', '/api/v1/users', { email: 'tls@example.com', password: PASSWORD });
      const res = await behindProxy.call(
        'POST',
        '/api/v1/session',
        { email: 'tls@example.com', password: PASSWORD },
        { token: null, headers: { 'x-forwarded-proto': 'https' } },
      );
      expect(String(res.headers['set-cookie'])).toMatch(/; Secure$/);
    } finally {
      await behindProxy.close();
    }
  });

  it('takes the email in any case and with spaces around it', async () => {
    const session = await signIn(s, '  Editor@EXAMPLE.com ');
    expect(session.email).toBe('editor@example.com');
  });

  it('refuses a wrong password and an unknown email alike with 401, writing nothing', async () => {
    const wrong = await expectRefusal(
      s,
      () =>
        s.call(
          'POST',
          '/api/v1/session',
          { email: 'viewer@example.com', password: 'not the password' },
          { token: null },
        ),
      { status: 401, code: 'UNAUTHORIZED' },
    );
    const unknown = await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/session', { email: 'nobody@example.com', password: PASSWORD }, { token: null }),
      { status: 401, code: 'UNAUTHORIZED' },
    );
    expect(unknown.message).toBe(wrong.message);
  });

  it('is rate-limited per address: past the failure budget even the right password is answered 429', async () => {
    const limited = await startTestServer({ authFailuresPerMinute: 3 });
    try {
      await limited.ok('POST', '/api/v1/users', { email: 'target@example.com', password: PASSWORD });
      const attempt = (password: string) =>
        limited.call('POST', '/api/v1/session', { email: 'target@example.com', password }, { token: null });
      for (const guess of ['guess one!', 'guess two!', 'guess three!'])
        expect((await attempt(guess)).statusCode).toBe(401);
      const res = await attempt(PASSWORD);
      expect(res.statusCode).toBe(429);
      expect(res.json().error.code).toBe('RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('never adopts the session id the browser brought: a planted cookie is not the session, and an old one ends', async () => {
    const planted = 'sy_session=sy_session_planted-by-an-attacker-0123456789abcdefghijk';
    const old = await signIn(s, 'viewer@example.com');
    for (const brought of [planted, old.cookie]) {
      const res = await s.call(
        'POST',
        '/api/v1/session',
        { email: 'viewer@example.com', password: PASSWORD },
        { token: null, headers: { cookie: brought } },
      );
      const issued = String(res.headers['set-cookie']).split(';')[0];
      expect(issued).not.toBe(brought);
      const me = await s.call('GET', '/api/v1/me', undefined, { token: null, headers: { cookie: brought } });
      expect(me.statusCode).toBe(401);
      const fresh = await s.call('GET', '/api/v1/me', undefined, {
        token: null,
        headers: { cookie: issued as string },
      });
      expect(fresh.json().user.email).toBe('viewer@example.com');
    }
  });

  it('stores only a hash of the session secret', async () => {
    const session = await signIn(s, 'viewer@example.com');
    const secret = session.cookie.split('=')[1] as string;
    const rows = await queryRows<{ token_hash: string }>(s.testDb.database.db, sql`select token_hash from sessions`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.token_hash.includes(secret) || secret.includes(r.token_hash))).toBe(false);
  });

  it('ends a session at sign-out, after its idle time, and at its absolute expiry', async () => {
    const me = (session: SignedIn) => s.call('GET', '/api/v1/me', undefined, session.as());
    const out = await signIn(s, 'viewer@example.com');
    expect((await me(out)).statusCode).toBe(200);
    const res = await s.call('DELETE', '/api/v1/session', undefined, out.as());
    expect(res.statusCode).toBe(204);
    expect(String(res.headers['set-cookie'])).toMatch(/^sy_session=; .*Max-Age=0/);
    expect((await me(out)).statusCode).toBe(401);

    const db = s.testDb.database.db;
    const hashOf = (session: SignedIn) =>
      createHash('sha256').update(session.cookie.slice('sy_session='.length)).digest('hex');
    const idle = await signIn(s, 'viewer@example.com');
    await db.execute(
      sql`update sessions set last_seen_at = now() - interval '13 hours' where token_hash = ${hashOf(idle)}`,
    );
    expect((await me(idle)).statusCode).toBe(401);
    const old = await signIn(s, 'viewer@example.com');
    await db.execute(
      sql`update sessions set expires_at = now() - interval '1 second' where token_hash = ${hashOf(old)}`,
    );
    expect((await me(old)).statusCode).toBe(401);
  });

  it('GET /me tells who is signed in, their roles and the CSRF token', async () => {
    const me = await s.ok('GET', '/api/v1/me', undefined, editor.as());
    expect(me).toEqual({
      id: `user:${editor.userId}`,
      name: 'editor@example.com',
      via: 'session',
      user: expect.objectContaining({ email: 'editor@example.com', owner: false }),
      projects: [{ key: 'roles', name: 'roles', role: 'editor' }],
      csrfToken: editor.csrfToken,
    });
  });
});

describe('CSRF', () => {
  const flag = (key: string) => ({ key, name: key, type: 'boolean' });

  it("refuses a cookie-authenticated write without the token, or with another session's, with 403 CSRF", async () => {
    for (const headers of [{ cookie: editor.cookie }, { cookie: editor.cookie, 'x-csrf-token': viewer.csrfToken }]) {
      await expectRefusal(s, () => s.call('POST', `${p}/flags`, flag('csrf-refused'), { token: null, headers }), {
        status: 403,
        code: 'CSRF',
      });
    }
  });

  it('accepts the write with the token, and bearer-authenticated writes need none', async () => {
    expect((await s.call('POST', `${p}/flags`, flag('csrf-ok'), editor.as())).statusCode).toBe(201);
    expect((await s.call('POST', `${p}/flags`, flag('bearer-ok'))).statusCode).toBe(201);
  });
});

describe('roles', () => {
  const writes = () => concreteRoutes().filter((r) => WRITE_METHODS.includes(r.method));
  const guarded = (...permissions: string[]) => writes().filter((r) => permissions.includes(r.permission as string));

  it('leave open to every signed-in person only signing in and out, their password and their tokens', () => {
    const open = writes().filter((r) => !['editor', 'admin', 'owner'].includes(r.permission as string));
    expect(open.map((r) => `${r.route} (${r.permission})`).sort()).toEqual([
      'DELETE /api/v1/session (public)',
      'POST /api/v1/session (public)',
      'POST /api/v1/tokens (person)',
      'POST /api/v1/tokens/:id/revoke (person)',
      'PUT /api/v1/me/password (person)',
    ]);
  });

  it('refuse a viewer every write route, with 403 and nothing written', async () => {
    const routes = guarded('editor', 'admin', 'owner');
    expect(routes.length).toBeGreaterThan(40);
    for (const r of routes) {
      await expectRefusal(s, () => s.call(r.method, r.url, {}, viewer.as()), { status: 403, code: 'FORBIDDEN' });
    }
  });

  it('refuse an editor every admin and owner route, with 403 and nothing written', async () => {
    const routes = concreteRoutes().filter((r) => r.permission === 'admin' || r.permission === 'owner');
    expect(routes.length).toBeGreaterThan(20);
    for (const r of routes) {
      await expectRefusal(s, () => s.call(r.method, r.url, {}, editor.as()), { status: 403, code: 'FORBIDDEN' });
    }
  });

  it('refuse a project admin the owner routes, and everyone a project they have no role in', async () => {
    for (const r of concreteRoutes().filter((x) => x.permission === 'owner')) {
      await expectRefusal(s, () => s.call(r.method, r.url, {}, admin.as()), { status: 403, code: 'FORBIDDEN' });
    }
    for (const url of ['/api/v1/projects/other', '/api/v1/projects/other/flags', '/api/v1/projects/missing']) {
      await expectRefusal(s, () => s.call('GET', url, undefined, admin.as()), { status: 403, code: 'FORBIDDEN' });
    }
  });

  it('let a viewer read, an editor change flags, an admin manage environments and keys', async () => {
    expect((await s.call('GET', `${p}/flags/checkout`, undefined, viewer.as())).statusCode).toBe(200);
    const kill = await s.call(
      'POST',
      `${p}/flags/checkout/environments/production/kill`,
      { reason: 'test' },
      editor.as(),
    );
    expect(kill.statusCode, kill.body).toBe(200);
    const env = await s.call('POST', `${p}/environments`, { key: 'qa', name: 'QA' }, admin.as());
    expect(env.statusCode, env.body).toBe(201);
    const key = await s.call(
      'POST',
      '/api/v1/keys',
      { name: 'qa', type: 'server', project: 'roles', environment: 'qa' },
      admin.as(),
    );
    expect(key.statusCode, key.body).toBe(201);
  });

  it('show each person only the projects, keys and audit entries of projects they have a role in', async () => {
    const projects = await s.ok('GET', '/api/v1/projects', undefined, viewer.as());
    expect(projects.items.map((x: { key: string }) => x.key)).toEqual(['roles']);
    const keys = await s.ok('GET', '/api/v1/keys', undefined, admin.as());
    expect(keys.items.every((k: { project: string }) => k.project === 'roles')).toBe(true);
    await expectRefusal(s, () => s.call('GET', '/api/v1/keys', undefined, editor.as()), {
      status: 403,
      code: 'FORBIDDEN',
    });
    await s.ok('PATCH', '/api/v1/projects/other', { name: 'Other, renamed' });
    const audit = await s.ok('GET', '/api/v1/audit?limit=500', undefined, viewer.as());
    expect(audit.items.length).toBeGreaterThan(0);
    expect(audit.items.some((e: { targetKey: string }) => e.targetKey === 'other')).toBe(false);
  });
});

describe('members', () => {
  it('are added, changed and removed by a project admin, each change taking effect at the next request', async () => {
    const id = await createPerson(s, 'member@example.com');
    const member = await signIn(s, 'member@example.com');
    const flagRead = () => s.call('GET', `${p}/flags`, undefined, member.as());
    expect((await flagRead()).statusCode).toBe(403);

    const added = await s.call('POST', `${p}/members`, { email: ' Member@Example.com', role: 'viewer' }, admin.as());
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({ userId: id, email: 'member@example.com', role: 'viewer' });
    expect((await flagRead()).statusCode).toBe(200);
    await expectRefusal(
      s,
      () => s.call('POST', `${p}/members`, { email: 'member@example.com', role: 'admin' }, admin.as()),
      {
        status: 409,
        code: 'CONFLICT',
      },
    );
    await expectRefusal(
      s,
      () => s.call('POST', `${p}/members`, { email: 'ghost@example.com', role: 'viewer' }, admin.as()),
      {
        status: 404,
        code: 'NOT_FOUND',
      },
    );

    const create = () => s.call('POST', `${p}/flags`, { key: 'by-member', name: 'M', type: 'boolean' }, member.as());
    expect((await create()).statusCode).toBe(403);
    await s.ok('PATCH', `${p}/members/${id}`, { role: 'editor' }, admin.as());
    expect((await create()).statusCode).toBe(201);

    const list = await s.ok('GET', `${p}/members`, undefined, viewer.as());
    expect(list.items.map((m: { email: string; role: string }) => `${m.email}:${m.role}`)).toContain(
      'member@example.com:editor',
    );

    expect((await s.call('DELETE', `${p}/members/${id}`, undefined, admin.as())).statusCode).toBe(204);
    expect((await flagRead()).statusCode).toBe(403);
  });
});

describe('personal tokens', () => {
  it("are shown once, listed without the secret, act with their owner's roles of the moment, and stop at revocation", async () => {
    const id = await createPerson(s, 'scripter@example.com', { project: 'roles', role: 'viewer' });
    const person = await signIn(s, 'scripter@example.com');
    const created = await s.call('POST', '/api/v1/tokens', { name: 'deploy script' }, person.as());
    expect(created.statusCode, created.body).toBe(201);
    const { token, id: tokenId } = created.json();
    expect(token).toMatch(/^sy_pat_[\w-]{32}$/);
    const listed = await s.ok('GET', '/api/v1/tokens', undefined, person.as());
    expect(listed.items).toEqual([expect.objectContaining({ id: tokenId, name: 'deploy script', revokedAt: null })]);
    expect(JSON.stringify(listed)).not.toContain(token);

    const write = () => s.call('POST', `${p}/flags`, { key: 'by-token', name: 'T', type: 'boolean' }, { token });
    expect((await s.call('GET', `${p}/flags`, undefined, { token })).statusCode).toBe(200);
    await expectRefusal(s, write, { status: 403, code: 'FORBIDDEN' });
    await expectRefusal(s, () => s.call('GET', '/api/v1/projects/other', undefined, { token }), {
      status: 403,
      code: 'FORBIDDEN',
    });
    await s.ok('PATCH', `${p}/members/${id}`, { role: 'editor' }, admin.as());
    expect((await write()).statusCode).toBe(201);

    // A token cannot make another, and keys have no person to make one for.
    await expectRefusal(s, () => s.call('POST', '/api/v1/tokens', { name: 'child' }, { token }), {
      status: 403,
      code: 'FORBIDDEN',
    });
    await expectRefusal(s, () => s.call('POST', '/api/v1/tokens', { name: 'key' }), { status: 403, code: 'FORBIDDEN' });

    const revoked = await s.call('POST', `/api/v1/tokens/${tokenId}/revoke`, undefined, person.as());
    expect(revoked.json().revokedAt).not.toBeNull();
    await expectRefusal(s, () => s.call('GET', `${p}/flags`, undefined, { token }), {
      status: 401,
      code: 'UNAUTHORIZED',
    });
  });

  it('of one person cannot be revoked by another', async () => {
    const created = await s.ok('POST', '/api/v1/tokens', { name: 'mine' }, viewer.as());
    await expectRefusal(s, () => s.call('POST', `/api/v1/tokens/${created.id}/revoke`, undefined, editor.as()), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });
});

describe('the audit log', () => {
  it('names the person, the personal token or the key that made each change', async () => {
    const token = (await s.ok('POST', '/api/v1/tokens', { name: 'audit script' }, editor.as())).token;
    await s.ok('PATCH', `${p}/flags/checkout`, { description: 'by session' }, editor.as());
    await s.ok('PATCH', `${p}/flags/checkout`, { description: 'by token' }, { token });
    await s.ok('PATCH', `${p}/flags/checkout`, { description: 'by key' });
    const { items } = await s.ok('GET', '/api/v1/audit?project=roles&action=flag.update&limit=3');
    const [byKey, byToken, bySession] = items;
    expect(bySession).toMatchObject({ actor: 'editor@example.com', actorId: `user:${editor.userId}` });
    expect(byToken).toMatchObject({
      actor: 'editor@example.com (token "audit script")',
      actorId: expect.stringMatching(/^token:/),
    });
    expect(byKey).toMatchObject({ actor: 'test admin', actorId: expect.stringMatching(/^key:/) });
    const mine = await s.ok('GET', `/api/v1/audit?actorId=user:${editor.userId}`, undefined, viewer.as());
    expect(mine.items.length).toBeGreaterThan(0);
  });
});

describe('passwords', () => {
  it('are stored as scrypt hashes with their parameters, and changed only with the current one, signing the person out of every other session', async () => {
    const [row] = await queryRows<{ password_hash: string }>(
      s.testDb.database.db,
      sql`select password_hash from users where email = 'viewer@example.com'`,
    );
    expect(row?.password_hash).toMatch(/^scrypt\$32768\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword(PASSWORD, row?.password_hash as string)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, row?.password_hash as string)).toBe(false);

    await createPerson(s, 'changer@example.com');
    const person = await signIn(s, 'changer@example.com');
    const elsewhere = await signIn(s, 'changer@example.com');
    await expectRefusal(
      s,
      () =>
        s.call(
          'PUT',
          '/api/v1/me/password',
          { currentPassword: 'wrong one', newPassword: 'a brand new passphrase' },
          person.as(),
        ),
      { status: 403, code: 'FORBIDDEN', field: 'currentPassword' },
    );
    const res = await s.call(
      'PUT',
      '/api/v1/me/password',
      { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
      person.as(),
    );
    expect(res.statusCode, res.body).toBe(204);
    expect((await s.call('GET', '/api/v1/me', undefined, person.as())).statusCode).toBe(200);
    expect((await s.call('GET', '/api/v1/me', undefined, elsewhere.as())).statusCode).toBe(401);
    await expect(signIn(s, 'changer@example.com')).rejects.toThrow(/401/);
    await signIn(s, 'changer@example.com', 'a brand new passphrase');
  });

  it('are never answered, in any form', async () => {
    const created = await s.call('POST', '/api/v1/users', { email: 'answered@example.com', password: PASSWORD });
    const listed = await s.call('GET', '/api/v1/users');
    const signedIn = await s.call(
      'POST',
      '/api/v1/session',
      { email: 'answered@example.com', password: PASSWORD },
      { token: null },
    );
    const id = created.json().id;
    const disabled = await s.call('POST', `/api/v1/users/${id}/disable`);
    const enabled = await s.call('POST', `/api/v1/users/${id}/enable`);
    const deleted = await s.call('DELETE', `/api/v1/users/${id}`);
    const audit = await s.call('GET', '/api/v1/audit?targetKind=user&limit=500');
    for (const res of [created, listed, signedIn, disabled, enabled, deleted, audit]) {
      expect(res.statusCode, res.body).toBeLessThan(300);
      expect(res.body).not.toContain(PASSWORD);
      expect(res.body).not.toContain('scrypt');
      expect(res.body).not.toMatch(/"password(hash)?"\s*:/i);
    }
  });

  it('refuse a short new password naming the field, and a duplicate email with 409', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/users', { email: 'short@example.com', password: 'short' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'password',
    });
    await expectRefusal(s, () => s.call('POST', '/api/v1/users', { email: 'VIEWER@example.com', password: PASSWORD }), {
      status: 409,
      code: 'CONFLICT',
      field: 'email',
    });
  });
});
