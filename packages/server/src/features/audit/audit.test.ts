import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
/** An organisation admin key named "alice": every audited write below is hers. */
let alice: string;
const ids = { orgKey: '' };

interface AuditItem {
  id: number;
  actor: string;
  action: string;
  targetKind: string;
  targetKey: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
  createdAt: string;
}

beforeAll(async () => {
  s = await startTestServer();
  const key = await s.call('POST', '/api/v1/keys', { name: 'alice', type: 'admin' });
  expect(key.statusCode).toBe(201);
  alice = key.json().token;
});

afterAll(async () => {
  await s?.close();
});

async function audit(query = ''): Promise<{ items: AuditItem[]; nextCursor: string | null }> {
  const res = await s.call('GET', `/api/v1/audit${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function newestId(): Promise<number> {
  return (await audit('?limit=1')).items[0]?.id ?? 0;
}

/** The entries written after `sinceId`, oldest first. */
async function entriesSince(sinceId: number): Promise<AuditItem[]> {
  const { items } = await audit('?limit=500');
  return items.filter((e) => e.id > sinceId).reverse();
}

async function asAlice(method: string, url: string, body?: unknown, reason?: string) {
  const headers: Record<string, string> = reason === undefined ? {} : { 'x-change-reason': reason };
  const res = await s.call(method, url, body, { token: alice, headers });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res;
}

interface Write {
  action: string;
  method: string;
  url: string | (() => string);
  body?: unknown;
  target: { kind: string; key: string | (() => string) };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

const p = '/api/v1/projects/aud';
const config = `${p}/flags/af/environments/qa`;

/** Every kind of write, in an order in which each one can succeed. */
const WRITES: Write[] = [
  {
    action: 'project.create',
    method: 'POST',
    url: '/api/v1/projects',
    body: { key: 'aud', name: 'Audit' },
    target: { kind: 'project', key: 'aud' },
    before: null,
    after: { key: 'aud', name: 'Audit' },
  },
  {
    action: 'project.update',
    method: 'PATCH',
    url: p,
    body: { name: 'Audited' },
    target: { kind: 'project', key: 'aud' },
    before: { key: 'aud', name: 'Audit' },
    after: { key: 'aud', name: 'Audited' },
  },
  {
    action: 'environment.create',
    method: 'POST',
    url: `${p}/environments`,
    body: { key: 'qa', name: 'QA' },
    target: { kind: 'environment', key: 'qa' },
    before: null,
    after: { key: 'qa', name: 'QA', version: 1 },
  },
  {
    action: 'environment.update',
    method: 'PATCH',
    url: `${p}/environments/qa`,
    body: { name: 'Quality' },
    target: { kind: 'environment', key: 'qa' },
    before: { key: 'qa', name: 'QA' },
    after: { key: 'qa', name: 'Quality' },
  },
  {
    action: 'flag.create',
    method: 'POST',
    url: `${p}/flags`,
    body: { key: 'af', name: 'Audited flag', type: 'boolean' },
    target: { kind: 'flag', key: 'af' },
    before: null,
    after: { key: 'af', name: 'Audited flag', type: 'boolean', archived: false },
  },
  {
    action: 'flag.update',
    method: 'PATCH',
    url: `${p}/flags/af`,
    body: { description: 'now described', metadata: { owner: 'alice' } },
    target: { kind: 'flag', key: 'af' },
    before: { description: '', metadata: {} },
    after: { description: 'now described', metadata: { owner: 'alice' } },
  },
  {
    action: 'flag.archive',
    method: 'POST',
    url: `${p}/flags/af/archive`,
    target: { kind: 'flag', key: 'af' },
    before: { archived: false },
    after: { archived: true },
  },
  {
    action: 'flag.unarchive',
    method: 'POST',
    url: `${p}/flags/af/unarchive`,
    target: { kind: 'flag', key: 'af' },
    before: { archived: true },
    after: { archived: false },
  },
  {
    action: 'flag.config.replace',
    method: 'PUT',
    url: config,
    body: { enabled: true, defaultServe: { variant: 'on' }, offVariant: 'off' },
    target: { kind: 'flag', key: 'af' },
    before: { flag: 'af', environment: 'qa', enabled: false },
    after: { flag: 'af', environment: 'qa', enabled: true },
  },
  {
    action: 'flag.config.update',
    method: 'PATCH',
    url: config,
    body: { targets: [{ variant: 'off', values: ['u1'] }] },
    target: { kind: 'flag', key: 'af' },
    before: { targets: [] },
    after: { targets: [{ variant: 'off', values: ['u1'] }] },
  },
  {
    action: 'flag.kill',
    method: 'POST',
    url: `${config}/kill`,
    target: { kind: 'flag', key: 'af' },
    before: { enabled: true },
    after: { enabled: false },
  },
  {
    action: 'flag.unkill',
    method: 'POST',
    url: `${config}/unkill`,
    target: { kind: 'flag', key: 'af' },
    before: { enabled: false },
    after: { enabled: true },
  },
  {
    action: 'segment.create',
    method: 'POST',
    url: `${p}/environments/qa/segments`,
    body: { key: 'as', name: 'Audited segment' },
    target: { kind: 'segment', key: 'as' },
    before: null,
    after: { key: 'as', environment: 'qa', included: [] },
  },
  {
    action: 'segment.replace',
    method: 'PUT',
    url: `${p}/environments/qa/segments/as`,
    body: { name: 'Audited segment', included: ['u1'] },
    target: { kind: 'segment', key: 'as' },
    before: { included: [] },
    after: { included: ['u1'] },
  },
  {
    action: 'segment.delete',
    method: 'DELETE',
    url: `${p}/environments/qa/segments/as`,
    target: { kind: 'segment', key: 'as' },
    before: { key: 'as', included: ['u1'] },
    after: null,
  },
  {
    action: 'flag.delete',
    method: 'DELETE',
    url: `${p}/flags/af`,
    target: { kind: 'flag', key: 'af' },
    before: { key: 'af', description: 'now described' },
    after: null,
  },
  {
    action: 'environment.delete',
    method: 'DELETE',
    url: `${p}/environments/qa`,
    target: { kind: 'environment', key: 'qa' },
    before: { key: 'qa', name: 'Quality' },
    after: null,
  },
  {
    action: 'key.create',
    method: 'POST',
    url: '/api/v1/keys',
    body: { name: 'audited key', type: 'admin' },
    target: { kind: 'key', key: () => ids.orgKey },
    before: null,
    after: { name: 'audited key', type: 'admin', prefix: expect.stringMatching(/^sy_admin_/) },
  },
  {
    action: 'key.revoke',
    method: 'POST',
    url: () => `/api/v1/keys/${ids.orgKey}/revoke`,
    target: { kind: 'key', key: () => ids.orgKey },
    before: { name: 'audited key', revokedAt: null },
    after: { name: 'audited key', revokedAt: expect.any(String) },
  },
  {
    action: 'project.delete',
    method: 'DELETE',
    url: p,
    target: { kind: 'project', key: 'aud' },
    before: { key: 'aud', name: 'Audited' },
    after: null,
  },
];

describe('the audit log', () => {
  for (const w of WRITES) {
    it(`records ${w.action} once, with actor, target, before, after and the X-Change-Reason`, async () => {
      const since = await newestId();
      const reason = `reason for ${w.action}`;
      const res = await asAlice(w.method, typeof w.url === 'string' ? w.url : w.url(), w.body, reason);
      if (w.action === 'key.create') ids.orgKey = res.json().id;
      const entries = await entriesSince(since);
      expect(entries).toHaveLength(1);
      const entry = entries[0] as AuditItem;
      const targetKey = typeof w.target.key === 'string' ? w.target.key : w.target.key();
      expect(entry).toMatchObject({
        actor: 'alice',
        action: w.action,
        targetKind: w.target.kind,
        targetKey,
        reason,
      });
      if (w.before === null) expect(entry.before).toBeNull();
      else expect(entry.before).toMatchObject(w.before);
      if (w.after === null) expect(entry.after).toBeNull();
      else expect(entry.after).toMatchObject(w.after);
    });
  }

  it('never records a key token', async () => {
    const created = (await asAlice('POST', '/api/v1/keys', { name: 'secret', type: 'admin' })).json();
    const res = await s.call('GET', `/api/v1/audit?targetKey=${created.id}`);
    expect(res.json().items).toHaveLength(1);
    expect(res.body).not.toContain(created.token);
  });

  it('records one flag.kill per flag a kill by tag turns off', async () => {
    await asAlice('POST', '/api/v1/projects', { key: 'tagged', name: 'Tagged' });
    await asAlice('POST', '/api/v1/projects/tagged/environments', { key: 'production', name: 'P' });
    for (const key of ['t1', 't2', 't3']) {
      const tags = key === 't3' ? ['other'] : ['incident'];
      await asAlice('POST', '/api/v1/projects/tagged/flags', { key, name: key, type: 'boolean', tags });
      await asAlice('PATCH', `/api/v1/projects/tagged/flags/${key}/environments/production`, { enabled: true });
    }
    const since = await newestId();
    const res = await asAlice(
      'POST',
      '/api/v1/projects/tagged/environments/production/kill',
      { tag: 'incident' },
      'payment outage',
    );
    expect(res.json()).toMatchObject({ tag: 'incident', killed: ['t1', 't2'] });
    const entries = await entriesSince(since);
    expect(entries.map((e) => [e.action, e.targetKey, e.reason, e.actor])).toEqual([
      ['flag.kill', 't1', 'payment outage', 'alice'],
      ['flag.kill', 't2', 'payment outage', 'alice'],
    ]);
    for (const e of entries) {
      expect(e.before).toMatchObject({ enabled: true, version: expect.any(Number) });
      expect(e.after).toMatchObject({ enabled: false, version: res.json().version });
    }
  });

  it('takes the reason from the body over the X-Change-Reason header', async () => {
    const since = await newestId();
    await asAlice(
      'POST',
      '/api/v1/projects/tagged/flags/t3/environments/production/kill',
      { reason: 'from the body' },
      'from the header',
    );
    expect((await entriesSince(since)).map((e) => e.reason)).toEqual(['from the body']);
  });

  it('records no reason when none is given', async () => {
    const since = await newestId();
    await asAlice('PATCH', '/api/v1/projects/tagged', { name: 'Tagged again' });
    expect((await entriesSince(since)).map((e) => e.reason)).toEqual([null]);
  });

  it('records nothing for a write that changes nothing', async () => {
    const since = await newestId();
    await asAlice('POST', '/api/v1/projects/tagged/flags/t1/environments/production/kill', { reason: 'again' });
    await asAlice('POST', '/api/v1/projects/tagged/flags/t1/archive');
    await asAlice('POST', '/api/v1/projects/tagged/flags/t1/archive');
    expect((await entriesSince(since)).map((e) => e.action)).toEqual(['flag.archive']);
  });
});

describe('audit filters', () => {
  beforeAll(async () => {
    for (const key of ['filter-a', 'filter-b']) {
      await asAlice('POST', '/api/v1/projects', { key, name: key });
      for (const env of ['staging', 'production']) {
        await asAlice('POST', `/api/v1/projects/${key}/environments`, { key: env, name: env });
      }
      await asAlice('POST', `/api/v1/projects/${key}/flags`, { key: 'shared', name: 'Shared', type: 'boolean' });
      await asAlice('POST', `/api/v1/projects/${key}/flags/shared/environments/production/unkill`);
      await asAlice('PATCH', `/api/v1/projects/${key}/flags/shared/environments/staging`, { enabled: true });
    }
    await s.call('POST', '/api/v1/projects/filter-a/flags', { key: 'by-bootstrap', name: 'B', type: 'boolean' });
  });

  it('filters by project', async () => {
    const { items } = await audit('?project=filter-a');
    expect(items.map((e) => `${e.action} ${e.targetKey}`).sort()).toEqual(
      [
        'project.create filter-a',
        'environment.create staging',
        'environment.create production',
        'flag.create shared',
        'flag.config.update shared',
        'flag.unkill shared',
        'flag.create by-bootstrap',
      ].sort(),
    );
  });

  it('filters by environment within a project', async () => {
    const { items } = await audit('?project=filter-a&environment=staging');
    expect(items.map((e) => `${e.action} ${e.targetKey}`).sort()).toEqual(
      ['environment.create staging', 'flag.config.update shared'].sort(),
    );
  });

  it('filters by action, actor, target kind and target key', async () => {
    const byAction = await audit('?project=filter-b&action=flag.config.update');
    expect(byAction.items.map((e) => e.targetKey)).toEqual(['shared']);
    const byActor = await audit('?project=filter-a&actor=test%20admin');
    expect(byActor.items.map((e) => `${e.action} ${e.targetKey}`)).toEqual(['flag.create by-bootstrap']);
    const byKind = await audit('?project=filter-b&targetKind=environment');
    expect(byKind.items.map((e) => e.targetKey).sort()).toEqual(['production', 'staging']);
    const byKey = await audit('?targetKind=flag&targetKey=shared&action=flag.create');
    expect(byKey.items).toHaveLength(2);
  });

  it('refuses an environment filter without a project with 400', async () => {
    await expectRefusal(s, () => s.call('GET', '/api/v1/audit?environment=staging'), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'project',
    });
  });

  it('refuses unknown or malformed filters with 400', async () => {
    for (const query of ['targetKind=planet', 'limit=0', 'limit=501', 'cursor=abc', 'colour=red']) {
      const res = await s.call('GET', `/api/v1/audit?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(res.json().error.details.field).toMatch(/^querystring/);
    }
  });

  it('answers 404 for a filter on a project or environment that does not exist', async () => {
    expect((await s.call('GET', '/api/v1/audit?project=nowhere')).statusCode).toBe(404);
    expect((await s.call('GET', '/api/v1/audit?project=filter-a&environment=nowhere')).statusCode).toBe(404);
  });
});

describe('audit pagination', () => {
  beforeAll(async () => {
    await asAlice('POST', '/api/v1/projects', { key: 'pages', name: 'Pages' });
    for (let i = 0; i < 23; i++) {
      await asAlice('POST', '/api/v1/projects/pages/flags', { key: `f${i}`, name: `F${i}`, type: 'boolean' });
    }
  });

  async function allPages(limit: number, between?: () => Promise<void>): Promise<AuditItem[][]> {
    const pages: AuditItem[][] = [];
    let cursor: string | null = null;
    do {
      const page = await audit(`?project=pages&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
      pages.push(page.items);
      cursor = page.nextCursor;
      await between?.();
    } while (cursor !== null);
    return pages;
  }

  it.each([5, 6, 24, 100])('returns every entry exactly once, newest first, across pages of %i', async (limit) => {
    const everything = (await audit('?project=pages&limit=500')).items;
    expect(everything).toHaveLength(24);
    const pages = await allPages(limit);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
    expect(pages.flat().map((e) => e.id)).toEqual(everything.map((e) => e.id));
  });

  it('neither skips nor repeats an entry when new entries are written between pages', async () => {
    const everything = (await audit('?project=pages&limit=500')).items;
    let n = 0;
    const pages = await allPages(7, async () => {
      await asAlice('PATCH', '/api/v1/projects/pages/flags/f0', { description: `edit ${n++}` });
    });
    expect(pages.flat().map((e) => e.id)).toEqual(everything.map((e) => e.id));
  });
});
