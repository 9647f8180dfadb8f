import { validate } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../auth/permissions.js';
import { listRoutes } from '../test-support/routes.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

interface Answer {
  description: string;
  content?: Record<string, { schema?: Record<string, unknown> }>;
}

interface Operation {
  requestBody?: unknown;
  security?: unknown[];
  responses: Record<string, Answer>;
}

interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

const METRICS_TOKEN = 'openapi-test-metrics-token';
const ERROR_REF = '#/components/schemas/Error';

let s: TestServer;
let doc: Document;
let serverKey: string;

beforeAll(async () => {
  // With a token, `/metrics` is served on the API's port and so is in the route tree.
  s = await startTestServer({ metrics: { token: METRICS_TOKEN } });
  await s.ok('POST', '/api/v1/projects', { key: 'docs', name: 'Docs' });
  await s.ok('POST', '/api/v1/projects/docs/environments', { key: 'production', name: 'Production' });
  await s.ok('POST', '/api/v1/projects/docs/flags', {
    key: 'checkout',
    name: 'Checkout',
    type: 'string',
    variants: [
      { key: 'old', value: 'old' },
      { key: 'new', value: 'new' },
    ],
    tags: ['web'],
    metadata: { owner: 'payments' },
  });
  await s.ok('PATCH', '/api/v1/projects/docs/flags/checkout/environments/production', {
    rules: [
      { clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'new' } },
      { clauses: [{ attribute: 'plan', op: 'in', values: ['pro'], negate: true }], serve: { variant: 'old' } },
    ],
    defaultServe: {
      rollout: {
        weights: [
          { variant: 'old', weight: 50_000 },
          { variant: 'new', weight: 50_000 },
        ],
      },
    },
  });
  await s.ok('POST', '/api/v1/projects/docs/environments/production/segments', {
    key: 'beta',
    name: 'Beta',
    included: ['u1'],
    rules: [{ clauses: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }] }],
  });
  serverKey = (
    await s.ok('POST', '/api/v1/keys', { name: 'sdk', type: 'server', project: 'docs', environment: 'production' })
  ).token;
  const res = await s.app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});

afterAll(async () => {
  await s?.close();
});

/** `/projects/:project` as the document writes it, `/projects/{project}`. */
const openapiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** The routes the document must cover: all but CORS preflights, HEAD twins of GETs and `/docs` itself. */
function documentedRoutes() {
  return listRoutes(s.app).filter(
    (r) => r.method !== 'OPTIONS' && r.method !== 'HEAD' && r.path !== '/docs' && !r.path.startsWith('/docs/'),
  );
}

/** What is wrong with one route's operation, in words; empty when nothing is. */
function problemsOf(method: string, path: string): string[] {
  const op = doc.paths[openapiPath(path)]?.[method.toLowerCase()];
  if (op === undefined) return ['no operation'];
  const problems: string[] = [];
  const statuses = Object.keys(op.responses);
  const successes = statuses.filter((st) => st.startsWith('2'));
  if (successes.length === 0) problems.push('no success answer');
  for (const st of successes) {
    const { content } = op.responses[st] as Answer;
    if (st !== '204' && Object.values(content ?? {}).every((c) => c.schema === undefined)) {
      problems.push(`${st} has no schema`);
    }
  }
  for (const st of statuses.filter((x) => Number(x) >= 400)) {
    const schema = (op.responses[st] as Answer).content?.['application/json']?.schema;
    if (schema?.$ref !== ERROR_REF) problems.push(`${st} is not the Error component`);
  }
  const required: string[] = [];
  const api = path.startsWith('/api/v1/');
  const sdk = path.startsWith('/sdk/v1/');
  if (path.includes('/:')) required.push('400', '404');
  if (op.requestBody !== undefined) required.push('400', '413', '415');
  if (api || sdk) required.push('429', '503');
  if (sdk || (api && PERMISSIONS[`${method} ${path}`] !== 'public')) required.push('401');
  for (const st of new Set(required)) if (!statuses.includes(st)) problems.push(`no ${st}`);
  return problems;
}

describe('the OpenAPI document at /docs/json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    // The validator dereferences what it is given: it gets a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it('would be refused by the validator with a reference to a schema it lacks', async () => {
    // What z.json() produced before it became a component: the check above is not vacuous.
    const dangling = { $ref: '#/components/schemas/schema0' };
    const broken = structuredClone(doc);
    broken.paths['/healthz'] = {
      get: { responses: { 200: { description: 'x', content: { 'application/json': { schema: dangling } } } } },
    };
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it('has, for every route of the tree, an operation with its success answers and its refusals', () => {
    const routes = documentedRoutes();
    // The walk must see the whole API, SDK routes and probes included, or it proves nothing.
    for (const route of ['GET /sdk/v1/stream', 'POST /sdk/v1/events', 'GET /readyz', 'GET /metrics']) {
      expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(route);
    }
    expect(routes.length).toBeGreaterThan(70);
    const problems = routes.flatMap((r) => problemsOf(r.method, r.path).map((p) => `${r.method} ${r.path}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('documents no operation that is not a route', () => {
    const routes = new Set(documentedRoutes().map((r) => `${r.method.toLowerCase()} ${openapiPath(r.path)}`));
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(operations.filter((o) => !routes.has(o))).toEqual([]);
  });

  it('describes the SSE stream as text/event-stream and the SDK routes with SDK keys', () => {
    const stream = doc.paths['/sdk/v1/stream']?.get;
    expect(Object.keys(stream?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    expect(stream?.security).toEqual([{ sdkKey: [] }, { sdkKeyInQuery: [] }]);
    expect(Object.keys(doc.paths['/sdk/v1/events']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['202', '429', '503']),
    );
    expect(Object.keys(doc.paths['/sdk/v1/ruleset']?.get?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '304']),
    );
  });
});

/**
 * OpenAPI 3.0's `nullable: true` as JSON Schema (`anyOf` with `null`): Ajv reads `nullable` only
 * next to a `type`, and the JSON value component has none.
 */
function asJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, asJsonSchema(v)]));
  return nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

describe('real answers', () => {
  // ajv-formats is CommonJS: its default export is the module object under some loaders.
  const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

  /** Fails unless `res`'s status is documented for the route and its body matches the documented schema. */
  function expectDocumented(method: string, path: string, res: LightMyRequestResponse) {
    const answer = doc.paths[openapiPath(path)]?.[method.toLowerCase()]?.responses[String(res.statusCode)];
    expect(answer, `${method} ${path} answered ${res.statusCode}, which is not documented`).toBeDefined();
    const schema = answer?.content?.['application/json']?.schema;
    if (schema === undefined) return;
    // The schema's `$ref`s point into the document: the components travel with it.
    const check = ajv.compile(asJsonSchema({ ...schema, components: doc.components }) as object);
    const valid = check(res.json());
    expect(check.errors ?? [], `${method} ${path} ${res.statusCode}: ${res.body}`).toEqual([]);
    expect(valid).toBe(true);
  }

  const flag = '/api/v1/projects/:project/flags/:flag';
  const config = `${flag}/environments/:env`;
  const segment = '/api/v1/projects/:project/environments/:env/segments/:segment';

  it.each([
    ['GET', '/api/v1/projects', '/api/v1/projects'],
    ['GET', '/api/v1/projects/:project', '/api/v1/projects/docs'],
    ['GET', '/api/v1/projects/:project/environments/:env', '/api/v1/projects/docs/environments/production'],
    ['GET', '/api/v1/projects/:project/flags', '/api/v1/projects/docs/flags'],
    ['GET', flag, '/api/v1/projects/docs/flags/checkout'],
    ['GET', config, '/api/v1/projects/docs/flags/checkout/environments/production'],
    ['GET', segment, '/api/v1/projects/docs/environments/production/segments/beta'],
    ['GET', '/api/v1/keys', '/api/v1/keys'],
    ['GET', '/api/v1/audit', '/api/v1/audit?project=docs'],
    ['GET', '/api/v1/me', '/api/v1/me'],
  ])('%s %s matches its documented answer', async (method, path, url) => {
    expectDocumented(method, path, await s.call(method, url));
  });

  it('a created flag and a kill match their documented answers', async () => {
    const created = await s.call('POST', '/api/v1/projects/docs/flags', {
      key: 'dark-mode',
      name: 'Dark',
      type: 'boolean',
    });
    expectDocumented('POST', '/api/v1/projects/:project/flags', created);
    const killed = await s.call('POST', '/api/v1/projects/docs/flags/dark-mode/environments/production/kill', {});
    expectDocumented('POST', `${config}/kill`, killed);
  });

  it('refusals match the documented Error: 404, 400 naming the field, 401, 412', async () => {
    expectDocumented('GET', flag, await s.call('GET', '/api/v1/projects/docs/flags/missing'));
    const invalid = await s.call('POST', '/api/v1/projects/docs/flags', {
      key: 'Not A Key',
      name: 'x',
      type: 'boolean',
    });
    expect(invalid.json().error.details.field).toBe('key');
    expectDocumented('POST', '/api/v1/projects/:project/flags', invalid);
    expectDocumented('GET', '/api/v1/projects', await s.call('GET', '/api/v1/projects', undefined, { token: null }));
    const stale = await s.call(
      'PATCH',
      '/api/v1/projects/docs/flags/checkout',
      { name: 'Checkout 2' },
      {
        headers: { 'if-match': '"0"' },
      },
    );
    expectDocumented('PATCH', flag, stale);
  });

  it('the SDK ruleset, an events batch and the probes match their documented answers', async () => {
    const sdk = { authorization: `Bearer ${serverKey}` };
    expectDocumented(
      'GET',
      '/sdk/v1/ruleset',
      await s.app.inject({ method: 'GET', url: '/sdk/v1/ruleset', headers: sdk }),
    );
    const now = Date.now();
    const batch = {
      window: { start: now - 1000, end: now },
      evaluations: [{ flag: 'checkout', variant: 'new', reason: 'SPLIT', count: 3 }],
      events: [{ event: 'purchase', key: 'u1', value: 9.5, timestamp: now }],
      dropped: { evaluations: 0, events: 0 },
    };
    const events = await s.app.inject({ method: 'POST', url: '/sdk/v1/events', headers: sdk, payload: batch });
    expectDocumented('POST', '/sdk/v1/events', events);
    expectDocumented('GET', '/sdk/v1/ruleset', await s.app.inject({ method: 'GET', url: '/sdk/v1/ruleset' }));
    expectDocumented('GET', '/healthz', await s.app.inject({ method: 'GET', url: '/healthz' }));
    expectDocumented('GET', '/readyz', await s.app.inject({ method: 'GET', url: '/readyz' }));
  });
});
