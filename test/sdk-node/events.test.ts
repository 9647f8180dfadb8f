import { createClient } from '@switchyard/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluationTotals, trackEventsOf } from '../../packages/server/src/features/events/store.js';
import { createFlag, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('analytics from the Node SDK', () => {
  it('arrive at the server with the right counts per flag, variant and reason, and the track events', async () => {
    const l = await startLiveServer();
    cleanup.push(() => l.s.close());
    await createFlag(l, 'banner', {
      enabled: true,
      targets: [{ variant: 'on', values: ['ann'] }],
      defaultServe: { variant: 'off' },
    });
    await createFlag(l, 'killed', { enabled: false, defaultServe: { variant: 'on' } });
    const client = createClient({
      sdkKey: (await l.key()).token,
      baseUrl: l.url,
      logger: silent,
      flushIntervalMs: 60_000,
    });
    cleanup.push(() => client.close());
    await client.waitForReady({ timeout: 5_000 });

    for (let i = 0; i < 7; i++) client.getBoolean('banner', { key: 'ann' }, false);
    for (let i = 0; i < 5; i++) client.getBoolean('banner', { key: `user-${i}` }, false);
    for (let i = 0; i < 3; i++) client.getBoolean('killed', { key: 'ann' }, true);
    client.getString('banner', { key: 'ann' }, 'x');
    client.getBoolean('no-such-flag', { key: 'ann' }, true);
    client.track('checkout', { key: 'ann' }, 42.5);
    client.track('signup', { key: 'bob' });
    await client.flush();
    // More after a flush land in the next batch, sent by close().
    for (let i = 0; i < 2; i++) client.getBoolean('banner', { key: 'ann' }, false);
    await client.close();

    const db = l.s.testDb.database.db;
    const environmentId = await l.environmentId();
    expect(await evaluationTotals(db, environmentId)).toEqual([
      { flag: 'banner', variant: 'off', reason: 'DEFAULT', count: 5 },
      { flag: 'banner', variant: 'on', reason: 'TARGETING_MATCH', count: 9 },
      { flag: 'banner', variant: null, reason: 'ERROR', count: 1 },
      { flag: 'killed', variant: null, reason: 'DISABLED', count: 3 },
      { flag: 'no-such-flag', variant: null, reason: 'ERROR', count: 1 },
    ]);
    const events = await trackEventsOf(db, environmentId);
    expect(events.map(({ event, contextKey, value }) => ({ event, contextKey, value }))).toEqual([
      { event: 'checkout', contextKey: 'ann', value: 42.5 },
      { event: 'signup', contextKey: 'bob', value: null },
    ]);
    expect(l.count('/sdk/v1/events')).toBe(2);
  });
});
