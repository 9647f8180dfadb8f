import { OpenFeature } from '@openfeature/server-sdk';
import { createClient, type SwitchyardError } from '@switchyard/sdk-node';
import { SwitchyardProvider } from '@switchyard/sdk-node/openfeature';
import { afterEach, describe, expect, it } from 'vitest';
import { batchesOf, exposuresOf, trackEventsOf } from '../../packages/server/src/features/events/store.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { API, createFlag, eventually, type LiveServer, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const VARIANTS = [
  { key: 'new', value: 'new' },
  { key: 'old', value: 'old' },
];

/** A measured flag "checkout" (ann and bob targeted to "new", everyone else "old") and an unmeasured twin. */
async function experiment(l: LiveServer, newFor: string[]): Promise<void> {
  const config = (measured: boolean) => ({
    enabled: true,
    offVariant: 'old',
    targets: [{ variant: 'new', values: newFor }],
    defaultServe: { variant: 'old' },
    measured,
  });
  await createFlag(l, 'checkout', config(true), 'string', VARIANTS);
  await createFlag(l, 'plain', config(false), 'string', VARIANTS);
}

const stored = async (l: LiveServer) =>
  (await exposuresOf(l.s.testDb.database.db, await l.environmentId()))
    .map((e) => `${e.flag}/${e.variant}/${e.contextKey}`)
    .sort();

describe('exposures from the Node SDK', () => {
  it('are sent once per unit and variant of measured flags, and the results count units seen in two variants apart', async () => {
    const l = await startLiveServer();
    cleanup.push(() => l.s.close());
    await experiment(l, ['ann', 'bob']);
    await l.ok('POST', `${API}/metrics`, {
      key: 'purchase',
      name: 'Purchase',
      event: 'purchase',
      kind: 'conversion',
      direction: 'increase',
    });
    const client = createClient({
      sdkKey: (await l.key()).token,
      baseUrl: l.url,
      logger: silent,
      flushIntervalMs: 60_000,
    });
    cleanup.push(() => client.close());
    await client.waitForReady({ timeout: 5_000 });

    for (const key of ['ann', 'bob', 'cy', 'dan', 'ann', 'ann', 'cy', 'bob']) {
      client.getString('checkout', { key }, 'x');
      client.getString('plain', { key }, 'x');
    }
    // No key, no unit; a caller's default (wrong type) is no exposure.
    client.getString('checkout', {}, 'x');
    client.getBoolean('checkout', { key: 'eve' }, false);
    client.track('purchase', { key: 'ann' }, 30);
    client.track('purchase', { key: 'dan' });
    await client.flush();

    // cy is moved to "new" while the experiment runs: a unit exposed to both variants.
    const changed = new Promise<void>((resolve) => client.on('change', () => resolve()));
    await l.ok('PATCH', `${API}/flags/checkout/environments/prod`, {
      targets: [{ variant: 'new', values: ['ann', 'bob', 'cy'] }],
    });
    await changed;
    for (const key of ['cy', 'cy', 'ann', 'dan']) client.getString('checkout', { key }, 'x');
    client.track('purchase', { key: 'cy' });
    await client.close();

    expect(await stored(l)).toEqual([
      'checkout/new/ann',
      'checkout/new/bob',
      'checkout/new/cy',
      'checkout/old/cy',
      'checkout/old/dan',
    ]);
    const events = await trackEventsOf(l.s.testDb.database.db, await l.environmentId());
    expect(events.map((e) => e.contextKey)).toEqual(['ann', 'dan', 'cy']);

    const res = await l.s.call('GET', `${API}/flags/checkout/environments/prod/results?metric=purchase`);
    expect(res.statusCode).toBe(200);
    const results = res.json();
    expect(results.control).toBe('old');
    expect(results.excludedUnits).toBe(1);
    expect(results.variants.map((v: { variant: string; units: number; conversions: number }) => v)).toEqual([
      expect.objectContaining({ variant: 'new', units: 2, conversions: 1 }),
      expect.objectContaining({ variant: 'old', units: 1, conversions: 1 }),
    ]);
  });

  it('sends a batch whose answer was lost again under the same id, and the server stores it once', async () => {
    const l = await startLiveServer();
    cleanup.push(() => l.s.close());
    await experiment(l, ['ann']);
    const proxy = new TcpProxy(l.port, { record: true });
    await proxy.listen();
    const baseUrl = proxy.url;
    cleanup.push(() => proxy.close());
    const client = createClient({ sdkKey: (await l.key()).token, baseUrl, logger: silent, flushIntervalMs: 60_000 });
    cleanup.push(() => client.close());
    const errors: SwitchyardError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.waitForReady({ timeout: 5_000 });

    client.getString('checkout', { key: 'ann' }, 'x');
    client.getString('checkout', { key: 'bob' }, 'x');
    client.track('purchase', { key: 'ann' }, 5);
    // The server takes the batch; its answer is cut on the way back.
    proxy.cutInside = 'HTTP/1.1 202';
    await client.flush();
    expect(proxy.cutInside).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['EVENTS_FAILED']);
    expect(l.count('/sdk/v1/events')).toBe(1);

    client.getString('checkout', { key: 'cy' }, 'x');
    await client.flush();
    await eventually(() => l.count('/sdk/v1/events') === 3, 'the lost batch and the next one were sent');
    expect(errors).toHaveLength(1);

    expect(await stored(l)).toEqual(['checkout/new/ann', 'checkout/old/bob', 'checkout/old/cy']);
    const db = l.s.testDb.database.db;
    expect(await trackEventsOf(db, await l.environmentId())).toHaveLength(1);
    expect(await batchesOf(db, await l.environmentId())).toHaveLength(2);
  });

  it('are recorded through the OpenFeature provider, for its targetingKey', async () => {
    const l = await startLiveServer();
    cleanup.push(() => l.s.close());
    await experiment(l, ['ann']);
    const provider = new SwitchyardProvider({
      sdkKey: (await l.key()).token,
      baseUrl: l.url,
      logger: silent,
      flushIntervalMs: 60_000,
    });
    await OpenFeature.setProviderAndWait('exposures', provider);
    const client = OpenFeature.getClient('exposures');
    for (const targetingKey of ['ann', 'bob', 'ann']) {
      expect(await client.getStringValue('checkout', 'x', { targetingKey })).toBe(
        targetingKey === 'ann' ? 'new' : 'old',
      );
    }
    await provider.onClose();
    expect(await stored(l)).toEqual(['checkout/new/ann', 'checkout/old/bob']);
  });
});
