import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const base = '/api/v1/projects/shop/metrics';

beforeAll(async () => {
  s = await startTestServer();
  await s.ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
});

afterAll(async () => {
  await s?.close();
});

describe('/api/v1/projects/:project/metrics', () => {
  it('creates a metric, naming it after its key by default, and reads it back alone and in the list', async () => {
    const created = await s.call('POST', base, {
      key: 'purchase',
      event: 'purchase',
      kind: 'conversion',
      direction: 'increase',
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      key: 'purchase',
      name: 'purchase',
      description: '',
      event: 'purchase',
      kind: 'conversion',
      direction: 'increase',
      archived: false,
    });
    await s.ok('POST', base, {
      key: 'revenue',
      name: 'Revenue',
      event: 'purchase',
      kind: 'mean',
      direction: 'increase',
    });
    expect(await s.ok('GET', `${base}/purchase`)).toEqual(created.json());
    expect((await s.ok('GET', base)).items.map((m: { key: string }) => m.key)).toEqual(['purchase', 'revenue']);
  });

  it('updates a metric and archives it out of the default list, still readable by key', async () => {
    const updated = await s.ok('PATCH', `${base}/revenue`, { event: 'order', direction: 'decrease' });
    expect(updated).toMatchObject({
      key: 'revenue',
      name: 'Revenue',
      event: 'order',
      kind: 'mean',
      direction: 'decrease',
    });
    expect((await s.ok('POST', `${base}/revenue/archive`)).archived).toBe(true);
    expect((await s.ok('GET', base)).items.map((m: { key: string }) => m.key)).toEqual(['purchase']);
    expect((await s.ok('GET', `${base}?archived=true`)).items.map((m: { key: string }) => m.key)).toEqual(['revenue']);
    expect((await s.ok('GET', `${base}/revenue`)).archived).toBe(true);
    expect((await s.ok('POST', `${base}/revenue/unarchive`)).archived).toBe(false);
  });

  it('records every write in the audit log with its before and after', async () => {
    await s.ok('POST', base, { key: 'audited', event: 'signup', kind: 'conversion', direction: 'increase' });
    await s.call('PATCH', `${base}/audited`, { name: 'Sign-ups' }, { headers: { 'x-change-reason': 'clearer name' } });
    await s.ok('POST', `${base}/audited/archive`);
    const { items } = await s.ok('GET', '/api/v1/audit?targetKey=audited');
    expect(
      items.map(
        (e: { action: string; before: { name?: string } | null; after: { name: string; archived: boolean } }) => ({
          action: e.action,
          before: e.before?.name ?? null,
          after: [e.after.name, e.after.archived],
        }),
      ),
    ).toEqual([
      { action: 'metric.archive', before: 'Sign-ups', after: ['Sign-ups', true] },
      { action: 'metric.update', before: 'audited', after: ['Sign-ups', false] },
      { action: 'metric.create', before: null, after: ['audited', false] },
    ]);
    expect(items[1].reason).toBe('clearer name');
    expect(items[0].targetKind).toBe('metric');
  });

  it('refuses invalid metrics, naming the field, and changes nothing', async () => {
    const valid = { key: 'm', event: 'e', kind: 'conversion', direction: 'increase' };
    const cases: [object, string][] = [
      [{ ...valid, key: 'Not A Key' }, 'key'],
      [{ ...valid, kind: 'median' }, 'kind'],
      [{ ...valid, direction: 'up' }, 'direction'],
      [{ ...valid, event: '' }, 'event'],
      [{ key: 'm', kind: 'mean', direction: 'increase' }, 'event'],
      [{ ...valid, extra: true }, ''],
    ];
    for (const [body, field] of cases) {
      const error = await expectRefusal(s, () => s.call('POST', base, body), {
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      if (field !== '') expect(error.details.field).toBe(field);
    }
    await expectRefusal(s, () => s.call('PATCH', `${base}/purchase`, { kind: 'sum' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'kind',
    });
  });

  it('answers 409 for a key taken and 404 for an unknown metric or project', async () => {
    const body = { key: 'purchase', event: 'x', kind: 'mean', direction: 'increase' };
    await expectRefusal(s, () => s.call('POST', base, body), { status: 409, code: 'CONFLICT', field: 'key' });
    await expectRefusal(s, () => s.call('GET', `${base}/nope`), { status: 404, code: 'NOT_FOUND' });
    await expectRefusal(s, () => s.call('PATCH', `${base}/nope`, { name: 'x' }), { status: 404, code: 'NOT_FOUND' });
    await expectRefusal(s, () => s.call('POST', `${base}/nope/archive`), { status: 404, code: 'NOT_FOUND' });
    await expectRefusal(s, () => s.call('GET', '/api/v1/projects/nope/metrics'), { status: 404, code: 'NOT_FOUND' });
  });
});
