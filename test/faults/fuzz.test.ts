import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type ListedRoute, listRoutes, WRITE_METHODS } from '../../packages/server/src/test-support/routes.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { snapshotDatabase } from '../../packages/server/src/test-support/snapshot.js';

/**
 * A fuzz over every route of the management API, the SDK ruleset and the events batch: each
 * request is a valid one with one part made hostile — a path parameter, the query, the
 * `If-Match` header, one field of the body, or the whole body. Whatever it sends, the server
 * must answer below 500, refuse in the documented error shape, and a refused write must leave
 * every row as it was. `FUZZ_RUNS` sets the requests per route (CI keeps the default).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 20);

// Background workers stay idle for the run: a webhook attempt or a plan step landing between two
// snapshots would look like a refused write that changed rows.
const s = await startTestServer({ webhooks: { dispatch: false }, plans: { intervalMs: 3_600_000 } });
const db = s.testDb.database.db;
const P = 'fz';
const params: Record<string, string> = {
  project: P,
  env: 'staging',
  flag: 'checkout',
  segment: 'beta',
  metric: 'purchases',
  variant: 'on',
};
let sdkToken = '';
const FUZZ_USER = 'fuzz@example.com';
const FUZZ_PASSWORD = 'a fuzzing passphrase';

/** Puts back whatever a successful fuzzed write removed, so every run starts from the same fixtures. */
async function restoreFixtures(): Promise<void> {
  const tolerate = (res: Awaited<ReturnType<TestServer['call']>>) => {
    if (res.statusCode >= 500) throw new Error(`fixture: ${res.statusCode} ${res.body}`);
  };
  tolerate(await s.call('POST', '/api/v1/projects', { key: P, name: 'Fuzz' }));
  for (const env of ['staging', 'production'])
    tolerate(await s.call('POST', `/api/v1/projects/${P}/environments`, { key: env, name: env }));
  tolerate(
    await s.call('POST', `/api/v1/projects/${P}/flags`, {
      key: 'checkout',
      name: 'Checkout',
      type: 'boolean',
      tags: ['payments'],
    }),
  );
  tolerate(await s.call('POST', `/api/v1/projects/${P}/flags/checkout/unarchive`));
  tolerate(await s.call('POST', `/api/v1/projects/${P}/environments/staging/segments`, { key: 'beta', name: 'Beta' }));
  tolerate(
    await s.call('POST', `/api/v1/projects/${P}/metrics`, {
      key: 'purchases',
      event: 'purchase',
      kind: 'conversion',
      direction: 'increase',
    }),
  );
  tolerate(await s.call('POST', `/api/v1/projects/${P}/metrics/purchases/unarchive`));
  const { items: hooks } = (await s.ok('GET', `/api/v1/projects/${P}/webhooks`)) as { items: { id: string }[] };
  if (!hooks.some((h) => h.id === params.webhook)) {
    const hook = await s.ok('POST', `/api/v1/projects/${P}/webhooks`, {
      url: 'https://example.test/hook',
      events: ['flag.changed'],
    });
    params.webhook = hook.id;
    await s.ok('PATCH', `/api/v1/projects/${P}/flags/checkout`, { description: `watched by ${hook.id}` });
    const { items } = await s.ok('GET', `/api/v1/projects/${P}/webhooks/${hook.id}/deliveries`);
    params.delivery = items[0].id;
  }
  tolerate(
    await s.call('POST', '/api/v1/users', { email: FUZZ_USER, password: FUZZ_PASSWORD, mustChangePassword: false }),
  );
  tolerate(await s.call('POST', `/api/v1/projects/${P}/members`, { email: FUZZ_USER, role: 'viewer' }));
  const { items: users } = (await s.ok('GET', '/api/v1/users')) as { items: { id: string; email: string }[] };
  params.user = users.find((u) => u.email === FUZZ_USER)?.id ?? 'unknown';
  const { items: keys } = (await s.ok('GET', `/api/v1/keys?project=${P}`)) as {
    items: { id: string; revokedAt: string | null }[];
  };
  const usable =
    keys.some((k) => k.id === params.id && k.revokedAt === null) &&
    (await s.call('GET', '/sdk/v1/ruleset', undefined, { token: sdkToken })).statusCode === 200;
  if (usable) return;
  const key = await s.ok('POST', '/api/v1/keys', {
    name: 'fuzz sdk',
    type: 'server',
    project: P,
    environment: 'staging',
  });
  params.id = key.id;
  sdkToken = key.token;
}

/** A valid body for each route that takes one; routes missing here are fuzzed from `{}`. */
const TEMPLATES: Record<string, unknown> = {
  'POST /api/v1/session': { email: FUZZ_USER, password: FUZZ_PASSWORD },
  'POST /api/v1/users': { email: 'fuzz-new@example.com', password: FUZZ_PASSWORD, owner: false },
  'PATCH /api/v1/users/:user': { owner: true },
  'PUT /api/v1/me/password': { currentPassword: FUZZ_PASSWORD, newPassword: 'another fuzzing passphrase' },
  'POST /api/v1/tokens': { name: 'fuzz script' },
  'POST /api/v1/projects/:project/members': { email: 'fuzz-new@example.com', role: 'editor' },
  'PATCH /api/v1/projects/:project/members/:user': { role: 'editor' },
  'POST /api/v1/projects': { key: 'fz-new', name: 'New project' },
  'PATCH /api/v1/projects/:project': { name: 'Fuzz project' },
  'POST /api/v1/projects/:project/environments': { key: 'qa', name: 'QA' },
  'PATCH /api/v1/projects/:project/environments/:env': { name: 'Staging' },
  'POST /api/v1/projects/:project/flags': {
    key: 'banner',
    name: 'Banner',
    description: 'A banner',
    type: 'string',
    tags: ['ui'],
    variants: [
      { key: 'blue', value: 'blue' },
      { key: 'red', value: 'red' },
    ],
    clientSide: true,
    metadata: { owner: 'web', ticket: 42 },
  },
  'PATCH /api/v1/projects/:project/flags/:flag': {
    name: 'Checkout',
    description: 'New checkout',
    tags: ['payments', 'q4'],
    clientSide: false,
    metadata: { owner: 'payments' },
  },
  'PUT /api/v1/projects/:project/flags/:flag/environments/:env': {
    enabled: true,
    offVariant: 'off',
    prerequisites: [],
    targets: [{ variant: 'on', values: ['user-1', 'user-2'] }],
    rules: [
      {
        description: 'staff',
        clauses: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }],
        serve: { variant: 'on' },
      },
      {
        clauses: [{ attribute: 'plan', op: 'matches', values: ['^pro-[0-9]+$'], negate: false }],
        serve: {
          rollout: {
            bucketBy: 'accountId',
            weights: [
              { variant: 'on', weight: 25_000 },
              { variant: 'off', weight: 75_000 },
            ],
          },
        },
      },
    ],
    defaultServe: { variant: 'off' },
    salt: 'checkout-2026',
    measured: false,
    reason: 'fuzz',
  },
  'PATCH /api/v1/projects/:project/flags/:flag/environments/:env': {
    enabled: true,
    targets: [{ variant: 'on', values: ['user-3'] }],
    reason: 'fuzz',
  },
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/kill': { reason: 'incident 42' },
  'POST /api/v1/projects/:project/environments/:env/kill': { tag: 'payments', reason: 'incident 42' },
  'POST /api/v1/projects/:project/environments/:env/segments': {
    key: 'staff',
    name: 'Staff',
    included: ['user-1'],
    excluded: ['user-9'],
    rules: [{ clauses: [{ attribute: 'country', op: 'in', values: ['DE', 'FR'] }] }],
  },
  'PUT /api/v1/projects/:project/environments/:env/segments/:segment': {
    name: 'Beta',
    description: 'Beta testers',
    included: ['user-1'],
    rules: [{ clauses: [{ attribute: 'age', op: 'greaterThan', values: [17] }] }],
    reason: 'fuzz',
  },
  'PATCH /api/v1/keys/:id': { name: 'fuzz sdk', expiresAt: '2031-01-01T00:00:00.000Z' },
  'POST /api/v1/keys/:id/rotate': { graceSeconds: 600 },
  'POST /api/v1/keys': { name: 'ci key', type: 'client', project: P, environment: 'staging' },
  'POST /api/v1/projects/:project/metrics': {
    key: 'latency',
    name: 'Latency',
    event: 'page-load',
    kind: 'mean',
    direction: 'decrease',
  },
  'PATCH /api/v1/projects/:project/metrics/:metric': { name: 'Purchases', direction: 'increase' },
  'POST /api/v1/projects/:project/webhooks': {
    url: 'https://example.test/new',
    events: ['flag.changed', 'flag.killed'],
    description: 'alerts',
    active: true,
  },
  'PATCH /api/v1/projects/:project/webhooks/:webhook': { description: 'paging', active: false },
  'POST /api/v1/projects/:project/webhooks/:webhook/rotate-secret': { previousSecretValidSeconds: 60 },
  'PUT /api/v1/projects/:project/flags/:flag/environments/:env/release-plan': {
    variant: 'on',
    control: 'off',
    stages: [
      { percent: 10, holdSeconds: 60, minUnits: 100 },
      { percent: 100, holdSeconds: 60 },
    ],
    guards: [{ metric: 'purchases', maxRegression: 0.1 }],
    onBreach: 'rollback',
    reason: 'fuzz',
  },
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes': {
    at: new Date(Date.now() + 86_400_000).toISOString(),
    change: {
      enabled: false,
      rules: [{ clauses: [{ attribute: 'plan', op: 'in', values: ['pro'] }], serve: { variant: 'on' } }],
    },
    ifVersionMoved: 'refuse',
    reason: 'fuzz',
  },
  'POST /sdk/v1/events': {
    id: 'batch-1',
    window: { start: 1_700_000_000_000, end: 1_700_000_060_000 },
    evaluations: [{ flag: 'checkout', variant: 'on', reason: 'FALLTHROUGH', count: 3 }],
    events: [{ event: 'purchase', key: 'user-1', value: 12.5, timestamp: 1_700_000_010_000 }],
    exposures: [{ flag: 'checkout', variant: 'on', key: 'user-1', timestamp: 1_700_000_000_500 }],
  },
};

/** Actions that take no body (`curl -X POST …/archive`). */
const TAKES_NO_BODY = /\/(archive|unarchive|unkill|revoke|redeliver|disable|enable)$/;

/** Actions whose body is optional and holds at most a reason. */
const REASON_ONLY = /\/release-plan\/(start|pause|resume|advance|abort)$/;

/** The query parameters any route reads, so that hostile values reach the parsers behind them. */
const QUERY_NAMES = [
  'project',
  'environment',
  'tag',
  'q',
  'archived',
  'limit',
  'cursor',
  'metric',
  'control',
  'action',
  'actor',
  'actorId',
  'targetKind',
  'targetKey',
  'key',
];

const NASTY = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '%',
  '%zz',
  '%00',
  '../../etc/passwd',
  '',
  ' ',
  '\u202e\u0007',
  '😀',
  '__proto__',
  'constructor',
  "'; drop table flags; --",
  'a'.repeat(3_000),
  '1e309',
  '-1',
  'null',
  '(a+)+$',
];

const text = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 12 }),
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -0, 5e-324, Number.MAX_SAFE_INTEGER, 1e21),
);
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(text, tie('value'), { maxKeys: 3 }),
  ),
}));

/** JSON text nested `depth` deep, as arrays or objects. */
function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** A body that is not the template's JSON: nested past any limit, or malformed. Kept short so counterexamples print. */
type RawBody = { deep: number; as: 'array' | 'object' } | { text: string };
const rawBody: fc.Arbitrary<RawBody> = fc.oneof(
  fc.record({
    deep: fc.constantFrom(65, 300, 5_000, 200_000),
    as: fc.constantFrom('array' as const, 'object' as const),
  }),
  fc.record({
    text: fc.constantFrom(
      '{',
      '{"a":',
      '[1,]',
      'nul',
      '"\u0000"',
      '{"name":"\\u0000"}',
      '{"name":"\\ud800"}',
      '\u0000',
      '',
    ),
  }),
);

/** Every path into a JSON value, the empty path (the value itself) included. */
function pathsOf(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (v === null || typeof v !== 'object') return out;
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
  for (const [step, item] of entries) out.push(...pathsOf(item, [...prefix, step]));
  return out;
}

/** A copy of `template` with the value at `path` replaced (or removed when `replacement` is `DROP`). */
function withValueAt(template: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement === DROP ? undefined : replacement;
  const copy = structuredClone(template) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (replacement === DROP) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = replacement;
  return copy;
}
const DROP = Symbol('drop');

type BodyChange =
  | { kind: 'keep' }
  | { kind: 'set'; at: number; to: unknown }
  | { kind: 'drop'; at: number }
  | { kind: 'add'; at: number; name: string; to: unknown }
  | { kind: 'raw'; body: RawBody };

const bodyChange: fc.Arbitrary<BodyChange> = fc.oneof(
  fc.constant({ kind: 'keep' as const }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), to: value }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), name: text, to: value }),
  fc.record({ kind: fc.constant('raw' as const), body: rawBody }),
);

/** A path segment as a client would put it in a URL: percent-encoded, or raw (then `%` stays bare). */
function segment(v: string, raw: boolean): string {
  if (raw) return v.replace(/[/?#\s]/g, '');
  return [...Buffer.from(v, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

interface Hostile {
  param?: { index: number; to: string; raw: boolean };
  query: [string, string][];
  ifMatch?: string;
  body: BodyChange;
}

const hostile: fc.Arbitrary<Hostile> = fc.record(
  {
    param: fc.record({ index: fc.nat(), to: text, raw: fc.boolean() }),
    query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_NAMES), text), text), { maxLength: 3 }),
    ifMatch: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('*', '"999999"', 'W/"1"', '"-1"', '""')),
    body: bodyChange,
  },
  { requiredKeys: ['query', 'body'] },
);

function buildRequest(route: ListedRoute, h: Hostile) {
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
  const target = h.param === undefined || names.length === 0 ? undefined : names[h.param.index % names.length];
  const url = route.path.replace(/:(\w+)/g, (_, name: string) =>
    name === target && h.param !== undefined
      ? segment(h.param.to, h.param.raw) || '%20'
      : segment(params[name] ?? 'unknown', false),
  );
  const query = h.query.map(([k, v]) => `${segment(k, false)}=${segment(v, false)}`).join('&');
  const headers: Record<string, string> = {
    authorization: `Bearer ${route.path.startsWith('/sdk/') ? sdkToken : s.adminToken}`,
  };
  if (h.ifMatch !== undefined) headers['if-match'] = h.ifMatch;
  const key = `${route.method} ${route.path}`;
  let payload: string | undefined;
  if (!TAKES_NO_BODY.test(route.path) && route.method !== 'GET' && route.method !== 'DELETE') {
    const template = TEMPLATES[key] ?? (REASON_ONLY.test(route.path) ? { reason: 'fuzz' } : {});
    const paths = pathsOf(template);
    const change = h.body;
    let body: unknown = template;
    if (change.kind === 'set') body = withValueAt(template, paths[change.at % paths.length] ?? [], change.to);
    if (change.kind === 'drop') body = withValueAt(template, paths[change.at % paths.length] ?? [], DROP);
    if (change.kind === 'add') {
      const objects = paths.filter((p) => {
        const at = p.reduce<unknown>((v, step) => (v as Record<string | number, unknown>)[step], template);
        return at !== null && typeof at === 'object' && !Array.isArray(at);
      });
      const at = objects[change.at % Math.max(objects.length, 1)] ?? [];
      body = withValueAt(template, [...at, change.name], change.to);
    }
    payload =
      change.kind !== 'raw'
        ? JSON.stringify(body)
        : 'deep' in change.body
          ? deepJson(change.body.deep, change.body.as)
          : change.body.text;
    if (payload !== undefined) headers['content-type'] = 'application/json';
  }
  return { method: route.method, url: query === '' ? url : `${url}?${query}`, headers, payload };
}

await restoreFixtures();

/**
 * The routes under test: the management API, and the SDK routes that answer once — not the
 * streams (`/sdk/v1/stream`, the management change stream), which `inject` would wait on for
 * ever once a request is valid; their hostile input is tested over sockets in their own tests.
 */
const STREAMS = ['/api/v1/projects/:project/changes'];
const ROUTES = listRoutes(s.app).filter(
  (r) =>
    ['GET', ...WRITE_METHODS].includes(r.method) &&
    !STREAMS.includes(r.path) &&
    (r.path.startsWith('/api/v1/') || r.path === '/sdk/v1/ruleset' || r.path === '/sdk/v1/events'),
);

afterAll(async () => {
  await s.close();
});

describe('a fuzz over every route', () => {
  it('covers the management API', () => {
    expect(ROUTES.length).toBeGreaterThan(30);
    const writes = ROUTES.filter((r) => WRITE_METHODS.includes(r.method) && !TAKES_NO_BODY.test(r.path));
    const untemplated = writes
      .filter(
        (r) => r.method !== 'DELETE' && !REASON_ONLY.test(r.path) && TEMPLATES[`${r.method} ${r.path}`] === undefined,
      )
      .map((r) => `${r.method} ${r.path}`);
    // A write route without a valid template would only ever be fuzzed with bodies zod refuses outright.
    expect(untemplated).toEqual([]);
  });

  it.each(ROUTES.map((r) => ({ ...r, name: `${r.method} ${r.path}` })))(
    '$name answers below 500, in the error shape, and a refused write changes nothing',
    async (route) => {
      await fc.assert(
        fc.asyncProperty(hostile, async (h) => {
          const request = buildRequest(route, h);
          const writes = WRITE_METHODS.includes(route.method);
          const before = writes ? await snapshotDatabase(db) : undefined;
          const res = await s.app.inject({
            method: request.method as 'GET',
            url: request.url,
            headers: request.headers,
            ...(request.payload === undefined ? {} : { payload: request.payload }),
          });
          const answer = `${request.method} ${request.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, answer).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const body = JSON.parse(res.body);
            expect(body, answer).toEqual({
              error: { code: expect.any(String), message: expect.any(String), details: expect.any(Object) },
            });
            if (before !== undefined) expect(await snapshotDatabase(db), answer).toEqual(before);
          } else if (writes) {
            await restoreFixtures();
          }
        }),
        { numRuns: RUNS },
      );
    },
    120_000,
  );
});
