import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../test-support/refusal.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { MAX_JSON_DEPTH } from './hostile-input.js';

let s: TestServer;
let port: number;
let clientKey: string;
const project = '/api/v1/projects/hostile';

beforeAll(async () => {
  s = await startTestServer();
  await s.ok('POST', '/api/v1/projects', { key: 'hostile', name: 'Hostile' });
  await s.ok('POST', `${project}/environments`, { key: 'production', name: 'Production' });
  await s.ok('POST', `${project}/flags`, { key: 'plain', name: 'Plain', type: 'boolean' });
  clientKey = (
    await s.ok('POST', '/api/v1/keys', { name: 'web', type: 'client', project: 'hostile', environment: 'production' })
  ).token;
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  port = (s.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await s?.close();
});

const nested = (depth: number) => `${'['.repeat(depth - 1)}{"a":1}${']'.repeat(depth - 1)}`;

describe('a NUL character', () => {
  it.each([
    ['a project key', 'POST', '/api/v1/projects', { key: 'a\u0000b', name: 'x' }, 'key'],
    ['a project name', 'POST', '/api/v1/projects', { key: 'nul-name', name: 'x\u0000' }, 'name'],
    ['flag metadata', 'PATCH', `${project}/flags/plain`, { metadata: { owner: 'team\u0000' } }, 'metadata.owner'],
    ['a metadata key', 'PATCH', `${project}/flags/plain`, { metadata: { 'own\u0000er': 'x' } }, 'metadata.own\u0000er'],
    [
      'a target',
      'PATCH',
      `${project}/flags/plain/environments/production`,
      { targets: [{ variant: 'on', values: ['user-1', 'user\u00002'] }] },
      'targets[0].values[1]',
    ],
    ['a reason', 'POST', `${project}/flags/plain/environments/production/kill`, { reason: 'oops\u0000' }, 'reason'],
  ])('in %s is refused with 400 naming the field', async (_what, method, url, body, field) => {
    await expectRefusal(s, () => s.call(method, url, body), { status: 400, code: 'VALIDATION_FAILED', field });
  });

  it('in a path parameter is refused with 400 naming it', async () => {
    await expectRefusal(s, () => s.call('GET', `${project}/flags/pl%00ain`), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'params.flag',
    });
  });

  it('in the query is refused with 400 naming it', async () => {
    await expectRefusal(s, () => s.call('GET', `${project}/flags?tag=a%00b`), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'querystring.tag',
    });
  });

  it('in an events batch is refused with 400 naming the field', async () => {
    const batch = { events: [{ event: 'purchase\u0000', key: 'user-1', timestamp: 1 }] };
    await expectRefusal(s, () => s.call('POST', '/sdk/v1/events', batch, { token: clientKey }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'events[0].event',
    });
  });
});

describe('deep nesting', () => {
  it(`accepts a body nested ${MAX_JSON_DEPTH} levels deep as far as the schema goes`, async () => {
    const res = await s.call('PATCH', `${project}/flags/plain`, `{"metadata":${nested(MAX_JSON_DEPTH - 1)}}`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBeLessThan(500);
  });

  it.each([MAX_JSON_DEPTH + 1, 3000, 100_000])('refuses a body nested %i levels deep with 400', async (depth) => {
    const body = `{"metadata":${nested(depth)}}`;
    const error = await expectRefusal(
      s,
      () => s.call('PATCH', `${project}/flags/plain`, body, { headers: { 'content-type': 'application/json' } }),
      { status: 400, code: 'VALIDATION_FAILED' },
    );
    expect(error.message).toContain(`deeper than ${MAX_JSON_DEPTH}`);
  });

  it('counts no brackets inside strings', async () => {
    const res = await s.call('PATCH', `${project}/flags/plain`, { description: '{['.repeat(500) });
    expect(res.statusCode).toBe(200);
  });
});

/** Sends raw bytes to the listening server and reads its whole answer. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (chunk) => {
      out += chunk.toString();
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

const errorOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe("Fastify's and Node's own refusals come in the API's error shape", () => {
  it('431 for headers too large', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { port, host: '127.0.0.1', path: '/healthz', headers: { 'x-big': 'a'.repeat(64 * 1024) } },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String), details: {} },
    });
  });

  it('400 for a request that is not HTTP', async () => {
    const answer = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorOf(answer)).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String), details: {} } });
  });

  it('400 for a URL that is not valid percent-encoding', async () => {
    const res = await s.call('GET', `${project}/flags/%E0%A4%A`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String), details: {} } });
  });

  it('415 for a content type the API does not take', async () => {
    const res = await s.call('POST', '/api/v1/projects', '<project/>', { headers: { 'content-type': 'text/xml' } });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({
      error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String), details: {} },
    });
  });

  it('400 for malformed JSON', async () => {
    const res = await s.call('POST', '/api/v1/projects', '{"key":', {
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String), details: {} } });
  });
});
