import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../auth/permissions.js';
import { expectRefusal } from '../../test-support/refusal.js';
import { type CallOptions, startTestServer, type TestServer } from '../../test-support/server.js';
import { queryRows } from '../../test-support/snapshot.js';
import { TestSseClient } from '../../test-support/sse-client.js';

let s: TestServer;
const tokens = { server: '', client: '', foreign: '', revoked: '', projectAdmin: '' };
const ids = {
  revocable: '',
  rotatable: '',
  webhook: '',
  doomedWebhook: '',
  delivery: '',
  member: '',
  leaving: '',
  disabled: '',
  deleted: '',
  scheduled: '',
};

async function ok(method: string, url: string, body?: unknown, options?: CallOptions) {
  const res = await s.call(method, url, body, options);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.json();
}

async function createKey(body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  return ok('POST', '/api/v1/keys', body);
}

beforeAll(async () => {
  // The webhook dispatcher does not send here: a delivery it sent in the middle of a refusal
  // would change the database the refusal must leave as it was.
  s = await startTestServer({ webhooks: { dispatch: false } });
  for (const key of ['matrix', 'elsewhere', 'matrix-empty']) await ok('POST', '/api/v1/projects', { key, name: key });
  for (const key of ['production', 'doomed-env']) {
    await ok('POST', '/api/v1/projects/matrix/environments', { key, name: key });
  }
  await ok('POST', '/api/v1/projects/elsewhere/environments', { key: 'production', name: 'P' });
  for (const key of ['f1', 'f-archive', 'f-delete']) {
    await ok('POST', '/api/v1/projects/matrix/flags', { key, name: key, type: 'boolean', tags: ['kill-me'] });
  }
  for (const key of ['s1', 's-delete']) {
    await ok('POST', '/api/v1/projects/matrix/environments/production/segments', { key, name: key });
  }
  const sdk = { project: 'matrix', environment: 'production' };
  tokens.server = (await createKey({ name: 'matrix server', type: 'server', ...sdk })).token;
  tokens.client = (await createKey({ name: 'matrix client', type: 'client', ...sdk })).token;
  tokens.foreign = (await createKey({ name: 'elsewhere admin', type: 'admin', project: 'elsewhere' })).token;
  tokens.projectAdmin = (await createKey({ name: 'matrix admin', type: 'admin', project: 'matrix' })).token;
  ids.revocable = (await createKey({ name: 'to revoke', type: 'server', ...sdk })).id;
  ids.rotatable = (await createKey({ name: 'to rotate', type: 'server', ...sdk })).id;
  const revoked = await createKey({ name: 'former admin', type: 'admin' });
  await ok('POST', `/api/v1/keys/${revoked.id}/revoke`);
  tokens.revoked = revoked.token;
  const hook = { url: 'https://example.test/matrix', events: ['flag.changed'] };
  ids.webhook = (await ok('POST', '/api/v1/projects/matrix/webhooks', hook)).id;
  ids.doomedWebhook = (await ok('POST', '/api/v1/projects/matrix/webhooks', hook)).id;
  await ok('PATCH', '/api/v1/projects/matrix/flags/f1', { description: 'watched by a webhook' });
  ids.delivery = (await ok('GET', `/api/v1/projects/matrix/webhooks/${ids.webhook}/deliveries`)).items[0].id;
  for (const [email, id] of [
    ['matrix-member@example.com', 'member'],
    ['matrix-leaving@example.com', 'leaving'],
    ['matrix-disabled@example.com', 'disabled'],
    ['matrix-deleted@example.com', 'deleted'],
  ] as const) {
    ids[id] = (
      await ok('POST', '/api/v1/users', { email, password: 'a long enough password', mustChangePassword: false })
    ).id;
    await ok('POST', '/api/v1/projects/matrix/members', { email, role: 'viewer' });
  }
  await ok('POST', '/api/v1/users', {
    email: 'matrix-joining@example.com',
    password: 'a long enough password',
    mustChangePassword: false,
  });
  ids.scheduled = String(
    (
      await ok('POST', '/api/v1/projects/matrix/flags/f1/environments/production/scheduled-changes', {
        at: new Date(Date.now() + 3_600_000).toISOString(),
        change: { enabled: true },
      })
    ).id,
  );
});

afterAll(async () => {
  await s?.close();
});

interface RouteCase {
  /** As registered, e.g. `GET /api/v1/projects/:project`. */
  route: string;
  /** The concrete request, built when the test runs (fixture ids are known by then). */
  request: () => { url: string; body?: unknown };
  /** What an organisation admin gets. */
  ok: number;
  /**
   * What an admin key of another project gets: 403, or for a list that is not about one project,
   * 200 with none of this project's items.
   */
  foreign?: { status: 200; excludes: (body: { items: Record<string, unknown>[] }) => void };
  /** A Server-Sent Events stream: it never ends, so its success is checked over a real socket. */
  stream?: true;
}

let listening: string | undefined;
/** The test server on a real port, for the streams `inject` would wait on forever. */
async function serverUrl(): Promise<string> {
  listening ??= await s.app.listen({ port: 0, host: '127.0.0.1' });
  return listening;
}

const p = '/api/v1/projects/matrix';
const config = `${p}/flags/f1/environments/production`;
const rule = { clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } };

const ROUTES: RouteCase[] = [
  {
    route: 'POST /api/v1/projects',
    request: () => ({ url: '/api/v1/projects', body: { key: 'matrix-new', name: 'New' } }),
    ok: 201,
  },
  {
    route: 'GET /api/v1/projects',
    request: () => ({ url: '/api/v1/projects' }),
    ok: 200,
    foreign: {
      status: 200,
      excludes: (body) => expect(body.items.map((i) => i.key)).toEqual(['elsewhere']),
    },
  },
  { route: 'GET /api/v1/projects/:project', request: () => ({ url: p }), ok: 200 },
  { route: 'PATCH /api/v1/projects/:project', request: () => ({ url: p, body: { name: 'Matrix' } }), ok: 200 },
  { route: 'DELETE /api/v1/projects/:project', request: () => ({ url: '/api/v1/projects/matrix-empty' }), ok: 204 },
  {
    route: 'POST /api/v1/projects/:project/environments',
    request: () => ({ url: `${p}/environments`, body: { key: 'qa', name: 'QA' } }),
    ok: 201,
  },
  { route: 'GET /api/v1/projects/:project/environments', request: () => ({ url: `${p}/environments` }), ok: 200 },
  {
    route: 'GET /api/v1/projects/:project/environments/:env',
    request: () => ({ url: `${p}/environments/production` }),
    ok: 200,
  },
  {
    route: 'PATCH /api/v1/projects/:project/environments/:env',
    request: () => ({ url: `${p}/environments/production`, body: { name: 'Prod' } }),
    ok: 200,
  },
  {
    route: 'DELETE /api/v1/projects/:project/environments/:env',
    request: () => ({ url: `${p}/environments/doomed-env` }),
    ok: 204,
  },
  {
    route: 'POST /api/v1/projects/:project/flags',
    request: () => ({ url: `${p}/flags`, body: { key: 'created', name: 'Created', type: 'boolean' } }),
    ok: 201,
  },
  { route: 'GET /api/v1/projects/:project/flags', request: () => ({ url: `${p}/flags` }), ok: 200 },
  { route: 'GET /api/v1/projects/:project/flags/:flag', request: () => ({ url: `${p}/flags/f1` }), ok: 200 },
  {
    route: 'PATCH /api/v1/projects/:project/flags/:flag',
    request: () => ({ url: `${p}/flags/f1`, body: { description: 'edited' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/flags/:flag/archive',
    request: () => ({ url: `${p}/flags/f-archive/archive` }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/flags/:flag/unarchive',
    request: () => ({ url: `${p}/flags/f-archive/unarchive` }),
    ok: 200,
  },
  {
    route: 'DELETE /api/v1/projects/:project/flags/:flag',
    request: () => ({ url: `${p}/flags/f-delete` }),
    ok: 204,
  },
  {
    route: 'GET /api/v1/projects/:project/flags/:flag/environments/:env',
    request: () => ({ url: config }),
    ok: 200,
  },
  {
    route: 'PUT /api/v1/projects/:project/flags/:flag/environments/:env',
    request: () => ({ url: config, body: { enabled: true, defaultServe: { variant: 'on' }, rules: [rule] } }),
    ok: 200,
  },
  {
    route: 'PATCH /api/v1/projects/:project/flags/:flag/environments/:env',
    request: () => ({ url: config, body: { targets: [{ variant: 'off', values: ['u1'] }] } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/flags/:flag/environments/:env/kill',
    request: () => ({ url: `${config}/kill`, body: { reason: 'matrix' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/flags/:flag/environments/:env/unkill',
    request: () => ({ url: `${config}/unkill`, body: { reason: 'matrix' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/environments/:env/kill',
    request: () => ({ url: `${p}/environments/production/kill`, body: { tag: 'kill-me', reason: 'matrix' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/environments/:env/segments',
    request: () => ({ url: `${p}/environments/production/segments`, body: { key: 's-new', name: 'New' } }),
    ok: 201,
  },
  {
    route: 'GET /api/v1/projects/:project/environments/:env/segments',
    request: () => ({ url: `${p}/environments/production/segments` }),
    ok: 200,
  },
  {
    route: 'GET /api/v1/projects/:project/environments/:env/segments/:segment',
    request: () => ({ url: `${p}/environments/production/segments/s1` }),
    ok: 200,
  },
  {
    route: 'PUT /api/v1/projects/:project/environments/:env/segments/:segment',
    request: () => ({ url: `${p}/environments/production/segments/s1`, body: { name: 'S1', included: ['u1'] } }),
    ok: 200,
  },
  {
    route: 'DELETE /api/v1/projects/:project/environments/:env/segments/:segment',
    request: () => ({ url: `${p}/environments/production/segments/s-delete` }),
    ok: 204,
  },
  {
    route: 'POST /api/v1/keys',
    request: () => ({
      url: '/api/v1/keys',
      body: { name: 'matrix server 2', type: 'server', project: 'matrix', environment: 'production' },
    }),
    ok: 201,
  },
  { route: 'GET /api/v1/keys', request: () => ({ url: '/api/v1/keys?project=matrix' }), ok: 200 },
  { route: 'GET /api/v1/keys/:id', request: () => ({ url: `/api/v1/keys/${ids.revocable}` }), ok: 200 },
  {
    route: 'PATCH /api/v1/keys/:id',
    request: () => ({ url: `/api/v1/keys/${ids.rotatable}`, body: { name: 'renamed' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/keys/:id/rotate',
    request: () => ({ url: `/api/v1/keys/${ids.rotatable}/rotate`, body: { graceSeconds: 60 } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/keys/:id/revoke',
    request: () => ({ url: `/api/v1/keys/${ids.revocable}/revoke` }),
    ok: 200,
  },
  { route: 'GET /api/v1/audit', request: () => ({ url: '/api/v1/audit?project=matrix' }), ok: 200 },
  {
    route: 'GET /api/v1/projects/:project/changes',
    request: () => ({ url: `${p}/changes` }),
    ok: 200,
    stream: true,
  },
  {
    route: 'POST /api/v1/projects/:project/metrics',
    request: () => ({
      url: `${p}/metrics`,
      body: { key: 'm1', event: 'buy', kind: 'conversion', direction: 'increase' },
    }),
    ok: 201,
  },
  { route: 'GET /api/v1/projects/:project/metrics', request: () => ({ url: `${p}/metrics` }), ok: 200 },
  { route: 'GET /api/v1/projects/:project/metrics/:metric', request: () => ({ url: `${p}/metrics/m1` }), ok: 200 },
  {
    route: 'PATCH /api/v1/projects/:project/metrics/:metric',
    request: () => ({ url: `${p}/metrics/m1`, body: { name: 'Buys' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/metrics/:metric/archive',
    request: () => ({ url: `${p}/metrics/m1/archive` }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/metrics/:metric/unarchive',
    request: () => ({ url: `${p}/metrics/m1/unarchive` }),
    ok: 200,
  },
  {
    route: 'GET /api/v1/projects/:project/flags/:flag/environments/:env/results',
    request: () => ({ url: `${config}/results?metric=m1` }),
    ok: 200,
  },
  {
    route: 'PUT /api/v1/projects/:project/flags/:flag/environments/:env/release-plan',
    request: () => ({ url: `${config}/release-plan`, body: { variant: 'on' } }),
    ok: 201,
  },
  {
    route: 'GET /api/v1/projects/:project/flags/:flag/environments/:env/release-plan',
    request: () => ({ url: `${config}/release-plan` }),
    ok: 200,
  },
  {
    route: 'GET /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/figures',
    request: () => ({ url: `${config}/release-plan/figures` }),
    ok: 200,
  },
  // In the order a plan allows them, each after the one before.
  ...(['start', 'pause', 'resume', 'advance', 'abort'] as const).map((action) => ({
    route: `POST /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/${action}`,
    request: () => ({ url: `${config}/release-plan/${action}` }),
    ok: 200,
  })),
  {
    route: 'POST /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes',
    request: () => ({
      url: `${config}/scheduled-changes`,
      body: { at: new Date(Date.now() + 3_600_000).toISOString(), change: { enabled: false } },
    }),
    ok: 201,
  },
  {
    route: 'GET /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes',
    request: () => ({ url: `${config}/scheduled-changes` }),
    ok: 200,
  },
  {
    route: 'GET /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes/:id',
    request: () => ({ url: `${config}/scheduled-changes/${ids.scheduled}` }),
    ok: 200,
  },
  {
    route: 'DELETE /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes/:id',
    request: () => ({ url: `${config}/scheduled-changes/${ids.scheduled}` }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/webhooks',
    request: () => ({ url: `${p}/webhooks`, body: { url: 'https://example.test/new', events: ['flag.killed'] } }),
    ok: 201,
  },
  { route: 'GET /api/v1/projects/:project/webhooks', request: () => ({ url: `${p}/webhooks` }), ok: 200 },
  {
    route: 'GET /api/v1/projects/:project/webhooks/:webhook',
    request: () => ({ url: `${p}/webhooks/${ids.webhook}` }),
    ok: 200,
  },
  {
    route: 'PATCH /api/v1/projects/:project/webhooks/:webhook',
    request: () => ({ url: `${p}/webhooks/${ids.webhook}`, body: { description: 'matrix' } }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/webhooks/:webhook/rotate-secret',
    request: () => ({ url: `${p}/webhooks/${ids.webhook}/rotate-secret` }),
    ok: 200,
  },
  {
    route: 'GET /api/v1/projects/:project/webhooks/:webhook/deliveries',
    request: () => ({ url: `${p}/webhooks/${ids.webhook}/deliveries` }),
    ok: 200,
  },
  {
    route: 'GET /api/v1/projects/:project/webhooks/:webhook/deliveries/:delivery',
    request: () => ({ url: `${p}/webhooks/${ids.webhook}/deliveries/${ids.delivery}` }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/projects/:project/webhooks/:webhook/deliveries/:delivery/redeliver',
    request: () => ({ url: `${p}/webhooks/${ids.webhook}/deliveries/${ids.delivery}/redeliver` }),
    ok: 202,
  },
  {
    route: 'DELETE /api/v1/projects/:project/webhooks/:webhook',
    request: () => ({ url: `${p}/webhooks/${ids.doomedWebhook}` }),
    ok: 204,
  },
  {
    route: 'GET /api/v1/me',
    request: () => ({ url: '/api/v1/me' }),
    ok: 200,
    foreign: {
      status: 200,
      excludes: (body) =>
        expect((body as unknown as { projects: { key: string }[] }).projects.map((x) => x.key)).toEqual(['elsewhere']),
    },
  },
  {
    route: 'POST /api/v1/users',
    request: () => ({
      url: '/api/v1/users',
      body: { email: 'matrix-user@example.com', password: 'a long enough password' },
    }),
    ok: 201,
  },
  { route: 'GET /api/v1/users', request: () => ({ url: '/api/v1/users' }), ok: 200 },
  {
    route: 'POST /api/v1/users/:user/disable',
    request: () => ({ url: `/api/v1/users/${ids.disabled}/disable` }),
    ok: 200,
  },
  {
    route: 'POST /api/v1/users/:user/enable',
    request: () => ({ url: `/api/v1/users/${ids.disabled}/enable` }),
    ok: 200,
  },
  {
    route: 'PATCH /api/v1/users/:user',
    request: () => ({ url: `/api/v1/users/${ids.disabled}`, body: { owner: false } }),
    ok: 200,
  },
  { route: 'DELETE /api/v1/users/:user', request: () => ({ url: `/api/v1/users/${ids.deleted}` }), ok: 204 },
  { route: 'GET /api/v1/projects/:project/members', request: () => ({ url: `${p}/members` }), ok: 200 },
  {
    route: 'POST /api/v1/projects/:project/members',
    request: () => ({ url: `${p}/members`, body: { email: 'matrix-joining@example.com', role: 'editor' } }),
    ok: 201,
  },
  {
    route: 'PATCH /api/v1/projects/:project/members/:user',
    request: () => ({ url: `${p}/members/${ids.member}`, body: { role: 'editor' } }),
    ok: 200,
  },
  {
    route: 'DELETE /api/v1/projects/:project/members/:user',
    request: () => ({ url: `${p}/members/${ids.leaving}` }),
    ok: 204,
  },
];

/**
 * Routes keys do not use: signing in and out (no credential at all) and what belongs to a
 * person (their password, their personal tokens). features/users/users.test.ts covers them.
 */
const NOT_FOR_KEYS = ['public', 'person'];

interface Caller {
  name: string;
  options: () => CallOptions;
  status: 401 | 403;
  code: 'UNAUTHORIZED' | 'FORBIDDEN';
}

const REFUSED: Caller[] = [
  {
    name: 'a request without an Authorization header',
    options: () => ({ token: null }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'a malformed Authorization header',
    options: () => ({ token: null, headers: { authorization: `Basic ${tokens.server}` } }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'an unknown token',
    options: () => ({ token: 'sy_admin_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  { name: 'a revoked admin token', options: () => ({ token: tokens.revoked }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'a server key', options: () => ({ token: tokens.server }), status: 403, code: 'FORBIDDEN' },
  { name: 'a client key', options: () => ({ token: tokens.client }), status: 403, code: 'FORBIDDEN' },
];

describe('the authorisation matrix', () => {
  it('covers every management route the server registers', async () => {
    const doc = (await s.call('GET', '/docs/json', undefined, { token: null })).json();
    const registered = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .filter((route) => !NOT_FOR_KEYS.includes(PERMISSIONS[route] as string));
    expect(ROUTES.map((r) => r.route).sort()).toEqual(registered.sort());
  });

  for (const route of ROUTES) {
    const method = route.route.split(' ')[0] as string;

    describe(route.route, () => {
      for (const caller of REFUSED) {
        it(`refuses ${caller.name} with ${caller.status} and changes nothing`, async () => {
          const { url, body } = route.request();
          await expectRefusal(s, () => s.call(method, url, body, caller.options()), {
            status: caller.status,
            code: caller.code,
          });
        });
      }

      const foreign = route.foreign;
      if (foreign === undefined) {
        it('refuses an admin key scoped to another project with 403 and changes nothing', async () => {
          const { url, body } = route.request();
          await expectRefusal(s, () => s.call(method, url, body, { token: tokens.foreign }), {
            status: 403,
            code: 'FORBIDDEN',
          });
        });
      } else {
        it('shows an admin key scoped to another project nothing of this project', async () => {
          const { url, body } = route.request();
          const res = await s.call(method, url, body, { token: tokens.foreign });
          expect(res.statusCode).toBe(foreign.status);
          foreign.excludes(res.json());
        });
      }

      it(`serves an organisation admin with ${route.ok}`, async () => {
        const { url, body } = route.request();
        if (route.stream) {
          const stream = await TestSseClient.connect(`${await serverUrl()}${url}`, { token: s.adminToken });
          stream.close();
          return;
        }
        const res = await s.call(method, url, body);
        expect(res.statusCode, res.body).toBe(route.ok);
      });
    });
  }
});

describe('project admin keys', () => {
  const asProjectAdmin = () => ({ token: tokens.projectAdmin });

  it('see and change only their own project', async () => {
    const projects = await ok('GET', '/api/v1/projects', undefined, asProjectAdmin());
    expect(projects.items.map((x: { key: string }) => x.key)).toEqual(['matrix']);
    await ok('PATCH', p, { name: 'Matrix by its admin' }, asProjectAdmin());
    const res = await s.call('GET', '/api/v1/projects/elsewhere', undefined, asProjectAdmin());
    expect(res.statusCode).toBe(403);
  });

  it('cannot create or delete projects, which needs an organisation admin', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects', { key: 'mine', name: 'M' }, asProjectAdmin()), {
      status: 403,
      code: 'FORBIDDEN',
    });
    await expectRefusal(s, () => s.call('DELETE', '/api/v1/projects/matrix', undefined, asProjectAdmin()), {
      status: 403,
      code: 'FORBIDDEN',
    });
  });

  it('create admin keys only for their own project, never organisation-wide ones', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/keys', { name: 'org', type: 'admin' }, asProjectAdmin()), {
      status: 403,
      code: 'FORBIDDEN',
    });
    const own = await s.call(
      'POST',
      '/api/v1/keys',
      { name: 'deputy', type: 'admin', project: 'matrix' },
      asProjectAdmin(),
    );
    expect(own.statusCode).toBe(201);
    expect(own.json()).toMatchObject({ type: 'admin', project: 'matrix', environment: null });
  });

  it('list only the keys and audit entries of their own project', async () => {
    const keys = await ok('GET', '/api/v1/keys', undefined, asProjectAdmin());
    expect(keys.items.length).toBeGreaterThan(0);
    expect(keys.items.every((k: { project: string }) => k.project === 'matrix')).toBe(true);
    const audit = await ok('GET', '/api/v1/audit?limit=500', undefined, asProjectAdmin());
    expect(audit.items.length).toBeGreaterThan(0);
    const elsewhere = audit.items.filter((e: { targetKey: string }) => e.targetKey === 'elsewhere');
    expect(elsewhere).toEqual([]);
  });

  it('cannot revoke an organisation admin key', async () => {
    const org = await createKey({ name: 'another org admin', type: 'admin' });
    await expectRefusal(s, () => s.call('POST', `/api/v1/keys/${org.id}/revoke`, undefined, asProjectAdmin()), {
      status: 403,
      code: 'FORBIDDEN',
    });
  });
});

describe('API keys', () => {
  it('shows the token once, at creation, and the token works', async () => {
    const res = await s.call('POST', '/api/v1/keys', { name: 'ci admin', type: 'admin' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toEqual({
      id: expect.any(String),
      name: 'ci admin',
      type: 'admin',
      prefix: created.token.slice(0, 16),
      project: null,
      environment: null,
      createdAt: expect.any(String),
      revokedAt: null,
      expiresAt: null,
      previousSecretExpiresAt: null,
      lastUsedAt: null,
      revision: 1,
      token: expect.stringMatching(/^sy_admin_[A-Za-z0-9_-]{32}$/),
    });
    expect((await s.call('GET', '/api/v1/projects', undefined, { token: created.token })).statusCode).toBe(200);
  });

  it('names the key type in the token', async () => {
    const server = await createKey({ name: 'typed', type: 'server', project: 'matrix', environment: 'production' });
    expect(server.token).toMatch(/^sy_server_/);
    const client = await createKey({ name: 'typed', type: 'client', project: 'matrix', environment: 'production' });
    expect(client.token).toMatch(/^sy_client_/);
  });

  it('lists keys with their prefix only, never the token or its hash', async () => {
    const created = await createKey({ name: 'listed', type: 'server', project: 'matrix', environment: 'production' });
    const res = await s.call('GET', '/api/v1/keys');
    expect(res.statusCode).toBe(200);
    const item = res.json().items.find((k: { id: string }) => k.id === created.id);
    expect(Object.keys(item).sort()).toEqual(
      [
        'createdAt',
        'environment',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'prefix',
        'previousSecretExpiresAt',
        'project',
        'revision',
        'revokedAt',
        'type',
      ].sort(),
    );
    expect(item).toMatchObject({ prefix: created.token.slice(0, 16), project: 'matrix', environment: 'production' });
    const hash = createHash('sha256').update(created.token).digest('hex');
    expect(res.body).not.toContain(created.token);
    expect(res.body).not.toContain(hash);
    expect(res.body).not.toContain(hash.slice(0, 16));
  });

  it('stores only a hash of the token', async () => {
    const created = await createKey({ name: 'stored', type: 'admin' });
    const rows = await queryRows<{ row: string }>(
      s.testDb.database.db,
      sql`select to_jsonb(k)::text as row from api_keys k where id = ${created.id}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.row).not.toContain(created.token);
    expect(rows[0]?.row).toContain(createHash('sha256').update(created.token).digest('hex'));
  });

  it('revokes a key at once: its next request is refused with 401', async () => {
    const created = await createKey({ name: 'short-lived', type: 'admin' });
    const asIt = { token: created.token };
    expect((await s.call('GET', '/api/v1/projects', undefined, asIt)).statusCode).toBe(200);
    const revoked = await s.call('POST', `/api/v1/keys/${created.id}/revoke`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).toEqual(expect.any(String));
    const res = await s.call('GET', '/api/v1/projects', undefined, asIt);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('revokes idempotently: revoking a revoked key changes nothing', async () => {
    const created = await createKey({ name: 'twice', type: 'admin' });
    const first = (await s.call('POST', `/api/v1/keys/${created.id}/revoke`)).json();
    const before = (await s.call('GET', `/api/v1/audit?targetKey=${created.id}`)).json().items;
    const second = await s.call('POST', `/api/v1/keys/${created.id}/revoke`);
    expect(second.statusCode).toBe(200);
    expect(second.json().revokedAt).toBe(first.revokedAt);
    expect((await s.call('GET', `/api/v1/audit?targetKey=${created.id}`)).json().items).toEqual(before);
  });

  it('refuses to revoke a key that does not exist with 404, or a malformed id with 400', async () => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/keys/00000000-0000-4000-8000-000000000000/revoke'), {
      status: 404,
      code: 'NOT_FOUND',
    });
    await expectRefusal(s, () => s.call('POST', '/api/v1/keys/not-a-uuid/revoke'), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'params.id',
    });
  });

  it.each([
    [{ type: 'server', environment: 'production' }, 'project'],
    [{ type: 'client', project: 'matrix' }, 'environment'],
    [{ type: 'admin', project: 'matrix', environment: 'production' }, 'environment'],
  ])('refuses a key scoped as %j with 400 on field %s', async (scope, field) => {
    await expectRefusal(s, () => s.call('POST', '/api/v1/keys', { name: 'bad scope', ...scope }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field,
    });
  });

  it('refuses a key for an environment that does not exist with 404', async () => {
    await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/keys', { name: 'x', type: 'server', project: 'matrix', environment: 'nowhere' }),
      { status: 404, code: 'NOT_FOUND' },
    );
  });

  it('accepts the Bearer scheme in any case and refuses an oversized token with 401', async () => {
    const lower = await s.call('GET', '/api/v1/projects', undefined, {
      token: null,
      headers: { authorization: `bearer ${s.adminToken}` },
    });
    expect(lower.statusCode).toBe(200);
    const huge = await s.call('GET', '/api/v1/projects', undefined, { token: `sy_admin_${'x'.repeat(600)}` });
    expect(huge.statusCode).toBe(401);
  });
});
