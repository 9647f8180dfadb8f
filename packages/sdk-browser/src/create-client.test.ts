import type { ChangeEvent, Ruleset, SwitchyardError } from '@switchyard/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BOOTSTRAP_VARIANT } from './bootstrap.js';
import { type BrowserClientOptions, createClient } from './create-client.js';
import { elapse, fakeServer, patchEvent, putEvent, rulesetOf, serving, settle } from './fake-server.fixture.js';
import { clientFlag } from './flags.fixture.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const flag = clientFlag;

const ruleset: Ruleset = {
  schemaVersion: 1,
  environment: 'web/prod',
  version: 7,
  segments: [],
  flags: [
    flag('beta', {
      rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } }],
    }),
    flag('staff', { targets: [{ variant: 'on', values: ['ada'] }] }),
    flag('always', { defaultServe: { variant: 'on' } }),
  ],
};

const offline = (bootstrap: Ruleset | Record<string, boolean | string | number | null>, context = {}) =>
  createClient({ clientKey: '', baseUrl: '', offline: true, bootstrap, context });

const KEY = 'sy_client_abc';

/** A client of the fake server, with quick retries, for `ada`; warnings are kept in `warnings`. */
function online(options: Partial<BrowserClientOptions> = {}) {
  const warnings: string[] = [];
  const errors: SwitchyardError[] = [];
  const client = createClient({
    clientKey: KEY,
    baseUrl: 'https://flags.test',
    context: { key: 'ada' },
    initialRetryDelayMs: 100,
    maxRetryDelayMs: 400,
    logger: { warn: (message) => warnings.push(message) },
    ...options,
  });
  client.on('error', (error) => errors.push(error));
  return { client, warnings, errors };
}

/** `localStorage` as a page has it, in memory. */
function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  vi.stubGlobal('localStorage', {
    getItem: (key: string) => data.get(key) ?? null,
    setItem: (key: string, value: string) => data.set(key, value),
  });
  return data;
}

/** What `ada` is served for every flag of a ruleset cached under the test key. */
const cachedJson = (r: Ruleset) => ({ [`switchyard:${KEY}`]: JSON.stringify(r) });

describe('the browser client, offline', () => {
  it('evaluates for the context it was created with, synchronously', () => {
    const client = offline(ruleset, { key: 'bob', country: 'NL' });
    expect(client.status).toBe('ready');
    expect(client.getBoolean('beta', false)).toBe(true);
    expect(client.getBoolean('staff', true)).toBe(false);
    expect(client.getDetail('beta', false, 'boolean')).toMatchObject({ reason: 'TARGETING_MATCH', ruleId: 'nl' });
    expect(client.getDetail('missing', 'x')).toMatchObject({
      value: 'x',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(client.getString('beta', 'x')).toBe('x');
  });

  it('re-evaluates locally on identify and reports only the flags whose value changed', () => {
    const client = offline(ruleset, { key: 'bob', country: 'NL' });
    const changes: ChangeEvent[] = [];
    client.on('change', (event) => changes.push(event));
    client.identify({ key: 'ada', country: 'DE' });
    expect(client.context).toEqual({ key: 'ada', country: 'DE' });
    expect(client.getBoolean('beta', true)).toBe(false);
    expect(client.getBoolean('staff', false)).toBe(true);
    expect(changes).toEqual([{ flags: ['beta', 'staff'], version: 7 }]);
    client.identify({ key: 'ada', country: 'FR' });
    expect(changes).toHaveLength(1);
  });

  it('stops calling a listener once it is removed, by the function `on` returns or by `off`', () => {
    const client = offline(ruleset, { key: 'bob' });
    const seen: string[][] = [];
    const other: string[][] = [];
    const stop = client.on('change', (event) => seen.push(event.flags));
    const listener = (event: ChangeEvent) => other.push(event.flags);
    client.on('change', listener);
    client.identify({ key: 'ada' });
    stop();
    client.off('change', listener);
    client.identify({ key: 'bob' });
    expect(seen).toEqual([['staff']]);
    expect(other).toEqual([['staff']]);
  });

  it("serves the Node SDK's allFlags output as a bootstrap, each value typed after itself", () => {
    const client = offline({ banner: true, theme: 'dark', limit: 3, layout: null });
    expect(client.getBoolean('banner', false)).toBe(true);
    expect(client.getString('theme', 'light')).toBe('dark');
    expect(client.getNumber('limit', 0)).toBe(3);
    expect(client.getJson('layout', { a: 1 })).toBe(null);
    expect(client.getDetail('theme', '', 'string')).toMatchObject({ variant: BOOTSTRAP_VARIANT, reason: 'STATIC' });
    expect(client.getDetail('theme', false, 'boolean')).toMatchObject({ value: false, errorCode: 'TYPE_MISMATCH' });
    expect(client.allFlags()).toEqual({ banner: true, theme: 'dark', limit: 3, layout: null });
  });

  it('keeps serving what it has after close', async () => {
    const client = offline(ruleset, { key: 'ada' });
    await client.close();
    expect(client.status).toBe('closed');
    expect(client.getBoolean('staff', false)).toBe(true);
  });

  it('is ready without a bootstrap (serving defaults), and failed with an unusable one', async () => {
    const empty = createClient({ clientKey: '', baseUrl: '', offline: true });
    await empty.waitForReady();
    expect(empty.getDetail('x', 1)).toMatchObject({ value: 1, errorCode: 'PROVIDER_NOT_READY' });
    const broken = createClient({
      clientKey: '',
      baseUrl: '',
      offline: true,
      bootstrap: { ...ruleset, schemaVersion: 9 } as unknown as Ruleset,
      logger: { warn() {} },
    });
    expect(broken.status).toBe('failed');
    await expect(broken.waitForReady()).rejects.toMatchObject({ code: 'BOOTSTRAP_FAILED', name: 'SwitchyardError' });
  });
});

describe('the browser client following the server', () => {
  it("serves the server's ruleset, is ready, and reports the values that changed", async () => {
    const server = fakeServer();
    const { client } = online();
    const changes: ChangeEvent[] = [];
    const ready = vi.fn(() => client.allFlags());
    client.on('change', (event) => changes.push(event));
    client.on('ready', ready);
    expect(client.status).toBe('initializing');
    expect(client.getDetail('banner', false)).toMatchObject({ value: false, errorCode: 'PROVIDER_NOT_READY' });
    await settle();
    expect(server.last.url).toBe(`https://flags.test/sdk/v1/stream?key=${KEY}&lastEventId=`);
    server.last.send(putEvent(rulesetOf(4, [serving('banner', 'on'), serving('dark', 'off')])));
    await settle();
    await client.waitForReady();
    expect(client.status).toBe('ready');
    expect(ready).toHaveBeenCalledTimes(1);
    // A ready listener already reads the server's values.
    expect(ready.mock.results[0]?.value).toEqual({ banner: true, dark: false });
    expect(client.version).toBe(4);
    expect(client.getBoolean('banner', false)).toBe(true);
    expect(client.allFlags()).toEqual({ banner: true, dark: false });
    expect(changes).toEqual([{ flags: ['banner', 'dark'], version: 4 }]);

    server.last.send(patchEvent({ kind: 'flag', key: 'dark', version: 5, value: serving('dark', 'off', 5) }));
    server.last.send(patchEvent({ kind: 'flag', key: 'banner', version: 6, value: null }));
    await settle();
    expect(client.version).toBe(6);
    expect(client.getDetail('banner', false)).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
    // The patch to `dark` changed nothing `ada` is served.
    expect(changes.slice(1)).toEqual([{ flags: ['banner'], version: 6 }]);
  });

  it('keeps the last good ruleset when an event is malformed, and reports MALFORMED_DATA', async () => {
    const server = fakeServer();
    const { client, errors, warnings } = online();
    await settle();
    server.last.send(putEvent(rulesetOf(4, [serving('banner', 'on')])));
    server.last.send('event: put\nid: 5\ndata: {"schemaVersion":1,\n\n');
    server.last.send(`event: put\nid: 6\ndata: ${JSON.stringify({ ...rulesetOf(6, []), schemaVersion: 99 })}\n\n`);
    server.last.send('event: patch\nid: 7\ndata: not json\n\n');
    server.last.send('event: patch\nid: 8\ndata: null\n\n');
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['MALFORMED_DATA', 'MALFORMED_DATA', 'MALFORMED_DATA', 'MALFORMED_DATA']);
    expect(warnings[0]).toMatch(/^switchyard: bad put ignored: SyntaxError/);
    expect(client.version).toBe(4);
    expect(client.getBoolean('banner', false)).toBe(true);
    expect(client.status).toBe('ready');
    // The stream goes on, and is resumed from the last version applied.
    server.last.end();
    await elapse(400);
    expect(server.streams.map((s) => s.lastEventId)).toEqual([undefined, '4']);
  });

  it('never lets an older put of the same environment replace a newer one', async () => {
    const server = fakeServer();
    const { client } = online();
    await settle();
    server.last.send(putEvent(rulesetOf(9, [serving('banner', 'on', 9)])));
    server.last.send(putEvent(rulesetOf(8, [serving('banner', 'off', 8)])));
    await settle();
    expect(client.version).toBe(9);
    expect(client.getBoolean('banner', false)).toBe(true);
    // Another environment (the key was moved) is not older: it is another history.
    server.last.send(putEvent(rulesetOf(2, [serving('banner', 'off', 2)], 'web/staging')));
    await settle();
    expect(client.version).toBe(2);
    expect(client.getBoolean('banner', true)).toBe(false);
  });

  it('goes stale when the stream is lost, and is ready again, resumed from its version, when it returns', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const server = fakeServer();
    const { client, errors } = online();
    const events: string[] = [];
    client.on('ready', () => events.push(`ready ${client.status}`));
    client.on('stale', (error) => events.push(`stale ${error.code} ${client.status}`));
    await settle();
    server.last.send(putEvent(rulesetOf(4, [serving('banner', 'on')])));
    await settle();
    server.plan('down', 503);
    server.last.end();
    await settle();
    expect(client.status).toBe('stale');
    expect(client.getBoolean('banner', false)).toBe(true);
    await elapse(50 + 100 + 200);
    expect(server.requests).toHaveLength(4);
    expect(client.status).toBe('ready');
    expect(server.last.lastEventId).toBe('4');
    expect(events).toEqual(['ready ready', 'stale STREAM_FAILED stale', 'ready ready']);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['STREAM_FAILED', 'switchyard: stream lost'],
      ['STREAM_FAILED', 'switchyard: stream lost'],
      ['STREAM_FAILED', 'switchyard: stream lost'],
    ]);
  });

  it('stops for good when the key is refused: failed, UNAUTHORIZED, no further request, no analytics', async () => {
    const server = fakeServer();
    server.plan(401);
    const { client, errors } = online();
    const waiting = expect(client.waitForReady()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      status: 401,
      message: 'switchyard: key refused (401)',
    });
    client.getBoolean('banner', false);
    client.track('checkout');
    await settle();
    expect(client.status).toBe('failed');
    await waiting;
    await expect(client.waitForReady()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    await elapse(120_000);
    await client.flush();
    server.fire('pagehide');
    await client.close();
    expect(server.requests).toHaveLength(1);
    expect(server.probes).toHaveLength(1);
    expect(server.posts).toEqual([]);
  });

  it('serves the cache at once; when the server cannot be reached it is ready with it, and stale', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const storage = memoryStorage(cachedJson(rulesetOf(3, [serving('banner', 'on')])));
    const server = fakeServer();
    server.plan('down');
    const { client } = online();
    // Synchronously, before any request was answered: no flicker on a page load.
    expect(client.getBoolean('banner', false)).toBe(true);
    expect(client.status).toBe('initializing');
    expect(client.version).toBe(3);
    await client.waitForReady();
    expect(client.status).toBe('stale');
    // The cache is a stand-in: the first connection does not resume from it, and the server's
    // ruleset replaces it even when older (a new database).
    await elapse(1);
    expect(server.last.lastEventId).toBeUndefined();
    server.last.send(putEvent(rulesetOf(2, [serving('banner', 'off', 2)])));
    await settle();
    expect(client.status).toBe('ready');
    expect(client.getBoolean('banner', true)).toBe(false);
    expect(JSON.parse(storage.get(`switchyard:${KEY}`) as string)).toEqual(rulesetOf(2, [serving('banner', 'off', 2)]));
    server.last.send(patchEvent({ kind: 'flag', key: 'banner', version: 3, value: serving('banner', 'on', 3) }));
    await settle();
    expect(JSON.parse(storage.get(`switchyard:${KEY}`) as string)).toMatchObject({ version: 3 });
  });

  it("applies patches to the server's data only, never to a cached stand-in", async () => {
    memoryStorage(cachedJson(rulesetOf(3, [serving('banner', 'on')])));
    const server = fakeServer();
    const { client } = online();
    await settle();
    server.last.send(patchEvent({ kind: 'flag', key: 'banner', version: 4, value: serving('banner', 'off', 4) }));
    await settle();
    expect(client.version).toBe(3);
    expect(client.getBoolean('banner', false)).toBe(true);
  });

  it('applies nothing more of a chunk once a listener closed the client', async () => {
    const server = fakeServer();
    const { client } = online();
    client.on('change', () => void client.close());
    await settle();
    server.last.send(
      putEvent(rulesetOf(4, [serving('banner', 'on')])) + putEvent(rulesetOf(5, [serving('banner', 'off')])),
    );
    await settle();
    expect(client.version).toBe(4);
    expect(client.getBoolean('banner', false)).toBe(true);
  });

  it('without a cache, stays initializing while the server cannot be reached, and waitForReady times out', async () => {
    const server = fakeServer();
    server.plan('down', 'down', 'down');
    const { client } = online();
    const waiting = expect(client.waitForReady({ timeout: 500 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await elapse(499);
    expect(server.requests.length).toBeGreaterThan(1);
    await elapse(1);
    await waiting;
    expect(client.status).toBe('initializing');
  });

  it('serves a bootstrap rather than the cache, and neither reads nor writes the cache when told not to', async () => {
    const storage = memoryStorage(cachedJson(rulesetOf(3, [serving('banner', 'on')])));
    const before = [...storage];
    const server = fakeServer();
    expect(online({ bootstrap: { banner: false } }).client.getBoolean('banner', true)).toBe(false);
    const uncached = online({ cache: false }).client;
    expect(uncached.getDetail('banner', true)).toMatchObject({ errorCode: 'PROVIDER_NOT_READY' });
    await settle();
    server.streams[1]?.send(putEvent(rulesetOf(5, [serving('banner', 'off')])));
    await settle();
    expect(uncached.version).toBe(5);
    expect([...storage]).toEqual(before);
  });

  it('works, uncached, where localStorage throws', async () => {
    vi.stubGlobal('localStorage', {
      getItem() {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem() {
        throw new DOMException('full', 'QuotaExceededError');
      },
    });
    const server = fakeServer();
    const { client, errors } = online();
    await settle();
    server.last.send(putEvent(rulesetOf(5, [serving('banner', 'on')])));
    await settle();
    expect(client.getBoolean('banner', false)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('closes: the stream is aborted, page listeners removed, waitForReady rejects with CLOSED', async () => {
    const server = fakeServer();
    const { client } = online();
    const waiting = expect(client.waitForReady()).rejects.toMatchObject({ code: 'CLOSED' });
    await settle();
    expect(server.listenerCount()).toBe(2);
    await client.close();
    await waiting;
    expect(client.status).toBe('closed');
    expect(server.last.aborted).toBe(true);
    expect(server.listenerCount()).toBe(0);
    await elapse(60_000);
    expect(server.requests).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('serves its bootstrap without contacting the server where there is no EventSource (server-side rendering)', async () => {
    const server = fakeServer();
    vi.stubGlobal('EventSource', undefined);
    const { client, errors } = online({ bootstrap: { banner: true } });
    await settle();
    expect(client.status).toBe('ready');
    await client.waitForReady();
    expect(client.getBoolean('banner', false)).toBe(true);
    client.track('rendered');
    await client.close();
    expect(server.requests).toEqual([]);
    expect(server.posts).toEqual([]);
    expect(server.listenerCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('follows the server where there is no addEventListener', async () => {
    const server = fakeServer();
    vi.stubGlobal('addEventListener', undefined);
    vi.stubGlobal('removeEventListener', undefined);
    const { client } = online();
    await settle();
    server.last.send(putEvent(rulesetOf(4, [serving('banner', 'on')])));
    await settle();
    expect(client.getBoolean('banner', false)).toBe(true);
    await client.close();
    expect(client.status).toBe('closed');
  });

  it('does not stop for a listener that throws: the others run, and the error surfaces uncaught', async () => {
    const server = fakeServer();
    const { client } = online();
    const seen: string[] = [];
    client.on('change', () => {
      throw new Error('boom');
    });
    client.on('change', (event) => seen.push(...event.flags));
    await settle();
    server.last.send(putEvent(rulesetOf(4, [serving('banner', 'on')])));
    await settle();
    expect(seen).toEqual(['banner']);
    expect(client.status).toBe('ready');
    expect(() => vi.runOnlyPendingTimers()).toThrow('boom');
    expect(server.streams).toHaveLength(1);
  });
});

describe('analytics', () => {
  /** A ready client of the fake server with flags `banner` (on) and `dark` (off). */
  async function readyClient(options: Partial<BrowserClientOptions> = {}) {
    const server = fakeServer();
    const made = online(options);
    await settle();
    server.last.send(putEvent(rulesetOf(4, [serving('banner', 'on'), serving('dark', 'off')])));
    await settle();
    return { server, ...made };
  }

  it('counts evaluations per flag, variant and reason, and sends them with track events as one batch', async () => {
    const { server, client } = await readyClient();
    const start = Date.now();
    for (let i = 0; i < 3; i++) client.getBoolean('banner', false);
    client.getDetail('dark', false);
    client.getString('banner', 'x');
    client.getNumber('missing', 1);
    client.identify({ key: 'bob' });
    client.track('checkout', 12.5);
    client.track('signup', Number.NaN);
    client.identify({});
    client.track('view');
    await elapse(1000);
    await client.flush();
    expect(server.posts).toEqual([
      {
        url: `https://flags.test/sdk/v1/events?key=${KEY}`,
        keepalive: true,
        body: {
          id: expect.stringMatching(new RegExp(`^${start}-0\\.\\d+$`)),
          window: { start, end: start + 1000 },
          evaluations: [
            { flag: 'banner', variant: 'on', reason: 'STATIC', count: 3 },
            { flag: 'dark', variant: 'off', reason: 'STATIC', count: 1 },
            { flag: 'banner', variant: null, reason: 'ERROR', count: 1 },
            { flag: 'missing', variant: null, reason: 'ERROR', count: 1 },
          ],
          events: [
            { event: 'checkout', key: 'bob', value: 12.5, timestamp: start },
            { event: 'signup', key: 'bob', timestamp: start },
            { event: 'view', timestamp: start },
          ],
          exposures: [],
          dropped: { evaluations: 0, events: 0 },
        },
      },
    ]);
    // The next window starts where this one ended; an empty window sends nothing.
    await client.flush();
    expect(server.posts).toHaveLength(1);
    client.getBoolean('banner', false);
    await elapse(10_000);
    expect(server.posts[1]?.body).toMatchObject({ window: { start: start + 1000 } });
  });

  it('drops what is past its bounds, counting it, and sends a batch too large for keep-alive as an ordinary request', async () => {
    const { server, client } = await readyClient();
    const name = 'e'.repeat(100);
    for (let i = 0; i < 1003; i++) client.track(name);
    for (let i = 0; i < 10_003; i++) client.getBoolean(`f${i}`, false);
    await client.flush();
    const batch = server.posts[0];
    expect(batch?.keepalive).toBe(false);
    expect(batch?.body.dropped).toEqual({ evaluations: 3, events: 3 });
    expect(batch?.body.events).toHaveLength(1000);
    expect(batch?.body.evaluations).toHaveLength(10_000);
  });

  it('drops, counting them, the track events and counters the server would refuse the whole batch for', async () => {
    const { server, client } = await readyClient();
    client.track('');
    client.track('e'.repeat(201));
    client.track(42 as unknown as string);
    client.identify({ key: 'k'.repeat(257) });
    client.track('too-long-key');
    client.getBoolean('f'.repeat(129), false);
    // Keys that name no flag: answered with the default, never thrown at the page.
    for (const key of ['', undefined, 42]) expect(client.getBoolean(key as unknown as string, true)).toBe(true);
    client.identify({ key: 'k'.repeat(256) });
    client.track('e'.repeat(200));
    await client.flush();
    expect(server.posts[0]?.body).toMatchObject({
      evaluations: [],
      events: [{ event: 'e'.repeat(200), key: 'k'.repeat(256) }],
      dropped: { evaluations: 4, events: 4 },
    });
  });

  it('sends a track value only as a number within ±1e15, which the server sums and squares', async () => {
    const { server, client } = await readyClient();
    const values = [42.5, -1e15, 1e15, 1e200, -Infinity, Number.NaN, '7', undefined, { n: 1 }];
    for (const value of values) client.track('paid', value as number);
    await client.flush();
    const batch = server.posts[0]?.body as { events: { value?: number }[] } | undefined;
    expect(batch?.events.map((e) => e.value)).toEqual([
      42.5,
      -1e15,
      1e15,
      undefined,
      undefined,
      undefined,
      7,
      undefined,
      undefined,
    ]);
  });

  it('sends on an interval, when the page is hidden or left, and on close', async () => {
    const { server, client } = await readyClient({ flushIntervalMs: 5000 });
    client.getBoolean('banner', false);
    await elapse(4999);
    expect(server.posts).toHaveLength(0);
    await elapse(1);
    expect(server.posts).toHaveLength(1);
    for (const type of ['visibilitychange', 'pagehide']) {
      client.track(type);
      server.fire(type);
      await settle();
    }
    client.track('closing');
    await client.close();
    expect(server.posts.map((p) => (p.body.events as { event: string }[]).map((e) => e.event))).toEqual([
      [],
      ['visibilitychange'],
      ['pagehide'],
      ['closing'],
    ]);
  });

  it('reports a batch the server refuses or that cannot be sent', async () => {
    const { server, client, errors } = await readyClient();
    server.postStatus = 400;
    client.track('a');
    await client.flush();
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('offline')));
    client.track('b');
    await client.flush();
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['EVENTS_FAILED', 'switchyard: events not sent: 400'],
      ['EVENTS_FAILED', 'switchyard: events not sent: TypeError: offline'],
    ]);
  });

  it('records one exposure per context key and variant of a measured flag, none of an unmeasured one', async () => {
    const server = fakeServer();
    const { client } = online();
    await settle();
    const banner = flag('banner', { measured: true, targets: [{ variant: 'on', values: ['ada'] }] });
    server.last.send(putEvent(rulesetOf(5, [banner, serving('dark', 'off')])));
    await settle();
    const start = Date.now();
    for (const key of ['ada', 'bob', 'ada', 'bob', 'ada']) {
      client.identify({ key });
      for (let i = 0; i < 3; i++) {
        client.getBoolean('banner', false);
        client.getDetail('dark', false);
      }
    }
    // No key, no unit; a caller's default (the wrong type) serves no variant.
    client.identify({});
    client.getBoolean('banner', false);
    client.identify({ key: 'cy' });
    client.getString('banner', 'x');
    // A key the server would refuse the batch for is not sent.
    client.identify({ key: 'k'.repeat(257) });
    client.getBoolean('banner', false);
    await client.flush();
    // Remembered across batches: served again, not sent again.
    client.identify({ key: 'ada' });
    client.getBoolean('banner', false);
    await client.flush();
    expect(server.posts.map((p) => p.body.exposures)).toEqual([
      [
        { flag: 'banner', variant: 'on', key: 'ada', timestamp: start },
        { flag: 'banner', variant: 'off', key: 'bob', timestamp: start },
      ],
      [],
    ]);
    expect(new Set(server.posts.map((p) => p.body.id)).size).toBe(2);
  });

  it('remembers the 10,000 units served last: one served before them is exposed again', async () => {
    const server = fakeServer();
    const { client } = online();
    await settle();
    server.last.send(putEvent(rulesetOf(5, [flag('banner', { measured: true })])));
    await settle();
    const serve = (key: string) => {
      client.identify({ key });
      client.getBoolean('banner', false);
    };
    serve('first');
    serve('second');
    for (let i = 0; i < 9998; i++) serve(`u${i}`);
    await client.flush();
    // "first" is served again, so "second" is now the least recently served of the 10,000, and
    // the next new unit makes it forgotten.
    serve('first');
    serve('last');
    serve('first');
    serve('second');
    await client.flush();
    const keys = server.posts.map((p) => (p.body.exposures as { key: string }[]).map((e) => e.key));
    expect(keys[0]).toHaveLength(10_000);
    expect(keys[1]).toEqual(['last', 'second']);
  });

  it('sends a batch that got no answer, a 5xx or a 429 again, unchanged under its id; not one refused', async () => {
    const server = fakeServer();
    const { client, errors } = online();
    await settle();
    server.last.send(putEvent(rulesetOf(5, [flag('banner', { measured: true })])));
    await settle();
    client.getBoolean('banner', false);
    server.postStatus = 503;
    await client.flush();
    client.track('second');
    server.postStatus = 429;
    await client.flush();
    const serverFetch = globalThis.fetch;
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('offline')));
    await client.flush();
    vi.stubGlobal('fetch', serverFetch);
    server.postStatus = 202;
    await client.flush();
    await client.flush();
    client.track('third');
    server.postStatus = 400;
    await client.flush();
    await client.flush();
    expect(errors.map((e) => e.message.replace('switchyard: events not sent: ', ''))).toEqual([
      '503',
      '429',
      '429',
      'TypeError: offline',
      'TypeError: offline',
      '400',
    ]);
    const [a, , b, , , c] = server.posts.map((p) => p.body);
    expect(a?.exposures).toEqual([expect.objectContaining({ flag: 'banner', variant: 'off', key: 'ada' })]);
    expect(b?.events).toEqual([expect.objectContaining({ event: 'second' })]);
    expect(c?.events).toEqual([expect.objectContaining({ event: 'third' })]);
    expect(server.posts.map((p) => p.body.id)).toEqual([a?.id, a?.id, b?.id, a?.id, b?.id, c?.id]);
    expect(new Set([a?.id, b?.id, c?.id]).size).toBe(3);
    // Sent again means sent as it was, byte for byte.
    expect(server.posts[3]?.body).toEqual(a);
  });

  it('sends nothing when told not to', async () => {
    const { server, client } = await readyClient({ sendEvents: false });
    client.getBoolean('banner', false);
    client.track('checkout');
    server.fire('pagehide');
    await elapse(60_000);
    await client.close();
    expect(server.posts).toEqual([]);
    expect(server.listenerCount()).toBe(0);
  });
});
