import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const base = '/api/v1/projects/shop';
const config = `${base}/flags/checkout/environments/production`;

beforeAll(async () => {
  s = await startTestServer();
  expect((await s.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' })).statusCode).toBe(201);
  for (const key of ['staging', 'production']) {
    expect((await s.call('POST', `${base}/environments`, { key, name: key })).statusCode).toBe(201);
  }
  expect(
    (await s.call('POST', `${base}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean', tags: ['payments'] }))
      .statusCode,
  ).toBe(201);
});

afterAll(async () => {
  await s?.close();
});

describe('flag configuration', () => {
  it('starts off in every environment, serving the off variant', async () => {
    const res = await s.call('GET', config);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ enabled: false, offVariant: 'off', defaultServe: { variant: 'on' } });
    expect(res.headers.etag).toBe(`"${res.json().version}"`);
  });

  it('rolls out to 10 % with a partial update and bumps the version', async () => {
    const before = (await s.call('GET', config)).json();
    const res = await s.call('PATCH', config, {
      enabled: true,
      defaultServe: {
        rollout: {
          weights: [
            { variant: 'on', weight: 10_000 },
            { variant: 'off', weight: 90_000 },
          ],
        },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().version).toBeGreaterThan(before.version);
    expect(res.json()).toMatchObject({ enabled: true, offVariant: 'off' });
  });

  it('refuses weights that do not sum to 100 000 and changes nothing', async () => {
    const before = (await s.call('GET', config)).json();
    const res = await s.call('PATCH', config, {
      defaultServe: {
        rollout: {
          weights: [
            { variant: 'on', weight: 10_000 },
            { variant: 'off', weight: 80_000 },
          ],
        },
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({
      code: 'INVALID_CONFIG',
      details: { field: 'defaultServe.rollout.weights' },
    });
    expect((await s.call('GET', config)).json()).toEqual(before);
  });

  it('refuses a shape error with the field at fault', async () => {
    const res = await s.call('PATCH', config, {
      defaultServe: { rollout: { weights: [{ variant: 'on', weight: 'x' }] } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(res.json().error.details.field).toMatch(/^defaultServe/);
  });

  it('refuses a stale If-Match with 412 and keeps the stored state', async () => {
    const current = (await s.call('GET', config)).json();
    const res = await s.call(
      'PATCH',
      config,
      { enabled: false },
      { headers: { 'if-match': `"${current.version - 1}"` } },
    );
    expect(res.statusCode).toBe(412);
    expect(res.json().error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      details: { currentVersion: current.version },
    });
    expect((await s.call('GET', config)).json()).toEqual(current);
  });

  it('lets exactly one of two concurrent updates with the same version win', async () => {
    const { version } = (await s.call('GET', config)).json();
    const headers = { 'if-match': `"${version}"` };
    const rule = (id: string) => ({
      rules: [{ id, clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } }],
    });
    const [a, b] = await Promise.all([
      s.call('PATCH', config, rule('from-a'), { headers }),
      s.call('PATCH', config, rule('from-b'), { headers }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    expect(codes).toEqual([200, 412]);
    const winner = a.statusCode === 200 ? 'from-a' : 'from-b';
    expect((await s.call('GET', config)).json().rules.map((r: { id: string }) => r.id)).toEqual([winner]);
  });

  it('kills a flag idempotently and records the reason once', async () => {
    const first = await s.call('POST', `${config}/kill`, { reason: 'errors spiking' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ enabled: false, changed: true });
    const second = await s.call('POST', `${config}/kill`, { reason: 'again' });
    expect(second.json()).toMatchObject({ enabled: false, changed: false, version: first.json().version });
    const audit = (await s.call('GET', '/api/v1/audit?project=shop&action=flag.kill')).json();
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      reason: 'errors spiking',
      before: { enabled: true },
      after: { enabled: false },
    });
  });
});
