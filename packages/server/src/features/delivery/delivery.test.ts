import { gunzipSync } from 'node:zlib';
import { compile, type Patch, type Ruleset } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { TestSseClient } from '../../test-support/sse-client.js';

let s: TestServer;
let url: string;
let serverKey: string;
let clientKey: string;
const api = '/api/v1/projects/web';

const rollout = (on: number) => ({
  enabled: true,
  defaultServe: {
    rollout: {
      weights: [
        { variant: 'on', weight: on },
        { variant: 'off', weight: 100_000 - on },
      ],
    },
  },
});

const ok = (method: string, path: string, body?: unknown) => s.ok(method, path, body);

const patches = (c: TestSseClient) =>
  c.events.filter((e) => e.event === 'patch').map((e) => JSON.parse(e.data) as Patch);

beforeAll(async () => {
  s = await startTestServer({ delivery: { heartbeatIntervalMs: 200 } });
  url = await s.app.listen({ port: 0, host: '127.0.0.1' });
  await ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
  await ok('POST', `${api}/environments`, { key: 'prod', name: 'Production' });
  await ok('POST', `${api}/flags`, { key: 'banner', name: 'Banner', type: 'boolean', clientSide: true });
  await ok('POST', `${api}/flags`, { key: 'billing', name: 'Billing', type: 'boolean' });
  await ok('POST', `${api}/environments/prod/segments`, { key: 'staff', name: 'Staff', included: ['ada'] });
  serverKey = (await ok('POST', '/api/v1/keys', { name: 'srv', type: 'server', project: 'web', environment: 'prod' }))
    .token;
  clientKey = (await ok('POST', '/api/v1/keys', { name: 'cli', type: 'client', project: 'web', environment: 'prod' }))
    .token;
});

afterAll(async () => {
  await s?.close();
});

describe('GET /sdk/v1/ruleset', () => {
  it('serves the whole ruleset to a server key with an ETag, and 304 while it is unchanged', async () => {
    const res = await fetch(`${url}/sdk/v1/ruleset`, { headers: { authorization: `Bearer ${serverKey}` } });
    expect(res.status).toBe(200);
    const ruleset = (await res.json()) as Ruleset;
    expect(ruleset).toMatchObject({ schemaVersion: 1, environment: 'web/prod' });
    expect(ruleset.flags.map((f) => f.key).sort()).toEqual(['banner', 'billing']);
    expect(ruleset.segments.map((x) => x.key)).toEqual(['staff']);
    const etag = res.headers.get('etag');
    expect(etag).toBe(`"${ruleset.version}"`);
    const again = await fetch(`${url}/sdk/v1/ruleset`, {
      headers: { authorization: `Bearer ${serverKey}`, 'if-none-match': etag as string },
    });
    expect(again.status).toBe(304);
  });

  it('never gives a client key a server-only flag, nor a segment its flags do not use', async () => {
    const res = await fetch(`${url}/sdk/v1/ruleset?key=${clientKey}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const ruleset = (await res.json()) as Ruleset;
    expect(ruleset.flags.map((f) => f.key)).toEqual(['banner']);
    expect(ruleset.segments).toEqual([]);
  });

  it('compresses with gzip when asked', async () => {
    const res = await s.app.inject({
      method: 'GET',
      url: '/sdk/v1/ruleset',
      headers: { authorization: `Bearer ${serverKey}`, 'accept-encoding': 'gzip' },
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(res.rawPayload).toString()).environment).toBe('web/prod');
  });

  it('refuses a missing key, an unknown key, an admin key and a server key in the URL', async () => {
    expect((await fetch(`${url}/sdk/v1/ruleset`)).status).toBe(401);
    expect((await fetch(`${url}/sdk/v1/ruleset?key=sy_client_nope`)).status).toBe(401);
    expect(
      (await fetch(`${url}/sdk/v1/ruleset`, { headers: { authorization: `Bearer ${s.adminToken}` } })).status,
    ).toBe(403);
    expect((await fetch(`${url}/sdk/v1/ruleset?key=${serverKey}`)).status).toBe(403);
  });
});

describe('GET /sdk/v1/stream', () => {
  it('sends a put on connect, then a patch per change with the version as id', async () => {
    const c = await TestSseClient.connect(`${url}/sdk/v1/stream`, { token: serverKey });
    try {
      await c.waitFor((e) => e.some((x) => x.event === 'put'));
      const put = JSON.parse(c.events[0]?.data ?? '') as Ruleset;
      const config = await ok('PATCH', `${api}/flags/billing/environments/prod`, rollout(25_000));
      await c.waitFor(() => patches(c).some((p) => p.key === 'billing'));
      const patch = patches(c).find((p) => p.key === 'billing') as Patch;
      expect(patch.version).toBe(config.version);
      expect(patch.version).toBeGreaterThan(put.version);
      expect(c.events.at(-1)?.lastEventId).toBe(String(config.version));
      const evaluator = compile(put);
      evaluator.applyPatch(patch);
      expect(evaluator.evaluate('billing', { key: 'u1' }, false, 'boolean').reason).toBe('SPLIT');
    } finally {
      c.close();
    }
  });

  // The browser SDK passes the id in the query: its EventSource sends the header only on reconnections of its own.
  it.each(['header', 'query'] as const)(
    'resumes from Last-Event-ID in the %s with exactly the missed patches',
    async (via) => {
      const first = await TestSseClient.connect(`${url}/sdk/v1/stream`, { token: serverKey });
      await first.waitFor((e) => e.length > 0);
      const seen = Number(first.events[0]?.lastEventId);
      first.close();
      const a = await ok('PATCH', `${api}/flags/billing/environments/prod`, rollout(30_000));
      // The first run unkills the banner, the second kills it again: each is a change.
      const b = await ok('POST', `${api}/flags/banner/environments/prod/${via === 'header' ? 'unkill' : 'kill'}`);
      const resumed =
        via === 'header'
          ? await TestSseClient.connect(`${url}/sdk/v1/stream`, { token: serverKey, lastEventId: seen })
          : await TestSseClient.connect(`${url}/sdk/v1/stream?lastEventId=${seen}`, { token: serverKey });
      try {
        await resumed.waitFor(() => patches(resumed).length >= 2);
        expect(resumed.events.some((e) => e.event === 'put')).toBe(false);
        expect(patches(resumed).map((p) => [p.key, p.version])).toEqual([
          ['billing', a.version],
          ['banner', b.version],
        ]);
      } finally {
        resumed.close();
      }
    },
  );

  it('sends a fresh put when the Last-Event-ID is unknown to the server', async () => {
    const c = await TestSseClient.connect(`${url}/sdk/v1/stream`, { token: serverKey, lastEventId: 999_999 });
    try {
      await c.waitFor((e) => e.length > 0);
      expect(c.events[0]?.event).toBe('put');
    } finally {
      c.close();
    }
  });

  it('streams to a client key only what browsers may see, and deletes a flag that stops being clientSide', async () => {
    const c = await TestSseClient.connect(`${url}/sdk/v1/stream?key=${clientKey}`);
    try {
      await c.waitFor((e) => e.length > 0);
      await ok('PATCH', `${api}/flags/billing/environments/prod`, rollout(40_000));
      await ok('PATCH', `${api}/flags/banner/environments/prod`, {
        rules: [
          {
            id: 'staff',
            clauses: [{ attribute: 'key', op: 'inSegment', values: ['staff'] }],
            serve: { variant: 'on' },
          },
        ],
      });
      await c.waitFor(() => patches(c).some((p) => p.key === 'banner'));
      expect(patches(c).map((p) => p.key)).toEqual(['staff', 'banner']);
      await ok('PATCH', `${api}/flags/banner`, { clientSide: false });
      await c.waitFor(() => patches(c).some((p) => p.key === 'banner' && p.value === null));
      expect(patches(c).some((p) => p.key === 'billing')).toBe(false);
    } finally {
      c.close();
      await ok('PATCH', `${api}/flags/banner`, { clientSide: true });
    }
  });

  it('sends heartbeats as comments and advises a retry delay', async () => {
    const res = await fetch(`${url}/sdk/v1/stream`, { headers: { authorization: `Bearer ${serverKey}` } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n:\n')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(text.startsWith('retry: ')).toBe(true);
  });
});
