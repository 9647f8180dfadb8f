import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { queryRows } from '../../test-support/snapshot.js';

let s: TestServer;
const project = '/api/v1/projects/seg';
const segments = `${project}/environments/production/segments`;

beforeAll(async () => {
  s = await startTestServer();
  expect((await s.call('POST', '/api/v1/projects', { key: 'seg', name: 'Segments' })).statusCode).toBe(201);
  for (const key of ['staging', 'production']) {
    expect((await s.call('POST', `${project}/environments`, { key, name: key })).statusCode).toBe(201);
  }
  expect((await s.call('POST', `${project}/flags`, { key: 'gate', name: 'Gate', type: 'boolean' })).statusCode).toBe(
    201,
  );
});

afterAll(async () => {
  await s?.close();
});

const inSegment = (...keys: string[]) => ({ clauses: [{ attribute: 'key', op: 'inSegment', values: keys }] });

async function envVersion(env = 'production'): Promise<number> {
  return (await s.call('GET', `${project}/environments/${env}`)).json().version;
}

async function createSegment(body: Record<string, unknown>) {
  const res = await s.call('POST', segments, { name: String(body.key), ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('segments', () => {
  it('creates a segment at the new environment version, with an ETag and one outbox row', async () => {
    const before = await envVersion();
    const res = await s.call('POST', segments, {
      key: 'beta',
      name: 'Beta testers',
      description: 'early access',
      included: ['u1', 'u2'],
      excluded: ['u3'],
      rules: [{ id: 'staff', clauses: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }] }],
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      key: 'beta',
      environment: 'production',
      name: 'Beta testers',
      description: 'early access',
      included: ['u1', 'u2'],
      excluded: ['u3'],
      rules: [{ id: 'staff', clauses: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }] }],
      version: before + 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.headers.etag).toBe(`"${before + 1}"`);
    expect(await envVersion()).toBe(before + 1);
    const outbox = await queryRows<{ version: string }>(
      s.testDb.database.db,
      sql`select version::text from changes where kind = 'segment' and key = 'beta'`,
    );
    expect(outbox.map((r) => Number(r.version))).toEqual([before + 1]);
  });

  it('lists the segments of one environment in key order', async () => {
    await createSegment({ key: 'alpha' });
    const res = await s.call('GET', segments);
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((x: { key: string }) => x.key)).toEqual(['alpha', 'beta']);
    const staging = await s.call('GET', `${project}/environments/staging/segments`);
    expect(staging.json().items).toEqual([]);
  });

  it('gets a segment with its version as ETag', async () => {
    const res = await s.call('GET', `${segments}/beta`);
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe(`"${res.json().version}"`);
    expect(res.json()).toMatchObject({ key: 'beta', included: ['u1', 'u2'] });
  });

  it('answers 404 for a segment that does not exist or lives in another environment', async () => {
    for (const url of [`${segments}/nowhere`, `${project}/environments/staging/segments/beta`]) {
      const res = await s.call('GET', url);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
  });

  it('refuses a duplicate segment key in the same environment with 409 and changes nothing', async () => {
    await expectRefusal(s, () => s.call('POST', segments, { key: 'beta', name: 'Again' }), {
      status: 409,
      code: 'CONFLICT',
      field: 'key',
    });
  });

  it('allows the same segment key in another environment', async () => {
    const res = await s.call('POST', `${project}/environments/staging/segments`, { key: 'beta', name: 'Beta' });
    expect(res.statusCode).toBe(201);
  });

  it('refuses a segment key that does not match the key pattern with 400', async () => {
    await expectRefusal(s, () => s.call('POST', segments, { key: 'Beta Testers', name: 'x' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'key',
    });
  });

  it('refuses a segment in an environment that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('POST', `${project}/environments/nowhere/segments`, { key: 'x', name: 'x' }), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it('replaces a segment with the current version in If-Match, at the next environment version', async () => {
    const current = await s.call('GET', `${segments}/beta`);
    const before = await envVersion();
    const res = await s.call(
      'PUT',
      `${segments}/beta`,
      { name: 'Beta', included: ['u9'] },
      { headers: { 'if-match': current.headers.etag as string } },
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ key: 'beta', name: 'Beta', included: ['u9'], excluded: [], rules: [] });
    expect(res.json().version).toBe(before + 1);
    expect(await envVersion()).toBe(before + 1);
    expect(res.headers.etag).toBe(`"${res.json().version}"`);
  });

  it('replaces a segment without If-Match', async () => {
    const res = await s.call('PUT', `${segments}/beta`, { name: 'Beta', included: ['u1'] });
    expect(res.statusCode).toBe(200);
    expect(res.json().included).toEqual(['u1']);
  });

  it('refuses a stale If-Match with 412 and the current version, and changes nothing', async () => {
    const current = (await s.call('GET', `${segments}/beta`)).json();
    const error = await expectRefusal(
      s,
      () =>
        s.call('PUT', `${segments}/beta`, { name: 'Stale' }, { headers: { 'if-match': `"${current.version - 1}"` } }),
      { status: 412, code: 'PRECONDITION_FAILED' },
    );
    expect(error.details).toEqual({ currentVersion: current.version, etag: `"${current.version}"` });
    expect((await s.call('GET', `${segments}/beta`)).json()).toEqual(current);
  });

  it('refuses an If-Match that is not a version with 400', async () => {
    await expectRefusal(
      s,
      () => s.call('PUT', `${segments}/beta`, { name: 'x' }, { headers: { 'if-match': 'yesterday' } }),
      { status: 400, code: 'VALIDATION_FAILED', field: 'If-Match' },
    );
  });

  it('refuses to replace a segment that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('PUT', `${segments}/nowhere`, { name: 'x' }), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it('lets exactly one of two concurrent replacements with the same version win', async () => {
    const { version } = (await s.call('GET', `${segments}/beta`)).json();
    const headers = { 'if-match': `"${version}"` };
    const [a, b] = await Promise.all([
      s.call('PUT', `${segments}/beta`, { name: 'From A', included: ['a'] }, { headers }),
      s.call('PUT', `${segments}/beta`, { name: 'From B', included: ['b'] }, { headers }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 412]);
    const winner = a.statusCode === 200 ? a : b;
    const loser = a.statusCode === 200 ? b : a;
    expect(loser.json().error.code).toBe('PRECONDITION_FAILED');
    const stored = (await s.call('GET', `${segments}/beta`)).json();
    expect(stored).toEqual(winner.json());
    expect(stored.version).toBe(version + 1);
  });
});

describe('segment validation', () => {
  it('refuses a rule naming a segment that does not exist', async () => {
    await expectRefusal(s, () => s.call('POST', segments, { key: 'broken', name: 'x', rules: [inSegment('ghost')] }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'rules[0].clauses[0].values[0]',
    });
  });

  it('refuses a segment that contains itself', async () => {
    await createSegment({ key: 'selfish' });
    await expectRefusal(s, () => s.call('PUT', `${segments}/selfish`, { name: 'x', rules: [inSegment('selfish')] }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'rules',
    });
  });

  it('refuses a cycle between segments A -> B -> A', async () => {
    await createSegment({ key: 'cycle-b' });
    await createSegment({ key: 'cycle-a', rules: [inSegment('cycle-b')] });
    await expectRefusal(s, () => s.call('PUT', `${segments}/cycle-b`, { name: 'x', rules: [inSegment('cycle-a')] }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'rules',
    });
  });

  it('refuses a longer cycle A -> B -> C -> A', async () => {
    await createSegment({ key: 'ring-c' });
    await createSegment({ key: 'ring-b', rules: [inSegment('ring-c')] });
    await createSegment({ key: 'ring-a', rules: [inSegment('ring-b')] });
    await expectRefusal(s, () => s.call('PUT', `${segments}/ring-c`, { name: 'x', rules: [inSegment('ring-a')] }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'rules',
    });
  });

  it('refuses a regular expression that does not compile', async () => {
    const rules = [{ clauses: [{ attribute: 'email', op: 'matches', values: ['[a-'] }] }];
    await expectRefusal(s, () => s.call('POST', segments, { key: 'bad-regex', name: 'x', rules }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'rules[0].clauses[0].values[0]',
    });
  });

  it('refuses a regular expression that can backtrack catastrophically', async () => {
    const rules = [{ clauses: [{ attribute: 'email', op: 'matches', values: ['(a+)+$'] }] }];
    await expectRefusal(s, () => s.call('POST', segments, { key: 'slow-regex', name: 'x', rules }), {
      status: 422,
      code: 'CATASTROPHIC_BACKTRACKING',
      field: 'rules[0].clauses[0].values[0]',
    });
  });

  it('refuses two rules with the same id', async () => {
    const rules = [
      { id: 'r', clauses: [] },
      { id: 'r', clauses: [] },
    ];
    await expectRefusal(s, () => s.call('POST', segments, { key: 'dupe-rules', name: 'x', rules }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'rules[1].id',
    });
  });
});

describe('deleting segments', () => {
  it('deletes an unused segment and bumps the environment version', async () => {
    await createSegment({ key: 'unused' });
    const before = await envVersion();
    const res = await s.call('DELETE', `${segments}/unused`);
    expect(res.statusCode).toBe(204);
    expect((await s.call('GET', `${segments}/unused`)).statusCode).toBe(404);
    expect(await envVersion()).toBe(before + 1);
  });

  it('refuses to delete a segment a flag rule uses with 409, until the rule is gone', async () => {
    await createSegment({ key: 'used-by-flag' });
    const config = `${project}/flags/gate/environments/production`;
    const rules = [{ ...inSegment('used-by-flag'), serve: { variant: 'on' } }];
    expect((await s.call('PATCH', config, { rules })).statusCode).toBe(200);

    const error = await expectRefusal(s, () => s.call('DELETE', `${segments}/used-by-flag`), {
      status: 409,
      code: 'CONFLICT',
    });
    expect(error.details).toEqual({ usedBy: ['flag gate'] });

    expect((await s.call('PATCH', config, { rules: [] })).statusCode).toBe(200);
    expect((await s.call('DELETE', `${segments}/used-by-flag`)).statusCode).toBe(204);
  });

  it('refuses to delete a segment another segment uses with 409, until it no longer does', async () => {
    await createSegment({ key: 'inner' });
    await createSegment({ key: 'outer', rules: [inSegment('inner')] });
    const error = await expectRefusal(s, () => s.call('DELETE', `${segments}/inner`), {
      status: 409,
      code: 'CONFLICT',
    });
    expect(error.details).toEqual({ usedBy: ['segment outer'] });

    expect((await s.call('PUT', `${segments}/outer`, { name: 'outer' })).statusCode).toBe(200);
    expect((await s.call('DELETE', `${segments}/inner`)).statusCode).toBe(204);
  });

  it('refuses to delete a segment that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('DELETE', `${segments}/nowhere`), { status: 404, code: 'NOT_FOUND' });
  });
});
