import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnerIfNone } from '../../seed.js';
import { createPerson, PASSWORD, type SignedIn, signIn } from '../../test-support/people.js';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
let owner: SignedIn;

beforeAll(async () => {
  s = await startTestServer({ webhooks: { dispatch: false }, plans: { intervalMs: 3_600_000 } });
  await s.ok('POST', '/api/v1/projects', { key: 'life', name: 'Life' });
  await s.ok('POST', '/api/v1/users', {
    email: 'owner@example.com',
    password: PASSWORD,
    owner: true,
    mustChangePassword: false,
  });
  owner = await signIn(s, 'owner@example.com');
});

afterAll(async () => {
  await s?.close();
});

/** A person with a session and a personal token, a viewer of `life`. */
async function personWithToken(email: string) {
  const id = await createPerson(s, email, { project: 'life', role: 'viewer' });
  const session = await signIn(s, email);
  const { token } = await s.ok('POST', '/api/v1/tokens', { name: 'script' }, session.as());
  return { id, session, token: token as string };
}

const asToken = (token: string) => ({ token });

describe('disabling a person', () => {
  it('ends their sessions at once, refuses their token and their sign-in, and enabling lets them back', async () => {
    const p = await personWithToken('leaver@example.com');
    const other = await signIn(s, 'leaver@example.com');
    const disabled = await s.ok('POST', `/api/v1/users/${p.id}/disable`, undefined, owner.as());
    expect(disabled).toMatchObject({ id: p.id, disabledAt: expect.any(String) });

    for (const session of [p.session, other]) {
      expect((await s.call('GET', '/api/v1/projects', undefined, session.as())).statusCode).toBe(401);
    }
    await expectRefusal(s, () => s.call('GET', '/api/v1/projects', undefined, asToken(p.token)), {
      status: 401,
      code: 'USER_DISABLED',
    });
    await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/session', { email: 'leaver@example.com', password: PASSWORD }, { token: null }),
      { status: 401, code: 'USER_DISABLED' },
    );
    // Without the password nobody learns that the account exists and is disabled.
    await expectRefusal(
      s,
      () =>
        s.call('POST', '/api/v1/session', { email: 'leaver@example.com', password: 'not it at all' }, { token: null }),
      { status: 401, code: 'UNAUTHORIZED' },
    );

    const enabled = await s.ok('POST', `/api/v1/users/${p.id}/enable`, undefined, owner.as());
    expect(enabled.disabledAt).toBeNull();
    expect((await s.call('GET', '/api/v1/projects', undefined, asToken(p.token))).statusCode).toBe(200);
    await signIn(s, 'leaver@example.com');

    const audit = await s.ok('GET', `/api/v1/audit?targetKind=user&limit=500`);
    const mine = audit.items.filter((e: { targetKey: string }) => e.targetKey === 'leaver@example.com');
    expect(mine.map((e: { action: string; actor: string }) => [e.action, e.actor]).slice(0, 2)).toEqual([
      ['user.enable', 'owner@example.com'],
      ['user.disable', 'owner@example.com'],
    ]);
  });

  it('changes nothing when the person already is as asked', async () => {
    const id = await createPerson(s, 'twice@example.com');
    await s.ok('POST', `/api/v1/users/${id}/disable`, undefined, owner.as());
    const entries = (await s.ok('GET', '/api/v1/audit?targetKind=user&limit=500')).items.length;
    await s.ok('POST', `/api/v1/users/${id}/disable`, undefined, owner.as());
    await s.ok('POST', `/api/v1/users/${id}/enable`, undefined, owner.as());
    await s.ok('POST', `/api/v1/users/${id}/enable`, undefined, owner.as());
    expect((await s.ok('GET', '/api/v1/audit?targetKind=user&limit=500')).items.length).toBe(entries + 1);
  });

  it('is for the owner alone: a project admin is refused with 403', async () => {
    const id = await createPerson(s, 'target@example.com', { project: 'life', role: 'viewer' });
    await createPerson(s, 'life-admin@example.com', { project: 'life', role: 'admin' });
    const admin = await signIn(s, 'life-admin@example.com');
    for (const [method, url] of [
      ['POST', `/api/v1/users/${id}/disable`],
      ['POST', `/api/v1/users/${id}/enable`],
      ['DELETE', `/api/v1/users/${id}`],
    ] as const) {
      await expectRefusal(s, () => s.call(method, url, undefined, admin.as()), { status: 403, code: 'FORBIDDEN' });
    }
  });

  it('answers 404 for a person who does not exist', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    await expectRefusal(s, () => s.call('POST', `/api/v1/users/${unknown}/disable`, undefined, owner.as()), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });
});

describe('the organisation cannot be locked out', () => {
  it('refuses the owner disabling or deleting themselves with 409 SELF_LOCKOUT', async () => {
    for (const [method, url] of [
      ['POST', `/api/v1/users/${owner.userId}/disable`],
      ['DELETE', `/api/v1/users/${owner.userId}`],
    ] as const) {
      const error = await expectRefusal(s, () => s.call(method, url, undefined, owner.as()), {
        status: 409,
        code: 'SELF_LOCKOUT',
      });
      expect(error.message).toMatch(/your own account/);
    }
  });

  it('refuses disabling or deleting the last enabled owner with 409 LAST_OWNER, and allows it with another owner', async () => {
    for (const [method, url] of [
      ['POST', `/api/v1/users/${owner.userId}/disable`],
      ['DELETE', `/api/v1/users/${owner.userId}`],
    ] as const) {
      const error = await expectRefusal(s, () => s.call(method, url), { status: 409, code: 'LAST_OWNER' });
      expect(error.message).toContain('owner@example.com is the last enabled owner');
    }
    const second = await s.ok('POST', '/api/v1/users', {
      email: 'second-owner@example.com',
      password: PASSWORD,
      owner: true,
      mustChangePassword: false,
    });
    await s.ok('POST', `/api/v1/users/${second.id}/disable`, undefined, owner.as());
    // A disabled owner does not count: the first is the last enabled one again.
    await expectRefusal(s, () => s.call('POST', `/api/v1/users/${owner.userId}/disable`), {
      status: 409,
      code: 'LAST_OWNER',
    });
    await s.ok('POST', `/api/v1/users/${second.id}/enable`, undefined, owner.as());
    await s.ok('POST', `/api/v1/users/${owner.userId}/disable`);
    await s.ok('POST', `/api/v1/users/${owner.userId}/enable`);
    owner = await signIn(s, 'owner@example.com');
    expect((await s.call('DELETE', `/api/v1/users/${second.id}`, undefined, owner.as())).statusCode).toBe(204);
  });
});

describe('deleting a person', () => {
  it('removes them, their sessions, tokens and memberships, and keeps the audit entries they made readable', async () => {
    const p = await personWithToken('gone@example.com');
    await s.ok('PATCH', `/api/v1/projects/life/members/${p.id}`, { role: 'editor' });
    await s.ok(
      'POST',
      '/api/v1/projects/life/flags',
      { key: 'by-gone', name: 'By gone', type: 'boolean' },
      p.session.as(),
    );

    const res = await s.call('DELETE', `/api/v1/users/${p.id}`, undefined, owner.as());
    expect(res.statusCode, res.body).toBe(204);

    expect((await s.call('GET', '/api/v1/projects', undefined, p.session.as())).statusCode).toBe(401);
    expect((await s.call('GET', '/api/v1/projects', undefined, asToken(p.token))).statusCode).toBe(401);
    await expect(signIn(s, 'gone@example.com')).rejects.toThrow(/401/);
    const users = await s.ok('GET', '/api/v1/users');
    expect(users.items.map((u: { email: string }) => u.email)).not.toContain('gone@example.com');
    const members = await s.ok('GET', '/api/v1/projects/life/members');
    expect(members.items.map((m: { email: string }) => m.email)).not.toContain('gone@example.com');

    const audit = await s.ok('GET', '/api/v1/audit?project=life&limit=500');
    const flagCreate = audit.items.find((e: { action: string; targetKey: string }) => e.targetKey === 'by-gone');
    expect(flagCreate).toMatchObject({ action: 'flag.create', actor: 'gone@example.com' });
    const deletion = (await s.ok('GET', '/api/v1/audit?targetKind=user&limit=500')).items[0];
    expect(deletion).toMatchObject({
      action: 'user.delete',
      targetKey: 'gone@example.com',
      actor: 'owner@example.com',
    });
  });
});

describe('a password someone else set', () => {
  it('must be changed at first sign-in: every other call answers 403 PASSWORD_CHANGE_REQUIRED until then', async () => {
    await s.ok('POST', '/api/v1/users', { email: 'newcomer@example.com', password: PASSWORD });
    await s.ok('POST', '/api/v1/projects/life/members', { email: 'newcomer@example.com', role: 'editor' });
    const first = await s.call(
      'POST',
      '/api/v1/session',
      { email: 'newcomer@example.com', password: PASSWORD },
      { token: null },
    );
    expect(first.json().user.mustChangePassword).toBe(true);
    const session = await signIn(s, 'newcomer@example.com');
    const elsewhere = await signIn(s, 'newcomer@example.com');

    for (const [method, url, body] of [
      ['GET', '/api/v1/projects', undefined],
      ['GET', '/api/v1/tokens', undefined],
      ['POST', '/api/v1/tokens', { name: 'early' }],
      ['POST', '/api/v1/projects/life/flags', { key: 'early', name: 'Early', type: 'boolean' }],
    ] as const) {
      const error = await expectRefusal(s, () => s.call(method, url, body, session.as()), {
        status: 403,
        code: 'PASSWORD_CHANGE_REQUIRED',
      });
      expect(error.message).toContain('PUT /api/v1/me/password');
    }
    const me = await s.ok('GET', '/api/v1/me', undefined, session.as());
    expect(me.user.mustChangePassword).toBe(true);

    await expectRefusal(
      s,
      () => s.call('PUT', '/api/v1/me/password', { currentPassword: PASSWORD, newPassword: PASSWORD }, session.as()),
      { status: 400, code: 'VALIDATION_FAILED', field: 'newPassword' },
    );
    const changed = await s.call(
      'PUT',
      '/api/v1/me/password',
      { currentPassword: PASSWORD, newPassword: 'my very own passphrase' },
      session.as(),
    );
    expect(changed.statusCode, changed.body).toBe(204);

    // The session that made the change goes on; every other one ended.
    expect((await s.call('GET', '/api/v1/projects', undefined, session.as())).statusCode).toBe(200);
    expect((await s.call('GET', '/api/v1/projects', undefined, elsewhere.as())).statusCode).toBe(401);
    expect((await s.ok('GET', '/api/v1/me', undefined, session.as())).user.mustChangePassword).toBe(false);
    const signOut = await s.call('DELETE', '/api/v1/session', undefined, session.as());
    expect(signOut.statusCode).toBe(204);
  });

  it('can be left as it is when whoever creates the person says so', async () => {
    const created = await s.ok('POST', '/api/v1/users', {
      email: 'scripted@example.com',
      password: PASSWORD,
      mustChangePassword: false,
    });
    expect(created.mustChangePassword).toBe(false);
    const session = await signIn(s, 'scripted@example.com');
    expect((await s.call('GET', '/api/v1/projects', undefined, session.as())).statusCode).toBe(200);
  });

  it("applies to the first start's owner, whose password was printed", async () => {
    const fresh = await startTestServer();
    try {
      const printed = await createOwnerIfNone(fresh.testDb.database.db, 'owner@localhost');
      if (printed === undefined) throw new Error('no owner was created');
      const session = await signIn(fresh, printed.email, printed.password);
      await expectRefusal(fresh, () => fresh.call('GET', '/api/v1/users', undefined, session.as()), {
        status: 403,
        code: 'PASSWORD_CHANGE_REQUIRED',
      });
      const changed = await fresh.call(
        'PUT',
        '/api/v1/me/password',
        { currentPassword: printed.password, newPassword: 'the owner chose this' },
        session.as(),
      );
      expect(changed.statusCode, changed.body).toBe(204);
      expect((await fresh.call('GET', '/api/v1/users', undefined, session.as())).statusCode).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});

describe("the owner's changes to a person", () => {
  it('makes a person owner and back; nobody demotes themselves or the last enabled owner', async () => {
    const id = await createPerson(s, 'promoted@example.com', { project: 'life', role: 'viewer' });
    const them = await signIn(s, 'promoted@example.com');
    expect((await s.call('GET', '/api/v1/users', undefined, them.as())).statusCode).toBe(403);
    expect(await s.ok('PATCH', `/api/v1/users/${id}`, { owner: true }, owner.as())).toMatchObject({ id, owner: true });
    expect((await s.call('GET', '/api/v1/users', undefined, them.as())).statusCode).toBe(200);

    await expectRefusal(s, () => s.call('PATCH', `/api/v1/users/${id}`, { owner: false }, them.as()), {
      status: 409,
      code: 'SELF_LOCKOUT',
    });
    expect(await s.ok('PATCH', `/api/v1/users/${id}`, { owner: false }, owner.as())).toMatchObject({ owner: false });
    expect((await s.call('GET', '/api/v1/users', undefined, them.as())).statusCode).toBe(403);
    // The admin token is nobody: only the last-owner rule stops it.
    const error = await expectRefusal(s, () => s.call('PATCH', `/api/v1/users/${owner.userId}`, { owner: false }), {
      status: 409,
      code: 'LAST_OWNER',
    });
    expect(error.message).toContain('owner@example.com is the last enabled owner');
    // A viewer cannot make themselves owner.
    await expectRefusal(s, () => s.call('PATCH', `/api/v1/users/${id}`, { owner: true }, them.as()), {
      status: 403,
      code: 'FORBIDDEN',
    });

    const audit = await s.ok('GET', '/api/v1/audit?action=user.update&limit=2');
    expect(audit.items.map((e: { targetKey: string; after: { owner: boolean } }) => e.after.owner)).toEqual([
      false,
      true,
    ]);
    expect(audit.items[0]).toMatchObject({ targetKey: 'promoted@example.com', actor: 'owner@example.com' });
  });

  it('sets a password the person must replace at sign-in, ending their sessions; never their own', async () => {
    const id = await createPerson(s, 'forgetful@example.com', { project: 'life', role: 'viewer' });
    const before = await signIn(s, 'forgetful@example.com');
    const chosen = 'a brand new secret, 42 times';
    const updated = await s.ok('PATCH', `/api/v1/users/${id}`, { password: chosen }, owner.as());
    expect(updated).toMatchObject({ id, mustChangePassword: true });
    expect(JSON.stringify(updated)).not.toContain('brand new');
    expect((await s.call('GET', '/api/v1/projects', undefined, before.as())).statusCode).toBe(401);
    await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/session', { email: 'forgetful@example.com', password: PASSWORD }, { token: null }),
      { status: 401, code: 'UNAUTHORIZED' },
    );
    const after = await signIn(s, 'forgetful@example.com', chosen);
    await expectRefusal(s, () => s.call('GET', '/api/v1/projects', undefined, after.as()), {
      status: 403,
      code: 'PASSWORD_CHANGE_REQUIRED',
    });
    const audit = await s.ok('GET', '/api/v1/audit?action=user.update&limit=1');
    expect(JSON.stringify(audit)).not.toContain('brand new');

    await expectRefusal(s, () => s.call('PATCH', `/api/v1/users/${owner.userId}`, { password: chosen }, owner.as()), {
      status: 409,
      code: 'SELF_LOCKOUT',
    });
  });

  it('refuses an empty change, a short password and an unknown field, naming the field', async () => {
    const id = await createPerson(s, 'unchanged@example.com', { project: 'life', role: 'viewer' });
    await expectRefusal(s, () => s.call('PATCH', `/api/v1/users/${id}`, {}, owner.as()), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    const short = await expectRefusal(
      s,
      () => s.call('PATCH', `/api/v1/users/${id}`, { password: 'short' }, owner.as()),
      {
        status: 400,
        code: 'VALIDATION_FAILED',
      },
    );
    expect(short.details.field).toBe('password');
    expect(JSON.stringify(short)).not.toContain('short"');
    await expectRefusal(s, () => s.call('PATCH', `/api/v1/users/${id}`, { email: 'x@example.com' }, owner.as()), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });
});
