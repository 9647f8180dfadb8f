import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ruleset } from '@switchyard/core';
import { createClient, FileStore, type KeyValueStore, type NodeClientOptions } from '@switchyard/sdk-node';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlag, eventually, type LiveServer, sleep, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const ruleset: Ruleset = {
  schemaVersion: 1,
  environment: 'web/prod',
  version: 4,
  segments: [],
  flags: [
    {
      key: 'checkout',
      type: 'string',
      variants: [
        { key: 'old', value: 'classic' },
        { key: 'new', value: 'redesign' },
      ],
      enabled: true,
      targets: [{ variant: 'new', values: ['ann'] }],
      defaultServe: { variant: 'old' },
      version: 4,
    },
  ],
};

function client(options: NodeClientOptions) {
  const c = createClient({
    logger: silent,
    sendEvents: false,
    initialRetryDelayMs: 20,
    maxRetryDelayMs: 100,
    ...options,
  });
  cleanup.push(() => c.close());
  return c;
}

async function liveWithFlag(): Promise<{ l: LiveServer; token: string }> {
  const l = await startLiveServer();
  await createFlag(l, 'checkout', { enabled: true, defaultServe: { variant: 'new' } }, 'string', [
    { key: 'old', value: 'classic' },
    { key: 'new', value: 'redesign' },
  ]);
  return { l, token: (await l.key()).token };
}

describe('offline and bootstrap', () => {
  it('serves a ruleset object offline, ready at once, without a single request', async () => {
    const l = await startLiveServer();
    cleanup.push(() => l.s.close());
    const c = client({ offline: true, bootstrap: ruleset, baseUrl: l.url, sdkKey: 'unused' });
    await c.waitForReady({ timeout: 100 });
    expect(c.getString('checkout', { key: 'ann' }, 'none')).toBe('redesign');
    expect(c.getString('checkout', { key: 'bob' }, 'none')).toBe('classic');
    c.track('bought', { key: 'ann' });
    await c.flush();
    await sleep(100);
    expect(l.requests.filter((r) => r.startsWith('/sdk/'))).toEqual([]);
  });

  it('serves a ruleset file offline, and refuses to start on an unreadable one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-'));
    const file = join(dir, 'ruleset.json');
    writeFileSync(file, JSON.stringify(ruleset));
    const c = client({ offline: true, bootstrapFile: file });
    await c.waitForReady({ timeout: 100 });
    expect(c.getDetail('checkout', { key: 'ann' }, 'none', 'string')).toMatchObject({
      value: 'redesign',
      variant: 'new',
      reason: 'TARGETING_MATCH',
    });
    expect(() => createClient({ offline: true, bootstrapFile: join(dir, 'missing.json'), logger: silent })).toThrow(
      /cannot read the bootstrap file/,
    );
    writeFileSync(join(dir, 'broken.json'), '{"schemaVersion": 1, "flags": [');
    const broken = client({ offline: true, bootstrapFile: join(dir, 'broken.json') });
    await expect(broken.waitForReady({ timeout: 100 })).rejects.toMatchObject({ code: 'BOOTSTRAP_FAILED' });
  });

  it('serves the bootstrap ruleset until the server answers, then the server', async () => {
    const { l, token } = await liveWithFlag();
    cleanup.push(() => l.s.close());
    const c = client({ sdkKey: token, baseUrl: l.url, bootstrap: ruleset });
    expect(c.getString('checkout', { key: 'bob' }, 'none')).toBe('classic');
    await eventually(
      () => c.getString('checkout', { key: 'bob' }, 'none') === 'redesign',
      'the server ruleset replaces it',
    );
    expect(c.status).toBe('ready');
  });
});

async function cacheAcrossAnOutage(cache: string | KeyValueStore) {
  const { l, token } = await liveWithFlag();
  const first = client({ sdkKey: token, baseUrl: l.url, cache });
  await first.waitForReady({ timeout: 5_000 });
  expect(first.getString('checkout', { key: 'bob' }, 'none')).toBe('redesign');
  const store = typeof cache === 'string' ? new FileStore(cache) : cache;
  // Stored under a hash of the key, never the key itself.
  const cacheKey = `switchyard:ruleset:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  await eventually(async () => typeof (await store.get(cacheKey)) === 'string', 'the cache is written');
  expect(JSON.parse((await store.get(cacheKey)) as string).environment).toBe('web/prod');
  await first.close();
  const url = l.url;
  await l.s.close();

  // A new process starts while the server is down.
  const second = client({ sdkKey: token, baseUrl: url, cache });
  await second.waitForReady({ timeout: 5_000 });
  expect(second.status).toBe('stale');
  expect(second.getString('checkout', { key: 'bob' }, 'none')).toBe('redesign');
}

describe('the persistent cache', () => {
  it('a process starting while the server is down serves the last known flags from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-'));
    await cacheAcrossAnOutage(join(dir, 'nested', 'flags.json'));
  });

  it.runIf(process.env.REDIS_URL)('does the same from Redis through the {get, set} interface', async () => {
    const redis = new Redis(process.env.REDIS_URL as string, { keyPrefix: `sdk-node-test:${process.pid}:` });
    cleanup.push(async () => {
      const keys = await redis.keys(`sdk-node-test:${process.pid}:*`);
      for (const k of keys) await redis.del(k.slice(`sdk-node-test:${process.pid}:`.length));
      redis.disconnect();
    });
    await cacheAcrossAnOutage(redis);
    expect(await redis.keys(`sdk-node-test:${process.pid}:switchyard:ruleset:*`)).toHaveLength(1);
  });

  it('a cache that cannot be read or written is logged and ignored', async () => {
    const { l, token } = await liveWithFlag();
    cleanup.push(() => l.s.close());
    const warnings: string[] = [];
    const failing: KeyValueStore = {
      get: async () => {
        throw new Error('disk on fire');
      },
      set: async () => {
        throw new Error('disk on fire');
      },
    };
    const c = createClient({
      sdkKey: token,
      baseUrl: l.url,
      cache: failing,
      sendEvents: false,
      logger: { ...silent, warn: (m) => warnings.push(m) },
    });
    cleanup.push(() => c.close());
    await c.waitForReady({ timeout: 5_000 });
    expect(c.getString('checkout', { key: 'bob' }, 'none')).toBe('redesign');
    await eventually(() => warnings.length >= 2, 'both failures are logged');
    expect(warnings.join('\n')).toMatch(/reading the flag cache failed: disk on fire/);
  });
});
