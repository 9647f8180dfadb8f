import type { ChangeEvent, NodeClientOptions, SwitchyardError } from '@switchyard/sdk-node';
import { createClient } from '@switchyard/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../packages/server/src/server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { API, createFlag, eventually, FAST_DELIVERY, type LiveServer, sleep, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

const on = { enabled: true, defaultServe: { variant: 'on' } };
const off = { enabled: true, defaultServe: { variant: 'off' } };

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function connect(live: LiveServer | { url: string }, sdkKey: string, extra: Partial<NodeClientOptions> = {}) {
  const client = createClient({
    sdkKey,
    baseUrl: live.url,
    logger: silent,
    sendEvents: false,
    initialRetryDelayMs: 20,
    maxRetryDelayMs: 200,
    stallTimeoutMs: 5_000,
    ...extra,
  });
  const changes: ChangeEvent[] = [];
  const errors: SwitchyardError[] = [];
  const seen: string[] = [];
  client.on('change', (c) => changes.push(c));
  client.on('error', (e) => errors.push(e));
  client.on('ready', () => seen.push('ready'));
  client.on('stale', () => seen.push('stale'));
  cleanup.push(() => client.close());
  return { client, changes, errors, seen };
}

async function live(): Promise<LiveServer> {
  const l = await startLiveServer();
  cleanup.push(() => l.s.close());
  return l;
}

describe('the Node SDK against a live server', () => {
  it('receives a flag change over the stream and names the flags that changed', async () => {
    const l = await live();
    await createFlag(l, 'banner', off);
    await l.ok('POST', `${API}/environments/prod/segments`, { key: 'staff', name: 'Staff', included: ['ann'] });
    await createFlag(l, 'staff-banner', {
      ...off,
      rules: [
        { id: 'staff', clauses: [{ attribute: 'key', op: 'inSegment', values: ['staff'] }], serve: { variant: 'on' } },
      ],
    });
    const { client, changes } = connect(l, (await l.key()).token);
    await client.waitForReady({ timeout: 5_000 });
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
    expect(client.getBoolean('staff-banner', { key: 'bob' }, false)).toBe(false);

    await l.ok('PATCH', `${API}/flags/banner/environments/prod`, { defaultServe: { variant: 'on' } });
    await eventually(() => changes.length >= 1, 'the change arrives');
    expect(changes[0]?.flags).toEqual(['banner']);
    expect(client.getBoolean('banner', { key: 'bob' }, false)).toBe(true);

    await l.ok('PUT', `${API}/environments/prod/segments/staff`, { name: 'Staff', included: ['ann', 'bob'] });
    await eventually(() => changes.length >= 2, 'the segment change arrives');
    expect(changes[1]?.flags).toEqual(['staff-banner']);
    expect(client.getBoolean('staff-banner', { key: 'bob' }, false)).toBe(true);
    expect(client.connectionMode).toBe('streaming');
  });

  it('keeps serving while the server is down, reconnects, and resumes without a full reload', async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    const proxy = new TcpProxy(l.port, { record: true });
    await proxy.listen();
    const proxyUrl = proxy.url;
    cleanup.push(() => proxy.close());
    const { client, changes, seen } = connect({ url: proxyUrl }, (await l.key()).token);
    await client.waitForReady({ timeout: 5_000 });
    const version = client.version;

    await l.s.app.close();
    await eventually(() => client.status === 'stale', 'the client notices the outage');
    expect(client.getBoolean('banner', { key: 'bob' }, false)).toBe(true);
    await sleep(300);
    expect(client.getBoolean('banner', { key: 'bob' }, false)).toBe(true);

    const putsBefore = proxy.downstream.split('event: put').length;
    const restarted = await restart(l);
    await eventually(() => client.status === 'ready', 'the client is back');
    expect(seen.slice(0, 2)).toEqual(['ready', 'stale']);
    expect(seen.at(-1)).toBe('ready');
    // Resumed from Last-Event-ID: the restarted server had nothing newer to send, and no put.
    expect(proxy.downstream.split('event: put').length).toBe(putsBefore);
    expect(client.version).toBe(version);

    const res = await restarted.inject({
      method: 'PATCH',
      url: `${API}/flags/banner/environments/prod`,
      headers: { authorization: `Bearer ${l.s.adminToken}` },
      payload: { defaultServe: { variant: 'off' } },
    });
    expect(res.statusCode).toBe(200);
    await eventually(() => changes.length === 1, 'a change after the restart arrives');
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
    expect(client.connectionMode).toBe('streaming');
  });

  it('reloads the whole ruleset when changes were made while it was away', async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    const { client, changes } = connect(l, (await l.key()).token);
    await client.waitForReady({ timeout: 5_000 });
    await l.s.app.close();
    await eventually(() => client.status === 'stale', 'the client notices the outage');
    // Another instance on the same database takes a write while this one is down.
    const other = await buildServer({ database: l.s.testDb.database, logger: false, delivery: FAST_DELIVERY });
    const res = await other.inject({
      method: 'PATCH',
      url: `${API}/flags/banner/environments/prod`,
      headers: { authorization: `Bearer ${l.s.adminToken}` },
      payload: { defaultServe: { variant: 'off' } },
    });
    expect(res.statusCode).toBe(200);
    await other.close();
    await restart(l);
    await eventually(() => changes.length === 1, 'the missed change arrives');
    expect(changes[0]?.flags).toEqual(['banner']);
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
    expect(client.status).toBe('ready');
  });

  it('a stream cut in the middle of an event leaves no trace, and the missed patch arrives on resume', async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    await createFlag(l, 'other', on);
    const proxy = new TcpProxy(l.port, { record: true });
    await proxy.listen();
    const proxyUrl = proxy.url;
    cleanup.push(() => proxy.close());
    const { client, changes, errors } = connect({ url: proxyUrl }, (await l.key()).token);
    await client.waitForReady({ timeout: 5_000 });
    const puts = () => proxy.downstream.split('event: put').length - 1;
    expect(puts()).toBe(1);

    proxy.cutInside = '"kind":"flag","key":"banner"';
    const config = await l.ok('PATCH', `${API}/flags/banner/environments/prod`, { defaultServe: { variant: 'off' } });
    await eventually(() => changes.length === 1, 'the patch arrives after the cut');
    expect(proxy.cutInside).toBeUndefined();
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
    expect(client.getBoolean('other', { key: 'bob' }, false)).toBe(true);
    expect(client.version).toBe(config.version);
    expect(errors.filter((e) => e.code === 'MALFORMED_DATA')).toEqual([]);
    // Resumed: the second connection carried the patch, not a new put.
    expect(puts()).toBe(1);
  });

  it('reports a malformed event, ignores it and keeps the last good ruleset and its stream', async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    const proxy = new TcpProxy(l.port, { record: true });
    await proxy.listen();
    const proxyUrl = proxy.url;
    cleanup.push(() => proxy.close());
    const { client, changes, errors } = connect({ url: proxyUrl }, (await l.key()).token);
    await client.waitForReady({ timeout: 5_000 });
    proxy.inject('event: patch\ndata: {"kind":"flag","key":"banner","version":99999,"value":{"key":"ban\n\n');
    proxy.inject('event: put\ndata: {"schemaVersion":1,"environment":"web/prod","version":99999,"flags":7}\n\n');
    await eventually(() => errors.filter((e) => e.code === 'MALFORMED_DATA').length === 2, 'both are reported');
    expect(client.getBoolean('banner', { key: 'bob' }, false)).toBe(true);
    await l.ok('PATCH', `${API}/flags/banner/environments/prod`, { defaultServe: { variant: 'off' } });
    await eventually(() => changes.length === 1, 'the next real change still arrives');
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
    expect(proxy.connections).toBe(1);
  });

  it('stops at once on a key the server refuses: a clear error and a single request', async () => {
    const l = await live();
    const { client, errors } = connect(l, 'sy_server_0000000000000000000000000000');
    const ready = client.waitForReady({ timeout: 5_000 });
    await expect(ready).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    expect(errors[0]?.message).toMatch(/refused the SDK key/);
    await sleep(500);
    expect(l.count('/sdk/v1/stream')).toBe(1);
    expect(l.count('/sdk/v1/ruleset')).toBe(0);
    expect(client.status).toBe('failed');
    expect(client.getBoolean('anything', {}, true)).toBe(true);
  });

  it('a key revoked while connected ends in one clear error and no retry storm', { timeout: 40_000 }, async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    const key = await l.key();
    const { client, errors } = connect(l, key.token, { pollIntervalMs: 1_000 });
    await client.waitForReady({ timeout: 5_000 });
    await l.ok('POST', `/api/v1/keys/${key.id}/revoke`);
    // The server ends revoked streams at once, but keeps a resolved key for up to 10 s.
    await eventually(() => client.status === 'failed', 'the key is refused', 30_000);
    const requests = l.count('/sdk/v1/stream') + l.count('/sdk/v1/ruleset');
    expect(errors.filter((e) => e.code === 'UNAUTHORIZED')).toHaveLength(1);
    // Backoff, then polling once streaming kept failing: a handful of requests, not a storm.
    expect(requests).toBeLessThanOrEqual(20);
    await sleep(1_500);
    expect(l.count('/sdk/v1/stream') + l.count('/sdk/v1/ruleset')).toBe(requests);
    expect(client.getBoolean('banner', { key: 'bob' }, false)).toBe(true);
  });
});

/** A new server instance on the same database and port, standing in for a restart. */
async function restart(l: LiveServer): Promise<Awaited<ReturnType<typeof buildServer>>> {
  const app = await buildServer({ database: l.s.testDb.database, logger: false, delivery: FAST_DELIVERY });
  await app.listen({ port: l.port, host: '127.0.0.1' });
  cleanup.push(() => app.close());
  return app;
}

describe('the Node SDK through faults a proxy makes', () => {
  it('polls the ruleset with If-None-Match when streams keep failing, and still gets changes', async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    const proxy = new TcpProxy(l.port, { record: true });
    await proxy.listen();
    const proxyUrl = proxy.url;
    cleanup.push(() => proxy.close());
    proxy.answer502When = 'GET /sdk/v1/stream';
    const { client, changes } = connect({ url: proxyUrl }, (await l.key()).token, { pollIntervalMs: 100 });
    await client.waitForReady({ timeout: 5_000 });
    expect(client.connectionMode).toBe('polling');
    expect(client.getBoolean('banner', { key: 'bob' }, false)).toBe(true);
    // Unchanged rulesets are answered 304 (no body): only the first poll carried the ruleset.
    const answers = (status: number) => proxy.downstream.match(new RegExp(`HTTP/1\\.1 ${status}`, 'g'))?.length ?? 0;
    await eventually(() => answers(304) >= 2, 'a few polls answered 304');
    expect(answers(200)).toBe(1);

    await l.ok('PATCH', `${API}/flags/banner/environments/prod`, { defaultServe: { variant: 'off' } });
    await eventually(() => changes.length === 1, 'the change arrives by polling');
    expect(changes[0]?.flags).toEqual(['banner']);
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
    expect(l.count('/sdk/v1/stream')).toBe(0);
  });

  it('reconnects a stream that goes silent, heartbeats included, and catches up', async () => {
    const l = await live();
    await createFlag(l, 'banner', on);
    const proxy = new TcpProxy(l.port, { record: true });
    await proxy.listen();
    const proxyUrl = proxy.url;
    cleanup.push(() => proxy.close());
    const { client, changes, errors } = connect({ url: proxyUrl }, (await l.key()).token, { stallTimeoutMs: 1_000 });
    await client.waitForReady({ timeout: 5_000 });
    proxy.freeze();
    await l.ok('PATCH', `${API}/flags/banner/environments/prod`, { defaultServe: { variant: 'off' } });
    await eventually(() => changes.length === 1, 'the change arrives on a new stream');
    expect(errors.map((e) => e.code)).toContain('STREAM_STALLED');
    expect(l.count('/sdk/v1/stream')).toBeGreaterThanOrEqual(2);
    expect(client.getBoolean('banner', { key: 'bob' }, true)).toBe(false);
  });
});
