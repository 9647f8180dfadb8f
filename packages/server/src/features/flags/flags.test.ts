import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { queryRows } from '../../test-support/snapshot.js';

let s: TestServer;
const project = '/api/v1/projects/shop';
const flags = `${project}/flags`;

beforeAll(async () => {
  s = await startTestServer();
  for (const key of ['shop', 'other']) {
    expect((await s.call('POST', '/api/v1/projects', { key, name: key })).statusCode).toBe(201);
  }
  for (const key of ['staging', 'production']) {
    expect((await s.call('POST', `${project}/environments`, { key, name: key })).statusCode).toBe(201);
  }
});

afterAll(async () => {
  await s?.close();
});

async function createFlag(body: Record<string, unknown>) {
  const res = await s.call('POST', flags, { name: String(body.key), ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function envVersions(): Promise<Record<string, number>> {
  const items: { key: string; version: number }[] = (await s.call('GET', `${project}/environments`)).json().items;
  return Object.fromEntries(items.map((e) => [e.key, e.version]));
}

async function listKeys(query: string): Promise<string[]> {
  const res = await s.call('GET', `${flags}${query}`);
  expect(res.statusCode).toBe(200);
  return res.json().items.map((f: { key: string }) => f.key);
}

describe('creating flags', () => {
  it('creates a boolean flag with the fixed variants on (true) and off (false)', async () => {
    const res = await s.call('POST', flags, {
      key: 'bool-flag',
      name: 'Boolean',
      type: 'boolean',
      description: 'a switch',
      tags: ['ui'],
      clientSide: true,
      metadata: { owner: 'web', ticket: 42, reviewed: true },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      key: 'bool-flag',
      name: 'Boolean',
      description: 'a switch',
      tags: ['ui'],
      type: 'boolean',
      variants: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      clientSide: true,
      archived: false,
      metadata: { owner: 'web', ticket: 42, reviewed: true },
      revision: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('accepts a boolean flag that spells out its on and off variants, in either order', async () => {
    const flag = await createFlag({
      key: 'bool-explicit',
      type: 'boolean',
      variants: [
        { key: 'off', value: false },
        { key: 'on', value: true },
      ],
    });
    expect(flag.variants).toEqual([
      { key: 'on', value: true },
      { key: 'off', value: false },
    ]);
  });

  it.each([
    [
      'other keys',
      [
        { key: 'yes', value: true },
        { key: 'no', value: false },
      ],
    ],
    [
      'swapped values',
      [
        { key: 'on', value: false },
        { key: 'off', value: true },
      ],
    ],
    [
      'a third variant',
      [
        { key: 'on', value: true },
        { key: 'off', value: false },
        { key: 'maybe', value: true },
      ],
    ],
    [
      'a string value',
      [
        { key: 'on', value: 'true' },
        { key: 'off', value: false },
      ],
    ],
  ])('refuses a boolean flag with %s with 422 on field variants', async (_what, variants) => {
    await expectRefusal(s, () => s.call('POST', flags, { key: 'bool-bad', name: 'B', type: 'boolean', variants }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants',
    });
  });

  it.each([
    [
      'string',
      [
        { key: 'red', value: 'red' },
        { key: 'blue', value: 'blue' },
      ],
    ],
    [
      'number',
      [
        { key: 'low', value: 0.5 },
        { key: 'high', value: 100 },
      ],
    ],
    [
      'json',
      [
        { key: 'a', value: { limit: 3, tags: ['x'] } },
        { key: 'b', value: [1, 2] },
        { key: 'c', value: 'text' },
      ],
    ],
  ])('creates a %s flag with its variants in order', async (type, variants) => {
    const flag = await createFlag({ key: `${type}-flag`, type, variants });
    expect(flag).toMatchObject({ type, variants });
  });

  it.each([
    [
      'string',
      'variants[1].value',
      [
        { key: 'a', value: 'x' },
        { key: 'b', value: 1 },
      ],
    ],
    ['string', 'variants[0].value', [{ key: 'a', value: true }]],
    [
      'number',
      'variants[1].value',
      [
        { key: 'a', value: 1 },
        { key: 'b', value: '2' },
      ],
    ],
    ['number', 'variants[0].value', [{ key: 'a', value: [1] }]],
    ['json', 'variants[0].value', [{ key: 'a', value: null }]],
  ])('refuses a %s flag whose variant value has another type with 422 at %s', async (type, field, variants) => {
    await expectRefusal(s, () => s.call('POST', flags, { key: 'mismatch', name: 'M', type, variants }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field,
    });
  });

  it('refuses two variants with the same key with 422', async () => {
    const variants = [
      { key: 'a', value: 'x' },
      { key: 'a', value: 'y' },
    ];
    await expectRefusal(s, () => s.call('POST', flags, { key: 'dupe-variants', name: 'D', type: 'string', variants }), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants[1].key',
    });
  });

  it('refuses a string flag without variants with 400', async () => {
    await expectRefusal(s, () => s.call('POST', flags, { key: 'no-variants', name: 'N', type: 'string' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'variants',
    });
  });

  it('refuses an unknown type with 400', async () => {
    await expectRefusal(s, () => s.call('POST', flags, { key: 'bad-type', name: 'T', type: 'date' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'type',
    });
  });

  it.each(['Checkout', '_checkout', 'check out', 'check/out', 'a'.repeat(129)])(
    'refuses the flag key %j with 400 on field key',
    async (key) => {
      await expectRefusal(s, () => s.call('POST', flags, { key, name: 'K', type: 'boolean' }), {
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'key',
      });
    },
  );

  it('accepts keys with digits, dots, dashes and underscores up to 128 characters', async () => {
    await createFlag({ key: '0.new_checkout-v2', type: 'boolean' });
    await createFlag({ key: `k${'-'.repeat(127)}`, type: 'boolean' });
  });

  it('refuses a duplicate flag key with 409 and changes nothing', async () => {
    await expectRefusal(s, () => s.call('POST', flags, { key: 'bool-flag', name: 'Again', type: 'boolean' }), {
      status: 409,
      code: 'CONFLICT',
      field: 'key',
    });
    expect((await s.call('GET', `${flags}/bool-flag`)).json().name).toBe('Boolean');
  });

  it('allows the same flag key in another project', async () => {
    const res = await s.call('POST', '/api/v1/projects/other/flags', { key: 'bool-flag', name: 'B', type: 'boolean' });
    expect(res.statusCode).toBe(201);
  });

  it('lets exactly one of two concurrent creations of the same key win', async () => {
    const before = await envVersions();
    const body = { key: 'raced', name: 'Raced', type: 'boolean' };
    const results = await Promise.all([s.call('POST', flags, body), s.call('POST', flags, body)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const after = await envVersions();
    for (const env of Object.keys(before)) expect(after[env]).toBe((before[env] as number) + 1);
  });

  it('starts every environment off, at the version the creation produced, with one outbox row each', async () => {
    const before = await envVersions();
    await createFlag({
      key: 'fresh',
      type: 'string',
      variants: [
        { key: 'a', value: 'A' },
        { key: 'b', value: 'B' },
      ],
    });
    const after = await envVersions();
    for (const env of ['staging', 'production']) {
      expect(after[env]).toBe((before[env] as number) + 1);
      const config = (await s.call('GET', `${flags}/fresh/environments/${env}`)).json();
      expect(config).toMatchObject({
        enabled: false,
        offVariant: 'a',
        defaultServe: { variant: 'a' },
        prerequisites: [],
        targets: [],
        rules: [],
        salt: null,
        version: after[env],
      });
    }
    const outbox = await queryRows<{ key: string; kind: string; version: string }>(
      s.testDb.database.db,
      sql`select c.key, c.kind, c.version::text from changes c where c.key = 'fresh' order by c.version`,
    );
    expect(outbox.map((c) => [c.kind, Number(c.version)]).sort()).toEqual(
      [
        ['flag', after.staging],
        ['flag', after.production],
      ].sort(),
    );
  });
});

describe('reading flags', () => {
  beforeAll(async () => {
    await createFlag({ key: 'list-payments', type: 'boolean', tags: ['payments', 'beta'], description: 'Card flow' });
    await createFlag({ key: 'list-search', type: 'boolean', name: 'Fuzzy SEARCH', tags: ['beta'] });
    await createFlag({ key: 'list-legacy', type: 'boolean', tags: ['payments'] });
    expect((await s.call('POST', `${flags}/list-legacy/archive`)).statusCode).toBe(200);
  });

  it('lists the live flags in key order by default', async () => {
    const keys = await listKeys('');
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(['list-payments', 'list-search']));
    expect(keys).not.toContain('list-legacy');
  });

  it('filters by tag', async () => {
    expect(await listKeys('?tag=payments')).toEqual(['list-payments']);
    expect(await listKeys('?tag=beta')).toEqual(['list-payments', 'list-search']);
    expect(await listKeys('?tag=payments&archived=all')).toEqual(['list-legacy', 'list-payments']);
    expect(await listKeys('?tag=nothing')).toEqual([]);
  });

  it('searches key, name and description case-insensitively', async () => {
    expect(await listKeys('?q=search')).toEqual(['list-search']);
    expect(await listKeys('?q=card%20FLOW')).toEqual(['list-payments']);
    expect(await listKeys('?q=LIST-')).toEqual(['list-payments', 'list-search']);
  });

  it('searches for % and _ literally, not as wildcards', async () => {
    expect(await listKeys('?q=%25')).toEqual([]);
    expect(await listKeys('?q=list_')).toEqual([]);
  });

  it('filters by archived: true shows only archived flags, all shows both', async () => {
    expect(await listKeys('?archived=true')).toEqual(['list-legacy']);
    const all = await listKeys('?archived=all');
    expect(all).toEqual(expect.arrayContaining(['list-legacy', 'list-payments', 'list-search']));
  });

  it('refuses unknown or malformed list filters with 400', async () => {
    for (const query of ['?archived=maybe', '?colour=red', '?tag=Not%20A%20Tag']) {
      const res = await s.call('GET', `${flags}${query}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(res.json().error.details.field).toMatch(/^querystring/);
    }
  });

  it('gets a flag with whether it is on, and its version, in every environment', async () => {
    const res = await s.call('GET', `${flags}/list-payments`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      key: 'list-payments',
      type: 'boolean',
      environments: {
        staging: { enabled: false, version: expect.any(Number) },
        production: { enabled: false, version: expect.any(Number) },
      },
    });
    for (const env of ['staging', 'production']) {
      const config = (await s.call('GET', `${flags}/list-payments/environments/${env}`)).json();
      expect(res.json().environments[env]).toEqual({ enabled: config.enabled, version: config.version });
    }
  });

  it('answers 404 for a flag that does not exist, or exists only in another project', async () => {
    await createFlag({ key: 'list-payments-only-here', type: 'boolean' });
    for (const url of [`${flags}/nowhere`, '/api/v1/projects/other/flags/list-payments-only-here']) {
      const res = await s.call('GET', url);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
  });
});

describe('updating flags', () => {
  it('updates name, description, tags, clientSide and metadata and bumps every environment version', async () => {
    await createFlag({ key: 'upd', type: 'boolean' });
    const before = await envVersions();
    const res = await s.call('PATCH', `${flags}/upd`, {
      name: 'Updated',
      description: 'now described',
      tags: ['checkout'],
      clientSide: true,
      metadata: { owner: 'team-a' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      key: 'upd',
      name: 'Updated',
      description: 'now described',
      tags: ['checkout'],
      clientSide: true,
      metadata: { owner: 'team-a' },
    });
    const after = await envVersions();
    const flag = (await s.call('GET', `${flags}/upd`)).json();
    for (const env of ['staging', 'production']) {
      expect(after[env]).toBe((before[env] as number) + 1);
      expect(flag.environments[env].version).toBe(after[env]);
    }
  });

  it('refuses to change a flag type or key with 400 and changes nothing', async () => {
    await expectRefusal(s, () => s.call('PATCH', `${flags}/upd`, { type: 'string' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    await expectRefusal(s, () => s.call('PATCH', `${flags}/upd`, { key: 'renamed' }), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });

  it('refuses metadata values that are not strings, numbers or booleans with 400', async () => {
    await expectRefusal(s, () => s.call('PATCH', `${flags}/upd`, { metadata: { owner: { team: 'a' } } }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'metadata.owner',
    });
  });

  it('refuses to update a flag that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('PATCH', `${flags}/nowhere`, { name: 'x' }), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });
});

describe('archiving flags', () => {
  const config = `${flags}/arch/environments/production`;

  it('archives a flag: it leaves the default list and its configuration can no longer be edited', async () => {
    await createFlag({ key: 'arch', type: 'boolean' });
    const before = await envVersions();
    const res = await s.call('POST', `${flags}/arch/archive`);
    expect(res.statusCode).toBe(200);
    expect(res.json().archived).toBe(true);
    expect(await envVersions()).toEqual({
      staging: (before.staging as number) + 1,
      production: (before.production as number) + 1,
    });
    expect(await listKeys('')).not.toContain('arch');
    await expectRefusal(s, () => s.call('PATCH', config, { enabled: true }), { status: 409, code: 'CONFLICT' });
  });

  it('archives idempotently: archiving an archived flag changes nothing', async () => {
    const before = await envVersions();
    const res = await s.call('POST', `${flags}/arch/archive`);
    expect(res.statusCode).toBe(200);
    expect(res.json().archived).toBe(true);
    expect(await envVersions()).toEqual(before);
  });

  it('still lets an archived flag be killed', async () => {
    const res = await s.call('POST', `${config}/kill`, { reason: 'incident' });
    expect(res.statusCode).toBe(200);
    expect(res.json().enabled).toBe(false);
  });

  it('unarchives a flag: it is listed and editable again', async () => {
    const res = await s.call('POST', `${flags}/arch/unarchive`);
    expect(res.statusCode).toBe(200);
    expect(res.json().archived).toBe(false);
    expect(await listKeys('')).toContain('arch');
    expect((await s.call('PATCH', config, { enabled: true })).statusCode).toBe(200);
  });

  it('refuses to archive a flag that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('POST', `${flags}/nowhere/archive`), { status: 404, code: 'NOT_FOUND' });
  });
});

describe('deleting flags', () => {
  it('deletes a flag with its configurations and bumps every environment version', async () => {
    await createFlag({ key: 'doomed', type: 'boolean' });
    const before = await envVersions();
    const res = await s.call('DELETE', `${flags}/doomed`);
    expect(res.statusCode).toBe(204);
    expect((await s.call('GET', `${flags}/doomed`)).statusCode).toBe(404);
    expect((await s.call('GET', `${flags}/doomed/environments/production`)).statusCode).toBe(404);
    const after = await envVersions();
    for (const env of ['staging', 'production']) expect(after[env]).toBe((before[env] as number) + 1);
  });

  it('refuses to delete a flag that is a prerequisite of another flag with 409, until it no longer is', async () => {
    await createFlag({ key: 'base', type: 'boolean' });
    await createFlag({ key: 'dependant', type: 'boolean' });
    const dependantConfig = `${flags}/dependant/environments/staging`;
    const set = await s.call('PATCH', dependantConfig, { prerequisites: [{ flag: 'base', variants: ['on'] }] });
    expect(set.statusCode).toBe(200);

    const error = await expectRefusal(s, () => s.call('DELETE', `${flags}/base`), { status: 409, code: 'CONFLICT' });
    expect(error.details).toEqual({ dependants: ['dependant'] });
    expect((await s.call('GET', `${flags}/base`)).statusCode).toBe(200);

    expect((await s.call('PATCH', dependantConfig, { prerequisites: [] })).statusCode).toBe(200);
    expect((await s.call('DELETE', `${flags}/base`)).statusCode).toBe(204);
  });

  it('refuses to delete a flag that does not exist with 404', async () => {
    await expectRefusal(s, () => s.call('DELETE', `${flags}/nowhere`), { status: 404, code: 'NOT_FOUND' });
  });
});
