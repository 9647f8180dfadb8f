import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, openPostgres } from './db/database.js';
import { buildServer, DEFAULT_BODY_LIMIT } from './server.js';
import { expectRefusal } from './test-support/refusal.js';
import { startTestServer, type TestServer } from './test-support/server.js';

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
  expect((await s.call('POST', '/api/v1/projects', { key: 'web', name: 'Web' })).statusCode).toBe(201);
});

afterAll(async () => {
  await s?.close();
});

describe('request bodies', () => {
  it('refuses a body over the default limit with 413 PAYLOAD_TOO_LARGE and changes nothing', async () => {
    const name = 'x'.repeat(DEFAULT_BODY_LIMIT + 1);
    await expectRefusal(s, () => s.call('POST', '/api/v1/projects', { key: 'big', name }), {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('applies a configured body limit', async () => {
    const app = await buildServer({ database: s.testDb.database, bodyLimit: 2048 });
    try {
      const res = await app.inject({
        method: 'PATCH',
        url: '/api/v1/projects/web',
        headers: { authorization: `Bearer ${s.adminToken}` },
        payload: { name: 'y'.repeat(4096) },
      });
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await app.close();
    }
  });

  it('refuses a body that is not valid JSON with 400', async () => {
    await expectRefusal(
      s,
      () =>
        s.call('POST', '/api/v1/projects', '{"key": "broken",', { headers: { 'content-type': 'application/json' } }),
      { status: 400, code: 'VALIDATION_FAILED' },
    );
  });

  it('refuses an empty JSON body with 400', async () => {
    await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/projects', '', { headers: { 'content-type': 'application/json' } }),
      { status: 400, code: 'VALIDATION_FAILED' },
    );
  });

  it('refuses a body of a media type it does not read with 415', async () => {
    await expectRefusal(
      s,
      () => s.call('POST', '/api/v1/projects', '<project/>', { headers: { 'content-type': 'application/xml' } }),
      { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    );
  });

  it('names the path parameter at fault', async () => {
    await expectRefusal(s, () => s.call('GET', '/api/v1/projects/Not%20A%20Key'), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'params.project',
    });
  });
});

describe('routing', () => {
  it('answers an unknown route with 404 in the error format', async () => {
    for (const [method, url] of [
      ['GET', '/nothing-here'],
      ['GET', '/api/v1/widgets'],
      ['PUT', '/api/v1/projects'],
    ] as const) {
      const res = await s.call(method, url);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String), details: {} } });
    }
  });
});

describe('health', () => {
  it('answers /healthz without a key', async () => {
    const res = await s.call('GET', '/healthz', undefined, { token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz when the database answers', async () => {
    const res = await s.call('GET', '/readyz', undefined, { token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  it('answers /readyz with 503 NOT_READY when the database does not answer', async () => {
    // A database that cannot answer: closed, and with Postgres not even existing.
    const url = process.env.DATABASE_URL;
    const database =
      url === undefined || url === ''
        ? await openPglite(undefined)
        : openPostgres(Object.assign(new URL(url), { pathname: '/switchyard_missing' }).toString(), { max: 1 });
    const app = await buildServer({ database });
    try {
      await database.close();
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: { code: 'NOT_READY', message: expect.any(String), details: {} } });
    } finally {
      await app.close();
    }
  });
});

describe('API documentation', () => {
  it('serves the documentation page at /docs without a key', async () => {
    const res = await s.call('GET', '/docs', undefined, { token: null });
    expect([200, 302]).toContain(res.statusCode);
    const page = res.statusCode === 302 ? await s.call('GET', res.headers.location as string) : res;
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });

  it('serves an OpenAPI document at /docs/json that lists the management routes with bearer auth', async () => {
    const res = await s.call('GET', '/docs/json', undefined, { token: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/api/v1/projects'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/api/v1/projects/{project}/flags/{flag}/environments/{env}'] ?? {}).sort()).toEqual([
      'get',
      'patch',
      'put',
    ]);
    for (const path of [
      '/api/v1/projects/{project}/environments/{env}/kill',
      '/api/v1/projects/{project}/environments/{env}/segments/{segment}',
      '/api/v1/keys/{id}/revoke',
      '/api/v1/audit',
    ]) {
      expect(paths[path], path).toBeDefined();
    }
    // The probes are documented too, without a credential (http/openapi.test.ts covers every route).
    expect(paths['/healthz']?.get).toMatchObject({ security: [] });
    expect(paths['/readyz']?.get).toMatchObject({ security: [] });
  });

  it('documents request bodies from the same schemas that validate them', async () => {
    const doc = (await s.call('GET', '/docs/json', undefined, { token: null })).json();
    const create = doc.paths['/api/v1/projects/{project}/flags'].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['key', 'name', 'type']));
    expect(schema.properties.type.enum).toEqual(['boolean', 'string', 'number', 'json']);
  });
});
