import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { queryRows } from '../../test-support/snapshot.js';

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
      details: { currentVersion: current.version, etag: `"${current.version}"` },
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

describe('more configuration writes', () => {
  const staging = `${base}/flags/checkout/environments/staging`;
  const envVersion = async (env: string) => (await s.call('GET', `${base}/environments/${env}`)).json().version;

  it('replaces the whole configuration with PUT: what is left out takes its empty value', async () => {
    const patched = await s.call('PATCH', staging, {
      enabled: true,
      targets: [{ variant: 'off', values: ['u1'] }],
      salt: 'pepper',
    });
    expect(patched.statusCode).toBe(200);
    const before = await envVersion('staging');
    const res = await s.call('PUT', staging, { enabled: true, defaultServe: { variant: 'off' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      enabled: true,
      offVariant: null,
      prerequisites: [],
      targets: [],
      rules: [],
      defaultServe: { variant: 'off' },
      salt: null,
      version: before + 1,
    });
    expect(res.headers.etag).toBe(`"${before + 1}"`);
    expect((await s.call('GET', staging)).json()).toEqual(res.json());
  });

  it('refuses a PUT without the required fields with 400 and changes nothing', async () => {
    const before = (await s.call('GET', staging)).json();
    const res = await s.call('PUT', staging, { enabled: false });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'defaultServe' } });
    expect((await s.call('GET', staging)).json()).toEqual(before);
  });

  it('writes one outbox row per configuration write, at the version it produced', async () => {
    const res = await s.call('PATCH', staging, { targets: [{ variant: 'on', values: ['vip'] }] });
    expect(res.statusCode).toBe(200);
    const rows = await queryRows<{ kind: string; key: string }>(
      s.testDb.database.db,
      sql`select c.kind, c.key from changes c join environments e on e.id = c.environment_id
          where e.key = 'staging' and c.version = ${res.json().version}`,
    );
    expect(rows).toEqual([{ kind: 'flag', key: 'checkout' }]);
  });

  it('unkills a killed flag, idempotently', async () => {
    expect((await s.call('POST', `${staging}/kill`)).json().enabled).toBe(false);
    const first = await s.call('POST', `${staging}/unkill`, { reason: 'fixed' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ enabled: true, changed: true });
    const second = await s.call('POST', `${staging}/unkill`);
    expect(second.json()).toMatchObject({ enabled: true, changed: false, version: first.json().version });
  });

  it('refuses a kill with a stale If-Match with 412', async () => {
    const current = (await s.call('GET', staging)).json();
    const res = await s.call('POST', `${staging}/kill`, {}, { headers: { 'if-match': `"${current.version - 1}"` } });
    expect(res.statusCode).toBe(412);
    expect((await s.call('GET', staging)).json()).toEqual(current);
  });

  it('bumps the version once when two kills race', async () => {
    const before = await envVersion('staging');
    const results = await Promise.all([s.call('POST', `${staging}/kill`), s.call('POST', `${staging}/kill`)]);
    expect(results.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(results.map((r) => r.json().changed).sort()).toEqual([false, true]);
    expect(await envVersion('staging')).toBe(before + 1);
  });

  it('kills every flag with a tag that is on in the environment, in one version, and nothing else', async () => {
    for (const [key, tags] of [
      ['pay-a', ['payments']],
      ['pay-b', ['payments', 'web']],
      ['pay-off', ['payments']],
      ['search', ['web']],
    ] as const) {
      expect((await s.call('POST', `${base}/flags`, { key, name: key, type: 'boolean', tags })).statusCode).toBe(201);
      if (key !== 'pay-off') {
        const on = await s.call('PATCH', `${base}/flags/${key}/environments/staging`, { enabled: true });
        expect(on.statusCode).toBe(200);
      }
    }
    const elsewhere = await s.call('PATCH', `${base}/flags/pay-a/environments/production`, { enabled: true });
    expect(elsewhere.statusCode).toBe(200);
    const before = await envVersion('staging');
    const res = await s.call('POST', `${base}/environments/staging/kill`, { tag: 'payments', reason: 'outage' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      environment: 'staging',
      tag: 'payments',
      killed: ['pay-a', 'pay-b'],
      version: before + 1,
    });
    for (const [key, enabled] of [
      ['pay-a', false],
      ['pay-b', false],
      ['pay-off', false],
      ['search', true],
    ] as const) {
      const c = (await s.call('GET', `${base}/flags/${key}/environments/staging`)).json();
      expect(c.enabled, key).toBe(enabled);
    }
    const production = (await s.call('GET', `${base}/flags/pay-a/environments/production`)).json();
    expect(production.enabled).toBe(true);
  });

  it('kills by tag idempotently: nothing left to kill changes nothing', async () => {
    const before = await envVersion('staging');
    const res = await s.call('POST', `${base}/environments/staging/kill`, { tag: 'payments' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ environment: 'staging', tag: 'payments', killed: [], version: before });
    expect(await envVersion('staging')).toBe(before);
  });

  it('refuses a kill by tag without a valid tag with 400, and in an unknown environment with 404', async () => {
    const missing = await s.call('POST', `${base}/environments/staging/kill`, {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details.field).toBe('tag');
    const unknown = await s.call('POST', `${base}/environments/nowhere/kill`, { tag: 'payments' });
    expect(unknown.statusCode).toBe(404);
  });

  it('answers 404 for the configuration of an unknown flag or environment', async () => {
    for (const url of [`${base}/flags/nowhere/environments/staging`, `${base}/flags/checkout/environments/nowhere`]) {
      const res = await s.call('GET', url);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
      expect((await s.call('PATCH', url, { enabled: true })).statusCode).toBe(404);
    }
  });
});

describe('the measured mark', () => {
  const staging = `${base}/flags/checkout/environments/staging`;
  const rulesetFlag = async () => {
    const { token } = await s.ok('POST', '/api/v1/keys', {
      name: 'measured reader',
      type: 'server',
      project: 'shop',
      environment: 'staging',
    });
    const res = await s.call('GET', '/sdk/v1/ruleset', undefined, { token });
    expect(res.statusCode).toBe(200);
    return res.json().flags.find((f: { key: string }) => f.key === 'checkout');
  };

  it('is off until set, and then reaches the ruleset so SDKs record exposures', async () => {
    expect((await s.call('GET', staging)).json().measured).toBe(false);
    expect((await rulesetFlag()).measured).toBeUndefined();
    const res = await s.call('PATCH', staging, { measured: true });
    expect(res.statusCode).toBe(200);
    expect(res.json().measured).toBe(true);
    expect((await rulesetFlag()).measured).toBe(true);
  });

  it('survives a patch that leaves it out, and a PUT that leaves it out clears it', async () => {
    await s.ok('PATCH', staging, { measured: true });
    expect((await s.ok('PATCH', staging, { enabled: true })).measured).toBe(true);
    expect((await s.ok('PUT', staging, { enabled: true, defaultServe: { variant: 'on' } })).measured).toBe(false);
  });

  it('refuses a mark that is not a boolean, naming the field', async () => {
    const res = await s.call('PATCH', staging, { measured: 'yes' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('measured');
  });
});
