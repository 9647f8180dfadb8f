import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const p = '/api/v1/projects/pw';

beforeAll(async () => {
  // Deliveries are recorded, never sent; the controller takes no step of its own.
  s = await startTestServer({ plans: { intervalMs: 3_600_000 }, webhooks: { dispatch: false } });
  await s.ok('POST', '/api/v1/projects', { key: 'pw', name: 'Plan webhooks' });
  await s.ok('POST', `${p}/environments`, { key: 'prod', name: 'Production' });
  await s.ok('POST', `${p}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean' });
});

afterAll(async () => {
  await s?.close();
});

describe("a person's release plan steps", () => {
  it('write webhook deliveries in their transactions, as every audited write does', async () => {
    const hook = await s.ok('POST', `${p}/webhooks`, {
      url: 'https://example.test/plans',
      events: ['plan.changed', 'flag.changed'],
    });
    const plan = `${p}/flags/checkout/environments/prod/release-plan`;
    await s.ok('PUT', plan, { variant: 'on' });
    await s.ok('POST', `${plan}/start`);
    await s.ok('POST', `${plan}/abort`);
    const { items } = await s.ok('GET', `${p}/webhooks/${hook.id}/deliveries?limit=100`);
    const payloads = await Promise.all(
      items.map(
        async (d: { id: string }) => (await s.ok('GET', `${p}/webhooks/${hook.id}/deliveries/${d.id}`)).payload,
      ),
    );
    const seen = payloads.map((x: { type: string; action: string }) => `${x.type} ${x.action}`).sort();
    expect(seen).toEqual([
      'flag.changed flag.config.update',
      'flag.changed flag.config.update',
      'plan.changed release-plan.abort',
      'plan.changed release-plan.create',
      'plan.changed release-plan.start',
    ]);
  });
});
