import { createClient, type SwitchyardClient } from '@switchyard/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { API, createFlag, eventually, type LiveServer, sleep, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const PLAN = `${API}/flags/checkout/environments/prod/release-plan`;
const RESULTS = `${API}/flags/checkout/environments/prod/results?metric=errors`;
const INTERVAL_MS = 1000;
/**
 * What the controller may take on top of its interval: this is the property "within one tick",
 * not a measure of speed. Its next tick is scheduled when the last one ends (a timeout, not a
 * fixed rate), so evidence stored just after a tick read the guard's totals is judged by the
 * next tick, which starts at most one interval plus the rest of that tick later; that tick
 * reads the plan's guard and stage totals before the step's transaction opens (the audit
 * entry's time is Postgres's `now()`, the transaction's start). Each is a few queries of a
 * few milliseconds; 500 ms covers them on a loaded two-core machine many times over, while a
 * controller that missed a tick would be a whole interval late.
 */
const TICK_SLACK_MS = 500;
const MAX_REGRESSION = 0.1;

// biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
type Json = any;

async function sdk(l: LiveServer): Promise<SwitchyardClient> {
  // Batches leave only when the test flushes: it knows when each lands.
  const client = createClient({
    sdkKey: (await l.key()).token,
    baseUrl: l.url,
    logger: silent,
    flushIntervalMs: 3_600_000,
  });
  cleanup.push(() => client.close());
  await client.waitForReady({ timeout: 5_000 });
  return client;
}

/** The lower end of the always-valid interval on the errors' relative change, as the server computes it now. */
async function lowerBound(l: LiveServer): Promise<number | null> {
  const results: Json = await l.ok('GET', RESULTS);
  return results.comparisons.find((c: Json) => c.variant === 'new')?.sequential.ci95?.[0] ?? null;
}

describe('a release plan guarded against a regression, fed by Node SDKs', () => {
  it('rolls back within one controller interval of the evidence becoming significant, with the numbers in the audit entry, and every SDK serves control', async () => {
    const l = await startLiveServer({ plans: { intervalMs: INTERVAL_MS } });
    cleanup.push(() => l.s.close());
    await createFlag(l, 'checkout', { enabled: true, offVariant: 'old', defaultServe: { variant: 'old' } }, 'string', [
      { key: 'new', value: 'new' },
      { key: 'old', value: 'old' },
    ]);
    await l.ok('POST', `${API}/metrics`, {
      key: 'errors',
      name: 'Errors',
      event: 'error',
      kind: 'conversion',
      direction: 'decrease',
    });
    const clients = [await sdk(l), await sdk(l)];
    await l.ok('PUT', PLAN, {
      variant: 'new',
      control: 'old',
      stages: [
        { percent: 50, holdSeconds: 3600 },
        { percent: 100, holdSeconds: 3600 },
      ],
      guards: [{ metric: 'errors', maxRegression: MAX_REGRESSION }],
      onBreach: 'rollback',
    });
    const started = clients.map((c) => new Promise<void>((resolve) => c.on('change', () => resolve())));
    await l.ok('POST', `${PLAN}/start`);
    await Promise.all(started);

    // Users arrive on either SDK; each is served once and reports an error at the given rate.
    let next = 0;
    const traffic = (users: number, errorRate: { new: number; old: number }) => {
      for (let n = 0; n < users; n++, next++) {
        const client = clients[next % 2] as SwitchyardClient;
        const context = { key: `user-${next}` };
        const variant = client.getString('checkout', context, 'x') as 'new' | 'old';
        // Spread over the users by a fixed hash: the same failures on every run.
        if ((next * 7919) % 100 < errorRate[variant] * 100) client.track('error', context);
      }
    };

    // Before: both variants fail alike. The controller judges these data over two ticks and holds.
    traffic(200, { new: 0.1, old: 0.1 });
    await Promise.all(clients.map((c) => c.flush()));
    await sleep(2 * INTERVAL_MS);
    expect((await l.ok('GET', PLAN)).state).toBe('running');
    expect(await lowerBound(l)).toBeLessThanOrEqual(MAX_REGRESSION);

    // Then one batch per SDK makes the interval exclude the tolerance: the new variant fails
    // three times as often. The server stores a batch before it answers 202, so the evidence
    // became significant when one of the two was stored: no earlier than T, the first answer
    // (less the answer's trip over loopback).
    traffic(1800, { new: 0.6, old: 0.2 });
    const t = Math.min(...(await Promise.all(clients.map((c) => c.flush().then(() => Date.now())))));
    expect(await lowerBound(l)).toBeGreaterThan(MAX_REGRESSION);

    await eventually(async () => (await l.ok('GET', PLAN)).state === 'rolled_back', 'the plan is rolled back');
    const audit: Json = await l.ok('GET', '/api/v1/audit?action=release-plan.rollback');
    const entry = audit.items[0];
    expect(entry.actor).toBe('system');
    expect(Date.parse(entry.createdAt) - t).toBeLessThanOrEqual(INTERVAL_MS + TICK_SLACK_MS);
    // The reason carries the numbers: the change, the interval and the units it was judged on.
    const reason =
      /^stage 1 \(50 %\): errors \+(\d+) % vs control, interval \[\+(\d+) %, \+(\d+) %\], ([\d,]+) units → rolled back$/.exec(
        entry.reason,
      );
    expect(reason).not.toBeNull();
    const [, change, low, high, units] = (reason as RegExpExecArray).map((s) => Number(s?.replaceAll(',', '')));
    expect(low).toBeGreaterThan(MAX_REGRESSION * 100);
    expect(low).toBeLessThanOrEqual(change as number);
    expect(change).toBeLessThanOrEqual(high as number);
    // The decision may come between the two SDKs' batches: at least the first's units, at most all.
    expect(units).toBeGreaterThan(1000);
    expect(units).toBeLessThanOrEqual(2000);
    const plan: Json = await l.ok('GET', PLAN);
    expect(plan.history.at(-1)).toMatchObject({ action: 'rollback', actor: 'system', reason: entry.reason });
    expect(plan.history.at(-1).details).toMatchObject({ cause: 'guard', metric: 'errors', maxRegression: 0.1 });

    // Every SDK serves control to every user, over the stream, without being asked.
    for (const client of clients) {
      await eventually(
        () =>
          Array.from({ length: next }, (_, i) => client.allFlags({ key: `user-${i}` }).checkout).every(
            (v) => v === 'old',
          ),
        'the SDK serves control to everyone',
      );
    }
  });
});
