import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const ids = { key: '', race: '' };

beforeAll(async () => {
  s = await startTestServer();
  await s.ok('POST', '/api/v1/projects', { key: 'etags', name: 'ETags' });
  await s.ok('POST', '/api/v1/projects/etags/environments', { key: 'production', name: 'Production' });
  await s.ok('POST', '/api/v1/projects/etags/environments', { key: 'staging', name: 'Staging' });
  await s.ok('POST', '/api/v1/projects/etags/flags', { key: 'banner', name: 'Banner', type: 'boolean' });
  await s.ok('POST', '/api/v1/projects/etags/flags', { key: 'doomed', name: 'Doomed', type: 'boolean' });
  const sdk = { type: 'server', project: 'etags', environment: 'production' };
  ids.key = (await s.ok('POST', '/api/v1/keys', { name: 'to revoke', ...sdk })).id;
  ids.race = (await s.ok('POST', '/api/v1/keys', { name: 'raced', ...sdk })).id;
});

afterAll(async () => {
  await s?.close();
});

interface Versioned {
  name: string;
  /** The resource, read with GET. */
  url: () => string;
  /** Its collection, whose items carry their revision. */
  list: string;
  /** A write to it that honours `If-Match`. */
  write: () => { method: string; url: string; body?: unknown };
}

const RESOURCES: Versioned[] = [
  {
    name: 'a project',
    url: () => '/api/v1/projects/etags',
    list: '/api/v1/projects',
    write: () => ({ method: 'PATCH', url: '/api/v1/projects/etags', body: { name: 'Renamed' } }),
  },
  {
    name: 'an environment',
    url: () => '/api/v1/projects/etags/environments/production',
    list: '/api/v1/projects/etags/environments',
    write: () => ({ method: 'PATCH', url: '/api/v1/projects/etags/environments/production', body: { name: 'Prod' } }),
  },
  {
    name: 'a flag (name, tags, variants, metadata)',
    url: () => '/api/v1/projects/etags/flags/banner',
    list: '/api/v1/projects/etags/flags',
    write: () => ({
      method: 'PATCH',
      url: '/api/v1/projects/etags/flags/banner',
      body: { name: 'Top banner', tags: ['web'], metadata: { owner: 'growth' } },
    }),
  },
  {
    name: 'a key',
    url: () => `/api/v1/keys/${ids.key}`,
    list: '/api/v1/keys?project=etags',
    write: () => ({ method: 'POST', url: `/api/v1/keys/${ids.key}/revoke` }),
  },
];

describe.each(RESOURCES)('If-Match on $name', (r) => {
  it('GET answers its revision as the ETag, and its list item carries the same revision', async () => {
    const res = await s.call('GET', r.url());
    expect(res.statusCode, res.body).toBe(200);
    const revision = res.json().revision;
    expect(revision).toBeGreaterThanOrEqual(1);
    expect(res.headers.etag).toBe(`"${revision}"`);
    const list = await s.ok('GET', r.list);
    const own = res.json().id ?? res.json().key;
    const item = list.items.find((i: { id?: string; key: string }) => (i.id ?? i.key) === own);
    expect(item.revision).toBe(revision);
  });

  it('refuses a stale If-Match with 412, the current ETag in the details, and changes nothing', async () => {
    const current = await s.call('GET', r.url());
    const revision = current.json().revision as number;
    const { method, url, body } = r.write();
    const error = await expectRefusal(
      s,
      () => s.call(method, url, body, { headers: { 'if-match': `"${revision + 7}"` } }),
      { status: 412, code: 'PRECONDITION_FAILED' },
    );
    expect(error.details).toEqual({ currentRevision: revision, etag: `"${revision}"` });
  });

  it('writes with the current ETag and answers the next one', async () => {
    const current = await s.call('GET', r.url());
    const { method, url, body } = r.write();
    const res = await s.call(method, url, body, { headers: { 'if-match': current.headers.etag as string } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().revision).toBe(current.json().revision + 1);
    expect(res.headers.etag).toBe(`"${current.json().revision + 1}"`);
    const after = await s.call('GET', r.url());
    expect(after.headers.etag).toBe(res.headers.etag);
  });
});

describe('concurrent writes with the same If-Match', () => {
  const races: { name: string; send: (i: number, etag: string) => Promise<{ statusCode: number }>; url: string }[] = [
    {
      name: 'flag edits',
      url: '/api/v1/projects/etags/flags/banner',
      send: (i, etag) =>
        s.call(
          'PATCH',
          '/api/v1/projects/etags/flags/banner',
          { name: `Edit ${i}` },
          { headers: { 'if-match': etag } },
        ),
    },
    {
      name: 'project renames',
      url: '/api/v1/projects/etags',
      send: (i, etag) =>
        s.call('PATCH', '/api/v1/projects/etags', { name: `Rename ${i}` }, { headers: { 'if-match': etag } }),
    },
    {
      name: 'environment renames',
      url: '/api/v1/projects/etags/environments/staging',
      send: (i, etag) =>
        s.call(
          'PATCH',
          '/api/v1/projects/etags/environments/staging',
          { name: `Stage ${i}` },
          { headers: { 'if-match': etag } },
        ),
    },
  ];

  for (const race of races) {
    it(`let exactly one of several ${race.name} through; the others get 412`, async () => {
      const etag = (await s.call('GET', race.url)).headers.etag as string;
      const results = await Promise.all([0, 1, 2, 3].map((i) => race.send(i, etag)));
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([200, 412, 412, 412]);
    });
  }

  it('let one revocation of a key through and refuse a second one sent with the same ETag', async () => {
    const etag = (await s.call('GET', `/api/v1/keys/${ids.race}`)).headers.etag as string;
    const first = await s.call('POST', `/api/v1/keys/${ids.race}/revoke`, undefined, { headers: { 'if-match': etag } });
    expect(first.statusCode).toBe(200);
    const second = await s.call('POST', `/api/v1/keys/${ids.race}/revoke`, undefined, {
      headers: { 'if-match': etag },
    });
    expect(second.statusCode).toBe(412);
  });
});

describe('deletes that honour If-Match', () => {
  it('refuse to delete a flag edited since it was read, then delete it at its current ETag', async () => {
    const url = '/api/v1/projects/etags/flags/doomed';
    const read = await s.call('GET', url);
    await s.ok('PATCH', url, { description: 'edited meanwhile' });
    await expectRefusal(
      s,
      () => s.call('DELETE', url, undefined, { headers: { 'if-match': read.headers.etag as string } }),
      {
        status: 412,
        code: 'PRECONDITION_FAILED',
      },
    );
    const current = await s.call('GET', url);
    const res = await s.call('DELETE', url, undefined, { headers: { 'if-match': current.headers.etag as string } });
    expect(res.statusCode).toBe(204);
  });

  it('refuse to delete an environment renamed since it was read', async () => {
    await s.ok('POST', '/api/v1/projects/etags/environments', { key: 'scratch', name: 'Scratch' });
    const url = '/api/v1/projects/etags/environments/scratch';
    const read = await s.call('GET', url);
    await s.ok('PATCH', url, { name: 'Scratch 2' });
    await expectRefusal(
      s,
      () => s.call('DELETE', url, undefined, { headers: { 'if-match': read.headers.etag as string } }),
      {
        status: 412,
        code: 'PRECONDITION_FAILED',
      },
    );
  });
});
