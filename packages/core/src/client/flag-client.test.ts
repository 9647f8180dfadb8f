import { describe, expect, it } from 'vitest';
import { boolFlag } from '../builders.fixture.js';
import { SwitchyardError } from '../errors.js';
import type { Flag, Ruleset } from '../types.js';
import { fakePlatform, MemoryStorage, settle } from './fakes.fixture.js';
import { type ChangeEvent, FlagClient } from './flag-client.js';
import type { ClientOptions } from './options.js';

const flag = (key: string, version: number, on = true): Flag =>
  boolFlag(key, { version, defaultServe: { variant: on ? 'on' : 'off' } });

const ruleset = (version: number, flags: Flag[]): Ruleset => ({
  schemaVersion: 1,
  environment: 'web/prod',
  version,
  flags,
  segments: [],
});

const options: ClientOptions = {
  sdkKey: 'sy_server_test',
  baseUrl: 'http://flags.test/',
  initialRetryDelayMs: 1000,
  maxRetryDelayMs: 8000,
  stallTimeoutMs: 45_000,
  streamFailuresBeforePolling: 3,
  pollIntervalMs: 30_000,
  streamRetryIntervalMs: 300_000,
  flushIntervalMs: 10_000,
  // Analytics have their own tests; without them the only timers are the connection's.
  sendEvents: false,
};

function setup(extra: Partial<ClientOptions> = {}, storage?: MemoryStorage) {
  const fake = fakePlatform(storage);
  const client = new FlagClient({ ...options, ...extra }, fake.platform);
  const errors: SwitchyardError[] = [];
  const changes: ChangeEvent[] = [];
  const seen: string[] = [];
  client.on('error', (e) => errors.push(e));
  client.on('change', (c) => changes.push(c));
  client.on('ready', () => seen.push('ready'));
  client.on('stale', () => seen.push('stale'));
  return { ...fake, client, errors, changes, seen };
}

describe('FlagClient over a stream', () => {
  it('is ready on the first put, and a patch changes a value and names the flag', async () => {
    const t = setup();
    const ready = t.client.waitForReady({ timeout: 1000 });
    expect(t.client.getBoolean('a', { key: 'u' }, false)).toBe(false);
    expect(t.client.getDetail('a', { key: 'u' }, false).errorCode).toBe('PROVIDER_NOT_READY');
    const s = t.stream.last;
    expect(s.request.url).toBe('http://flags.test/sdk/v1/stream');
    expect(s.request.headers.authorization).toBe('Bearer sy_server_test');
    s.open();
    s.send('put', ruleset(5, [flag('a', 5), flag('b', 5)]), '5');
    await ready;
    expect(t.client.status).toBe('ready');
    expect(t.client.getBoolean('a', { key: 'u' }, false)).toBe(true);
    s.send('patch', { kind: 'flag', key: 'a', version: 6, value: flag('a', 6, false) }, '6');
    expect(t.client.getDetail('a', { key: 'u' }, true, 'boolean')).toMatchObject({ value: false, variant: 'off' });
    expect(t.changes).toEqual([{ flags: ['a'], version: 6 }]);
    expect(t.seen).toEqual(['ready']);
  });

  it('reports a malformed event, ignores it and keeps the last good ruleset and stream', () => {
    const t = setup();
    const s = t.stream.last;
    s.open();
    s.send('put', ruleset(5, [flag('a', 5)]), '5');
    s.send('patch', '{"kind": "flag", "key": "a", "version": 6, "value": {"key": "a", "enabl', '6');
    s.send('put', '{"schemaVersion": 1, "flags": 3}', '7');
    expect(t.errors.map((e) => e.code)).toEqual(['MALFORMED_DATA', 'MALFORMED_DATA']);
    expect(t.client.getBoolean('a', {}, false)).toBe(true);
    expect(t.client.version).toBe(5);
    expect(t.stream.opened).toHaveLength(1);
    expect(t.client.status).toBe('ready');
  });

  it('reconnects after a backoff with full jitter, resuming from the last complete version', () => {
    const t = setup();
    const first = t.stream.last;
    first.open();
    first.send('put', ruleset(5, [flag('a', 5)]), '5');
    // Two patches of version 6: only the last one carries the id.
    first.send('patch', { kind: 'flag', key: 'a', version: 6, value: flag('a', 6, false) });
    first.end();
    expect(t.client.status).toBe('stale');
    expect(t.seen).toEqual(['ready', 'stale']);
    expect(t.clock.delays()).toEqual([999]);
    t.clock.advance(999);
    const second = t.stream.last;
    expect(t.stream.opened).toHaveLength(2);
    expect(second.request.lastEventId).toBe('5');
    second.open();
    expect(t.client.status).toBe('ready');
    expect(t.seen).toEqual(['ready', 'stale', 'ready']);
    // It opened but delivered nothing before failing: the second failure in a row.
    second.end(503);
    expect(t.clock.delays()).toEqual([1999]);
    expect(t.errors.map((e) => [e.code, e.status])).toEqual([
      ['STREAM_FAILED', undefined],
      ['STREAM_FAILED', 503],
    ]);
  });

  it('reconnects a stream that sends nothing, not even a heartbeat, within the stall window', () => {
    const t = setup();
    const s = t.stream.last;
    s.open();
    s.send('put', ruleset(5, [flag('a', 5)]), '5');
    t.clock.advance(44_000);
    s.heartbeat();
    t.clock.advance(44_000);
    expect(t.stream.opened).toHaveLength(1);
    t.clock.advance(1_000);
    expect(s.closed).toBe(true);
    expect(t.errors.map((e) => e.code)).toEqual(['STREAM_STALLED']);
    t.clock.advance(1_000);
    expect(t.stream.opened).toHaveLength(2);
    expect(t.stream.last.request.lastEventId).toBe('5');
  });

  it('stops for good on a refused key: one clear error, no retry', async () => {
    const t = setup();
    const ready = t.client.waitForReady({ timeout: 60_000 });
    t.stream.last.end(401);
    await expect(ready).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(t.client.status).toBe('failed');
    expect(t.client.connectionMode).toBe('stopped');
    t.clock.advance(3_600_000);
    expect(t.stream.opened).toHaveLength(1);
    expect(t.http.requests.filter((r) => r.method === 'GET')).toHaveLength(0);
    expect(t.errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    await expect(t.client.waitForReady()).rejects.toBeInstanceOf(SwitchyardError);
  });

  it('sends no analytics once the key is refused, on no timer and not at close', async () => {
    const t = setup({ sendEvents: true });
    t.client.getBoolean('a', { key: 'u' }, false);
    t.client.track('checkout', { key: 'u' });
    t.stream.last.end(403);
    expect(t.client.status).toBe('failed');
    // Nothing is left to fire: no flush timer re-armed, no reconnection.
    expect(t.clock.delays()).toEqual([]);
    t.client.getBoolean('a', { key: 'u' }, false);
    await t.client.close();
    expect(t.http.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('falls back to polling with If-None-Match when streaming keeps failing, and streams again later', async () => {
    const t = setup();
    t.http.answer({ status: 200, body: ruleset(5, [flag('a', 5)]), headers: { etag: '"5"' } });
    t.http.fallback = { status: 304 };
    for (let i = 0; i < 3; i++) {
      t.stream.last.end(502);
      t.clock.advance(10_000);
    }
    await settle();
    expect(t.stream.opened).toHaveLength(3);
    expect(t.client.connectionMode).toBe('polling');
    expect(t.client.status).toBe('ready');
    expect(t.client.getBoolean('a', {}, false)).toBe(true);
    t.clock.advance(30_000);
    await settle();
    const [first, second] = t.http.requests;
    expect(first?.url).toBe('http://flags.test/sdk/v1/ruleset');
    expect(first?.headers['if-none-match']).toBeUndefined();
    expect(second?.headers['if-none-match']).toBe('"5"');
    // After streamRetryIntervalMs of polling, one stream attempt; when it opens, polling stops.
    for (let i = 0; i < 10; i++) {
      t.clock.advance(30_000);
      await settle();
    }
    const retry = t.stream.last;
    expect(t.stream.opened).toHaveLength(4);
    expect(retry.request.lastEventId).toBe('5');
    retry.open();
    expect(t.client.connectionMode).toBe('streaming');
    const polls = t.http.requests.length;
    t.clock.advance(120_000);
    await settle();
    expect(t.http.requests.length).toBe(polls);
  });

  it('streams again as soon as the server is back when polls fail too (the server was down)', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) {
      t.stream.last.end();
      t.clock.advance(10_000);
    }
    await settle();
    expect(t.http.requests).toHaveLength(1);
    expect(t.client.connectionMode).toBe('streaming');
    t.clock.advance(8_000);
    expect(t.stream.opened).toHaveLength(4);
    t.stream.last.open();
    t.stream.last.send('put', ruleset(1, []), '1');
    expect(t.client.status).toBe('ready');
  });

  it('streams again at once when a poll is answered after streams that got no answer (the server came back)', async () => {
    const t = setup();
    const s = t.stream.last;
    s.open();
    s.send('put', ruleset(5, [flag('a', 5)]), '5');
    // The server goes down: its stream ends, two connections are refused, and it is back for the poll.
    s.end();
    t.http.answer({ status: 304 });
    for (let i = 0; i < 2; i++) {
      t.clock.advance(10_000);
      t.stream.last.handlers.onClose({ message: 'connect ECONNREFUSED' });
    }
    expect(t.client.connectionMode).toBe('polling');
    t.clock.advance(0);
    await settle();
    expect(t.http.requests).toHaveLength(1);
    expect(t.http.requests[0]?.headers['if-none-match']).toBe('"5"');
    expect(t.stream.opened).toHaveLength(4);
    const resumed = t.stream.last;
    expect(resumed.request.lastEventId).toBe('5');
    resumed.open();
    expect(t.client.connectionMode).toBe('streaming');
    resumed.send('patch', { kind: 'flag', key: 'a', version: 6, value: flag('a', 6, false) }, '6');
    expect(t.client.getBoolean('a', {}, true)).toBe(false);
  });

  it('treats a stream cut soon after every put as failing, and a long healthy one as not', () => {
    const t = setup({ healthyStreamMs: 60_000 });
    for (let i = 0; i < 2; i++) {
      const s = t.stream.last;
      s.open();
      s.send('put', ruleset(5, [flag('a', 5)]), '5');
      t.clock.advance(1_000);
      s.end();
      t.clock.advance(10_000);
    }
    const s = t.stream.last;
    s.open();
    t.clock.advance(30_000);
    s.heartbeat();
    t.clock.advance(31_000);
    s.send('patch', { kind: 'flag', key: 'a', version: 6, value: flag('a', 6) }, '6');
    s.end();
    expect(t.clock.delays()).toEqual([999]);
    expect(t.client.connectionMode).toBe('streaming');
  });
});

describe('FlagClient after routine disconnects', () => {
  it('counts a resumed stream that only sent heartbeats for minutes as healthy, ended or stalled: it never drops to polling', () => {
    const t = setup({ healthyStreamMs: 60_000, stallTimeoutMs: 45_000 });
    let s = t.stream.last;
    s.open();
    s.send('put', ruleset(5, [flag('a', 5)]), '5');
    for (let i = 0; i < 4; i++) {
      // A quiet stream: no flag changes, a heartbeat every 15 s for ten minutes.
      for (let beat = 0; beat < 40; beat++) {
        t.clock.advance(15_000);
        s.heartbeat();
      }
      // Every other one ends (a deploy), the rest go silent (a proxy dropping them).
      if (i % 2 === 0) s.end();
      else t.clock.advance(45_000);
      expect(t.client.connectionMode).toBe('streaming');
      expect(t.clock.delays()).toEqual([999]);
      t.clock.advance(999);
      s = t.stream.last;
      expect(s.request.lastEventId).toBe('5');
      s.open();
    }
  });

  it('still counts a resumed stream that goes silent at once as failing', () => {
    const t = setup({ healthyStreamMs: 60_000, stallTimeoutMs: 45_000, streamFailuresBeforePolling: 3 });
    t.stream.last.open();
    t.stream.last.send('put', ruleset(5, [flag('a', 5)]), '5');
    t.stream.last.end();
    for (let i = 0; i < 2; i++) {
      t.clock.advance(t.clock.delays()[0] ?? 0);
      t.stream.last.open();
      t.clock.advance(45_000);
    }
    expect(t.client.connectionMode).toBe('polling');
  });
});

describe('FlagClient readiness', () => {
  it('rejects waitForReady with TIMEOUT and still serves defaults', async () => {
    const t = setup();
    const ready = t.client.waitForReady({ timeout: 5_000 });
    t.clock.advance(5_000);
    await expect(ready).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(t.client.getString('x', {}, 'fallback')).toBe('fallback');
  });

  it('serves the cached ruleset when the server cannot be reached at start, as ready but stale', async () => {
    const storage = new MemoryStorage();
    storage.data.set('switchyard:ruleset', JSON.stringify(ruleset(7, [flag('a', 7)])));
    const t = setup({}, storage);
    const ready = t.client.waitForReady({ timeout: 60_000 });
    await settle();
    expect(t.client.getBoolean('a', {}, false)).toBe(true);
    expect(t.client.status).toBe('initializing');
    t.stream.last.end();
    await ready;
    expect(t.client.status).toBe('stale');
    expect(t.seen).toEqual(['ready', 'stale']);
    t.clock.advance(1_000);
    // The cache is not the server's history: no resume from it.
    expect(t.stream.last.request.lastEventId).toBeUndefined();
    t.stream.last.open();
    t.stream.last.send('put', ruleset(8, [flag('a', 8, false)]), '8');
    expect(t.client.status).toBe('ready');
    expect(t.changes).toEqual([{ flags: ['a'], version: 8 }]);
    await settle();
    expect(JSON.parse(storage.data.get('switchyard:ruleset') ?? '{}').version).toBe(8);
  });

  it('offline: serves the bootstrap ruleset, is ready at once and makes no request', async () => {
    const t = setup({ offline: true, bootstrap: ruleset(3, [flag('a', 3, false)]) });
    await t.client.waitForReady();
    expect(t.client.getBoolean('a', {}, true)).toBe(false);
    t.client.track('clicked', { key: 'u' });
    await t.client.flush();
    await t.client.close();
    expect(t.stream.opened).toHaveLength(0);
    expect(t.http.requests).toHaveLength(0);
  });

  it('rejects pending waitForReady calls on close', async () => {
    const t = setup();
    const ready = t.client.waitForReady({ timeout: 60_000 });
    await t.client.close();
    await expect(ready).rejects.toMatchObject({ code: 'CLOSED' });
    expect(t.stream.last.closed).toBe(true);
  });
});

describe('FlagClient getters', () => {
  it('never throw, whatever they are given, and answer a type mismatch with the default', () => {
    const t = setup({ offline: true, bootstrap: ruleset(3, [flag('a', 3)]) });
    const hostile = {
      get country(): string {
        throw new Error('boom');
      },
    } as unknown as Record<string, string>;
    expect(t.client.getNumber('a', {}, 7)).toBe(7);
    expect(t.client.getDetail('a', {}, 7, 'number')).toMatchObject({ reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(t.client.getBoolean(42 as unknown as string, {}, true)).toBe(true);
    expect(t.client.getBoolean(10n as unknown as string, {}, true)).toBe(true);
    expect(t.client.getBoolean('a', null as unknown as Record<string, string>, false)).toBe(true);
    expect(t.client.getBoolean('a', hostile, false)).toBe(true);
    expect(t.client.getJson('a', {}, { x: 1 })).toEqual({ x: 1 });
  });

  it('a listener that throws does not stop the others', () => {
    const t = setup();
    let called = 0;
    t.client.on('ready', () => {
      throw new Error('listener bug');
    });
    t.client.on('ready', () => {
      called++;
    });
    t.stream.last.open();
    t.stream.last.send('put', ruleset(1, []), '1');
    expect(called).toBe(1);
  });

  it('lists every flag a context would be served, client-side flags only when asked', () => {
    const t = setup({
      offline: true,
      bootstrap: ruleset(3, [
        { ...flag('a', 3), clientSide: true },
        flag('b', 3, false),
        { ...flag('c', 3), enabled: false },
      ]),
    });
    expect(t.client.allFlags({ key: 'u' })).toEqual({ a: true, b: false });
    expect(t.client.allFlags({ key: 'u' }, { clientSideOnly: true })).toEqual({ a: true });
  });
});

describe('FlagClient analytics', () => {
  it('sends evaluation counts and track events on the interval, and a batch the server failed again, unchanged, before the next', async () => {
    const t = setup({ sendEvents: true });
    t.stream.last.open();
    t.stream.last.send('put', ruleset(5, [flag('a', 5)]), '5');
    for (let i = 0; i < 4; i++) t.client.getBoolean('a', { key: `u${i}` }, false);
    t.client.track('checkout', { key: 'u1' }, 12.5);
    t.http.answer({ status: 503 }, { status: 202 }, { status: 202 });
    t.clock.advance(10_000);
    await settle();
    expect(t.errors.map((e) => e.code)).toEqual(['EVENTS_FAILED']);
    t.client.getBoolean('a', { key: 'u9' }, false);
    await t.client.close();
    const posts = t.http.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(posts[1]?.url).toBe('http://flags.test/sdk/v1/events');
    expect(posts[1]?.headers.authorization).toBe('Bearer sy_server_test');
    expect(posts[1]?.body).toBe(posts[0]?.body);
    const [first, second] = [JSON.parse(posts[1]?.body ?? '{}'), JSON.parse(posts[2]?.body ?? '{}')];
    expect(first.evaluations).toEqual([{ flag: 'a', variant: 'on', reason: 'STATIC', count: 4 }]);
    expect(first.events).toEqual([{ event: 'checkout', key: 'u1', value: 12.5, timestamp: expect.any(Number) }]);
    expect(second.evaluations).toEqual([{ flag: 'a', variant: 'on', reason: 'STATIC', count: 1 }]);
    expect(second.id).not.toBe(first.id);
  });

  it('counts a key that names no flag the server takes as dropped, and never throws for it', async () => {
    const t = setup({ sendEvents: true });
    t.stream.last.open();
    t.stream.last.send('put', ruleset(5, [flag('a', 5)]), '5');
    for (const key of [undefined, 42, '', 'x'.repeat(129)]) {
      expect(t.client.getBoolean(key as unknown as string, { key: 'u' }, true)).toBe(true);
    }
    t.client.getBoolean('a', { key: 'u' }, false);
    t.http.answer({ status: 202 });
    await t.client.close();
    const batch = JSON.parse(t.http.requests.find((r) => r.method === 'POST')?.body ?? '{}');
    expect(batch.evaluations).toEqual([{ flag: 'a', variant: 'on', reason: 'STATIC', count: 1 }]);
    expect(batch.dropped).toEqual({ evaluations: 4, events: 0 });
  });

  it('keeps at most maxPendingBatches while the server is down, giving up the oldest, and sends the rest in order', async () => {
    const t = setup({ sendEvents: true, maxPendingBatches: 2 });
    t.http.fallback = new Error('connection refused');
    for (const event of ['e1', 'e2', 'e3']) {
      t.client.track(event, { key: 'u' });
      await t.client.flush();
    }
    expect(t.errors.map((e) => e.code)).toEqual(['EVENTS_FAILED', 'EVENTS_FAILED', 'EVENTS_DROPPED', 'EVENTS_FAILED']);
    expect(t.errors[2]?.message).toMatch(/an unsent batch/);
    t.http.fallback = { status: 202 };
    await t.client.flush();
    const posts = t.http.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body ?? '{}'));
    // Oldest first, stopping at the first failure: e1, e1 again, e2 once e1 was given up; then
    // e2 again under the id it had, and e3.
    expect(posts.map((b) => b.events[0].event)).toEqual(['e1', 'e1', 'e2', 'e2', 'e3']);
    expect(posts[3].id).toBe(posts[2].id);
  });

  it('drops a batch the server refuses, which it would refuse again', async () => {
    const t = setup({ sendEvents: true });
    t.client.track('e1', { key: 'u' });
    t.http.answer({ status: 400 }, { status: 202 });
    await t.client.flush();
    t.client.track('e2', { key: 'u' });
    await t.client.flush();
    const posts = t.http.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body ?? '{}'));
    expect(posts.map((b) => b.events.map((e: { event: string }) => e.event))).toEqual([['e1'], ['e2']]);
    expect(t.errors.map((e) => e.message)).toEqual(['switchyard: sending analytics failed (the server answered 400)']);
  });

  it('records one exposure per context key and variant of measured flags only, and counts every evaluation', async () => {
    const t = setup({ sendEvents: true });
    t.stream.last.open();
    const split = (key: string, measured: boolean): Flag =>
      boolFlag(key, {
        version: 5,
        measured,
        targets: [{ variant: 'off', values: ['cy'] }],
        defaultServe: { variant: 'on' },
      });
    t.stream.last.send('put', ruleset(5, [split('exp', true), split('plain', false)]), '5');
    for (const key of ['ann', 'bob', 'ann', 'cy', 'ann']) {
      t.client.getBoolean('exp', { key }, false);
      t.client.getBoolean('plain', { key }, false);
    }
    // No key, no unit; a caller's default is no exposure.
    t.client.getBoolean('exp', {}, false);
    t.client.getString('exp', { key: 'di' }, 'x');
    t.http.answer({ status: 202 }, { status: 202 });
    await t.client.flush();
    // The mark comes and goes with the flag's configuration.
    t.stream.last.send('patch', { kind: 'flag', key: 'exp', version: 6, value: split('exp', false) }, '6');
    t.stream.last.send('patch', { kind: 'flag', key: 'plain', version: 7, value: split('plain', true) }, '7');
    t.client.getBoolean('exp', { key: 'eve' }, false);
    t.client.getBoolean('plain', { key: 'eve' }, false);
    await t.client.flush();
    const posts = t.http.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body ?? '{}'));
    const at = expect.any(Number);
    expect(posts[0].exposures).toEqual([
      { flag: 'exp', variant: 'on', key: 'ann', timestamp: at },
      { flag: 'exp', variant: 'on', key: 'bob', timestamp: at },
      { flag: 'exp', variant: 'off', key: 'cy', timestamp: at },
    ]);
    const exp = posts[0].evaluations.filter((e: { flag: string }) => e.flag === 'exp');
    expect(exp.reduce((n: number, e: { count: number }) => n + e.count, 0)).toBe(7);
    expect(posts[1].exposures).toEqual([{ flag: 'plain', variant: 'on', key: 'eve', timestamp: at }]);
    expect(t.errors).toEqual([]);
  });

  it('drops exposures past maxExposures, reports them, and records them when they are served again', async () => {
    const t = setup({ sendEvents: true, maxExposures: 1 });
    t.stream.last.open();
    t.stream.last.send('put', ruleset(5, [boolFlag('exp', { version: 5, measured: true })]), '5');
    t.client.getBoolean('exp', { key: 'a' }, false);
    t.client.getBoolean('exp', { key: 'b' }, false);
    t.http.fallback = { status: 202 };
    await t.client.flush();
    t.client.getBoolean('exp', { key: 'b' }, false);
    await t.client.flush();
    const posts = t.http.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body ?? '{}'));
    expect(posts.map((b) => b.exposures.map((e: { key: string }) => e.key))).toEqual([['a'], ['b']]);
    expect(t.errors.map((e) => e.message)).toEqual([
      'switchyard: dropped 0 track events, 0 evaluation counts and 1 exposures at the memory bound',
    ]);
  });

  it('drops track events past the bound, never blocking, and reports the drops', async () => {
    const t = setup({ sendEvents: true, maxTrackEvents: 2 });
    for (let i = 0; i < 5; i++) t.client.track(`e${i}`, { key: 'u' });
    t.http.answer({ status: 202 });
    await t.client.flush();
    const body = JSON.parse(t.http.requests[0]?.body ?? '{}');
    expect(body.events.map((e: { event: string }) => e.event)).toEqual(['e0', 'e1']);
    expect(body.dropped).toEqual({ evaluations: 0, events: 3 });
    expect(body.id).toEqual(expect.any(String));
    expect(t.errors.map((e) => e.code)).toEqual(['EVENTS_DROPPED']);
  });
});
