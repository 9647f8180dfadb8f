import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { SseEvent } from '@switchyard/core';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../db/database.js';
import { type BuildOptions, buildServer } from '../../server.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/database.js';
import { PASSWORD } from '../../test-support/people.js';
import { SYSTEM, UNLIMITED_AUTH_FAILURES } from '../../test-support/server.js';
import { TestSseClient } from '../../test-support/sse-client.js';
import { ChangeFeed } from '../changes/change-feed.js';
import { InProcessBus, RedisBus } from '../delivery/bus.js';
import { createKey } from '../keys/service.js';

const REDIS_URL = process.env.REDIS_URL as string;
/** Two instances need a real Postgres they share, and Redis between them. */
const LIVE = Boolean(process.env.DATABASE_URL && REDIS_URL);

let testDb: TestDatabase;
/** Two instances on one database and one Redis channel, as two processes; their poll of the log is slowed to a minute, so what arrives within a second came through Redis. */
const urls: string[] = [];
const apps: FastifyInstance[] = [];
const closers: (() => Promise<void>)[] = [];
let adminToken = '';

interface Person {
  email: string;
  cookie: string;
  csrfToken: string;
}

const people: Record<'alice' | 'bob' | 'carol', Person> = {
  alice: { email: 'alice@example.com', cookie: '', csrfToken: '' },
  bob: { email: 'bob@example.com', cookie: '', csrfToken: '' },
  carol: { email: 'carol@example.com', cookie: '', csrfToken: '' },
};

async function startInstance(extra: Omit<BuildOptions, 'database'> = {}, redis = true): Promise<string> {
  const database = openPostgres(testDb.url as string, { max: 8 });
  const bus = redis ? new RedisBus({ url: REDIS_URL, channel: CHANNEL }) : new InProcessBus();
  if (bus instanceof RedisBus) await bus.ready();
  const app = await buildServer({
    database,
    bus,
    logger: false,
    authFailuresPerMinute: UNLIMITED_AUTH_FAILURES,
    changeStreams: { pollIntervalMs: 60_000 },
    delivery: { heartbeatIntervalMs: 300 },
    ...extra,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  closers.push(async () => {
    await app.close();
    await bus.close();
    await database.close();
  });
  return url;
}

const CHANNEL = `switchyard:test:changes:${randomBytes(6).toString('hex')}`;

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever the API answered.
async function call(instance: number, method: string, path: string, body?: unknown, as?: Person): Promise<any> {
  const headers: Record<string, string> =
    as === undefined ? { authorization: `Bearer ${adminToken}` } : { cookie: as.cookie, 'x-csrf-token': as.csrfToken };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${urls[instance]}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

async function signIn(instance: number, person: Person): Promise<void> {
  const res = await fetch(`${urls[instance]}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: person.email, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  person.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
  person.csrfToken = ((await res.json()) as { csrfToken: string }).csrfToken;
}

const streamUrl = (instance: number, project: string, query = '') =>
  `${urls[instance]}/api/v1/projects/${project}/changes${query}`;

const watch = (
  instance: number,
  project: string,
  as: Person | { token: string },
  options: { lastEventId?: number; query?: string } = {},
) =>
  TestSseClient.connect(streamUrl(instance, project, options.query), {
    ...('token' in as ? { token: as.token } : { headers: { cookie: as.cookie } }),
    ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
  });

const changes = (c: TestSseClient) => c.events.filter((e: SseEvent) => e.event === 'change');
const idsOf = (c: TestSseClient) => changes(c).map((e) => Number(e.lastEventId));

interface AuditPage {
  items: { id: number; action: string; targetKey: string }[];
}

/** The project's audit entries after `after`, oldest first, as `GET /api/v1/audit` lists them. */
async function auditAfter(project: string, after: number) {
  const page: AuditPage = await call(0, 'GET', `/api/v1/audit?project=${project}&limit=500`);
  return page.items.filter((e) => e.id > after).reverse();
}

async function newestId(project: string): Promise<number> {
  const page: AuditPage = await call(0, 'GET', `/api/v1/audit?project=${project}&limit=1`);
  return page.items[0]?.id ?? 0;
}

const open: TestSseClient[] = [];
const track = (c: TestSseClient) => {
  open.push(c);
  return c;
};

beforeAll(async () => {
  if (!LIVE) return;
  testDb = await createTestDatabase();
  urls.push(await startInstance(), await startInstance());
  adminToken = (
    await createKey({ db: testDb.database.db, feed: new ChangeFeed() }, SYSTEM, { name: 'ops', type: 'admin' })
  ).token;
  for (const project of ['shop', 'other']) {
    await call(0, 'POST', '/api/v1/projects', { key: project, name: project });
    await call(0, 'POST', `/api/v1/projects/${project}/environments`, { key: 'prod', name: 'Production' });
  }
  for (let i = 0; i < 6; i++) {
    await call(0, 'POST', '/api/v1/projects/shop/environments', { key: `e${i}`, name: `E${i}` });
  }
  for (let i = 0; i < 8; i++) {
    await call(0, 'POST', '/api/v1/projects/shop/flags', { key: `f${i}`, name: `F${i}`, type: 'boolean' });
  }
  const roles = { alice: ['shop', 'editor'], bob: ['shop', 'viewer'], carol: ['other', 'viewer'] } as const;
  for (const [name, [project, role]] of Object.entries(roles)) {
    const person = people[name as keyof typeof people];
    await call(0, 'POST', '/api/v1/users', { email: person.email, password: PASSWORD, mustChangePassword: false });
    await call(0, 'POST', `/api/v1/projects/${project}/members`, { email: person.email, role });
  }
  await signIn(0, people.alice);
  await signIn(1, people.bob);
  await signIn(1, people.carol);
}, 180_000);

afterAll(async () => {
  for (const c of open) c.close();
  for (const close of closers) await close();
  await testDb?.drop();
});

describe.runIf(LIVE)('the management change stream', () => {
  it("shows one person's edit on instance A on another person's stream on instance B within a second", async () => {
    const bob = track(await watch(1, 'shop', people.bob));
    const started = Date.now();
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f0', { description: 'edited by alice' }, people.alice);
    await bob.waitFor((events) => events.some((e) => e.event === 'change'), 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    const [event] = changes(bob);
    const page: AuditPage = await call(0, 'GET', '/api/v1/audit?project=shop&limit=1');
    // The data is the entry exactly as the audit API lists it, and the id is its id.
    expect(JSON.parse(event?.data ?? '')).toEqual(page.items[0]);
    expect(event?.lastEventId).toBe(String(page.items[0]?.id));
    expect(page.items[0]).toMatchObject({ action: 'flag.update', targetKey: 'f0', actor: people.alice.email });
  });

  it('brings writes outside every environment (a rename, a new member) through the bus too', async () => {
    const bob = track(await watch(1, 'shop', people.bob));
    const started = Date.now();
    await call(0, 'PATCH', '/api/v1/projects/shop', { name: 'The shop' });
    await bob.waitFor((events) => events.some((e) => e.event === 'change'), 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(JSON.parse(changes(bob)[0]?.data ?? '')).toMatchObject({ action: 'project.update', targetKey: 'shop' });
  });

  it("never shows another project's entries", async () => {
    const bob = track(await watch(1, 'shop', people.bob));
    await call(0, 'PATCH', '/api/v1/projects/other', { name: 'Other things' });
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f1', { description: 'marker' });
    await bob.waitFor((events) => events.some((e) => e.event === 'change'), 1000);
    expect(changes(bob).map((e) => JSON.parse(e.data).targetKey)).toEqual(['f1']);
  });

  it('replays exactly the entries missed after Last-Event-ID, in order, then follows live', async () => {
    const first = await watch(1, 'shop', people.bob);
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f2', { description: 'seen' });
    await first.waitFor((events) => events.some((e) => e.event === 'change'));
    const lastSeen = Number(first.events.at(-1)?.lastEventId);
    first.close();
    for (let i = 0; i < 3; i++)
      await call(0, 'PATCH', '/api/v1/projects/shop/flags/f2', { description: `missed ${i}` });
    await call(0, 'PATCH', '/api/v1/projects/other', { name: `elsewhere` });
    const missed = await auditAfter('shop', lastSeen);
    expect(missed).toHaveLength(3);

    const again = track(await watch(0, 'shop', people.bob, { lastEventId: lastSeen }));
    await again.waitFor((events) => events.filter((e) => e.event === 'change').length >= 3);
    expect(changes(again).map((e) => JSON.parse(e.data))).toEqual(missed);
    await call(1, 'PATCH', '/api/v1/projects/shop/flags/f2', { description: 'live' });
    await again.waitFor((events) => events.filter((e) => e.event === 'change').length >= 4);
    expect(idsOf(again)).toEqual((await auditAfter('shop', lastSeen)).map((e) => e.id));
  });

  it('takes ?after= too, and Last-Event-ID over it', async () => {
    const mark = await newestId('shop');
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f3', { description: 'one' });
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f3', { description: 'two' });
    const [one, two] = await auditAfter('shop', mark);
    const byQuery = track(await watch(1, 'shop', people.bob, { query: `?after=${mark}` }));
    await byQuery.waitFor((events) => events.filter((e) => e.event === 'change').length >= 2);
    expect(idsOf(byQuery)).toEqual([one?.id, two?.id]);
    const byHeader = track(
      await watch(1, 'shop', people.bob, { query: `?after=${mark}`, lastEventId: one?.id as number }),
    );
    await byHeader.waitFor((events) => events.some((e) => e.event === 'change'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(idsOf(byHeader)).toEqual([two?.id]);
  });

  it("moves a fresh stream's Last-Event-ID to where the log stands, so a reconnection replays nothing it had", async () => {
    await call(0, 'PATCH', '/api/v1/projects/other', { name: 'moved on' });
    const newest = await newestId('other');
    const bob = track(await watch(1, 'shop', people.bob));
    // A bare `id:` dispatches no event: the parser shows where it moved to on the next one.
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f4', { description: 'after the bare id' });
    await bob.waitFor((events) => events.some((e) => e.event === 'change'));
    expect(Number(changes(bob)[0]?.lastEventId)).toBeGreaterThan(newest);
  });

  it('neither skips nor repeats an entry while concurrent writes on both instances commit out of id order, and a stream resumes in their midst', async () => {
    const mark = await newestId('shop');
    const live = track(await watch(1, 'shop', people.bob, { lastEventId: mark }));
    let resumed: TestSseClient | undefined;
    const writers = [0, 1].flatMap((instance) =>
      [0, 1, 2].map(async (w) => {
        // Each writer in an environment of its own: their writes lock nothing in common, so they
        // commit in whatever order they finish, not in the order their entries took their ids.
        const env = `e${instance * 3 + w}`;
        for (let i = 0; i < 8; i++) {
          await call(instance, 'PATCH', `/api/v1/projects/shop/flags/f${instance * 3 + w}/environments/${env}`, {
            enabled: i % 2 === 0,
          });
          if (instance === 0 && w === 0 && i === 2) {
            resumed = track(await watch(0, 'shop', people.bob, { lastEventId: mark }));
          }
        }
      }),
    );
    await Promise.all(writers);
    const expected = (await auditAfter('shop', mark)).map((e) => e.id);
    expect(expected).toHaveLength(48);
    for (const c of [live, resumed as TestSseClient]) {
      await c.waitFor((events) => events.filter((e) => e.event === 'change').length >= 48, 5000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(idsOf(c)).toEqual(expected);
    }
  });
});

/**
 * A write that took its entry's id and has not committed yet: a transaction of its own that
 * inserts an entry of `shop`, then waits until `finish` commits or rolls it back.
 */
async function slowWrite(): Promise<{ id: number; finish(outcome: 'commit' | 'rollback'): Promise<void> }> {
  const db = testDb.database.db;
  let finish: (outcome: 'commit' | 'rollback') => void = () => undefined;
  const outcome = new Promise<'commit' | 'rollback'>((resolve) => {
    finish = resolve;
  });
  let inserted: (id: number) => void = () => undefined;
  const id = new Promise<number>((resolve) => {
    inserted = resolve;
  });
  const done = db
    .transaction(async (tx) => {
      const result = (await tx.execute(sql`
        insert into audit_entries (project_id, actor, actor_id, action, target_kind, target_key)
        select id, 'slow writer', 'system', 'flag.update', 'flag', 'f7' from projects where key = 'shop'
        returning id`)) as unknown as { rows: { id: string }[] };
      inserted(Number(result.rows[0]?.id));
      if ((await outcome) === 'rollback') throw new Error('rolled back on purpose');
    })
    .catch(() => undefined);
  return {
    id: await id,
    async finish(how) {
      finish(how);
      await done;
    },
  };
}

describe.runIf(LIVE)('entries whose ids are taken before an earlier one commits', () => {
  it.each(['commit', 'rollback'] as const)(
    'holds an entry behind a write still running with an earlier id, then sends them in id order (%s)',
    async (how) => {
      const bob = track(await watch(1, 'shop', people.bob));
      const slow = await slowWrite();
      await call(0, 'PATCH', '/api/v1/projects/shop/flags/f6', { description: `fast, the slow one will ${how}` });
      const fast = await newestId('shop');
      expect(fast).toBeGreaterThan(slow.id);
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Sent now, the fast entry would move Last-Event-ID past the slow one, and a resumed stream would never get it.
      expect(changes(bob)).toEqual([]);
      await slow.finish(how);
      await bob.waitFor((events) => events.some((e) => e.event === 'change'), 1000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(idsOf(bob)).toEqual(how === 'commit' ? [slow.id, fast] : [fast]);
    },
  );
});

describe.runIf(LIVE)('who may follow the stream', () => {
  it('refuses a viewer of another project, a caller without credentials and a project that does not exist', async () => {
    await expect(watch(1, 'shop', people.carol)).rejects.toThrow(/answered 403/);
    await expect(TestSseClient.connect(streamUrl(1, 'shop'))).rejects.toThrow(/answered 401/);
    await expect(watch(1, 'nowhere', people.bob)).rejects.toThrow(/answered 403/);
    const carol = track(await watch(1, 'other', people.carol));
    expect(carol.ended).toBe(false);
  });

  it('ends the stream of a personal token once it is revoked', async () => {
    const created = await call(1, 'POST', '/api/v1/tokens', { name: 'stream' }, people.bob);
    const stream = track(await watch(0, 'shop', { token: created.token }));
    const started = Date.now();
    await call(1, 'POST', `/api/v1/tokens/${created.id}/revoke`, undefined, people.bob);
    await stream.waitFor(() => stream.ended, 2000);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(watch(0, 'shop', { token: created.token })).rejects.toThrow(/answered 401/);
  });

  it('ends the stream of an admin key once it is revoked', async () => {
    const key = await call(0, 'POST', '/api/v1/keys', { name: 'console robot', type: 'admin', project: 'shop' });
    const stream = track(await watch(1, 'shop', { token: key.token }));
    await call(0, 'POST', `/api/v1/keys/${key.id}/revoke`);
    await stream.waitFor(() => stream.ended, 2000);
  });

  it('ends the stream of a session signed out, at the next heartbeat', async () => {
    const dave: Person = { email: 'dave@example.com', cookie: '', csrfToken: '' };
    await call(0, 'POST', '/api/v1/users', { email: dave.email, password: PASSWORD, mustChangePassword: false });
    await call(0, 'POST', '/api/v1/projects/shop/members', { email: dave.email, role: 'viewer' });
    await signIn(0, dave);
    const stream = track(await watch(1, 'shop', dave));
    await fetch(`${urls[0]}/api/v1/session`, { method: 'DELETE', headers: { cookie: dave.cookie } });
    await stream.waitFor(() => stream.ended, 2000);
  });

  it('ends the streams of a person the owner disables, by session and by personal token alike', async () => {
    const frank: Person = { email: 'frank@example.com', cookie: '', csrfToken: '' };
    const user = await call(0, 'POST', '/api/v1/users', {
      email: frank.email,
      password: PASSWORD,
      mustChangePassword: false,
    });
    await call(0, 'POST', '/api/v1/projects/shop/members', { email: frank.email, role: 'viewer' });
    await signIn(0, frank);
    const { token } = await call(0, 'POST', '/api/v1/tokens', { name: 'tail' }, frank);
    const bySession = track(await watch(1, 'shop', frank));
    const byToken = track(await watch(1, 'shop', { token }));
    await call(0, 'POST', `/api/v1/users/${user.id}/disable`);
    await bySession.waitFor(() => bySession.ended, 2000);
    await byToken.waitFor(() => byToken.ended, 2000);
  });

  it('ends the stream of a member removed from the project', async () => {
    const erin: Person = { email: 'erin@example.com', cookie: '', csrfToken: '' };
    const user = await call(0, 'POST', '/api/v1/users', {
      email: erin.email,
      password: PASSWORD,
      mustChangePassword: false,
    });
    await call(0, 'POST', '/api/v1/projects/shop/members', { email: erin.email, role: 'viewer' });
    await signIn(0, erin);
    const stream = track(await watch(1, 'shop', erin));
    await call(0, 'DELETE', `/api/v1/projects/shop/members/${user.id}`);
    await stream.waitFor(() => stream.ended, 2000);
  });
});

/** A GET over a raw socket: Node's client refuses to send some of these headers at all. */
function rawGet(instance: number, path: string, headerLines: string[]): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(urls[instance] as string);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer; got ${JSON.stringify(data.slice(0, 300))}`));
    }, 3000);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (status !== null && (Number(status[1]) !== 200 || data.includes('\r\n\r\n'))) {
        const [head = '', body = ''] = data.split('\r\n\r\n');
        if (
          Number(status[1]) === 200 ||
          /content-length: (\d+)/i.exec(head)?.[1] === String(Buffer.byteLength(body, 'latin1'))
        ) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ status: Number(status[1]), body });
        }
      }
    });
    socket.on('error', reject);
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        `Authorization: Bearer ${adminToken}`,
        ...headerLines,
        '',
        '',
      ].join('\r\n'),
      'latin1',
    );
  });
}

describe.runIf(LIVE)('hostile resume positions', () => {
  const path = '/api/v1/projects/shop/changes';

  it.each([
    ['not a number', 'abc'],
    ['negative', '-1'],
    ['a float', '1.5'],
    ['an exponent', '1e3'],
    ['beyond every id the log can hold', '99999999999999999999999999'],
    ['beyond the newest entry', '999999999999999'],
    ['with a NUL', '12\u00003'],
    ['with a tab inside', '1\t2'],
  ])('answers 400 to a Last-Event-ID %s, not 5xx', async (_name, value) => {
    const res = await rawGet(1, path, [`Last-Event-ID: ${value}`]);
    expect(res.status, res.body).toBe(400);
    if (res.body !== '') expect(JSON.parse(res.body).error.code).toMatch(/VALIDATION_FAILED|BAD_REQUEST/);
  });

  it.each(['abc', '-1', '%00', '1%00', '99999999999999999999', '999999999999999', '', '1&after=2'])(
    'answers 400 to ?after=%s, not 5xx',
    async (value) => {
      const res = await rawGet(1, `${path}?after=${value}`, []);
      expect(res.status, res.body).toBe(400);
      expect(JSON.parse(res.body).error).toMatchObject({ code: 'VALIDATION_FAILED' });
    },
  );

  it('refuses an unknown query parameter', async () => {
    const res = await rawGet(1, `${path}?colour=red`, []);
    expect(res.status).toBe(400);
  });
});

describe.runIf(LIVE)('without Redis', () => {
  it("brings another instance's entries by reading the log every second", async () => {
    urls.push(await startInstance({ changeStreams: { pollIntervalMs: 1000 } }, false));
    const lonely = urls.length - 1;
    const bob = track(await watch(lonely, 'shop', people.bob));
    const started = Date.now();
    await call(0, 'PATCH', '/api/v1/projects/shop/flags/f5', { description: 'heard without Redis' });
    await bob.waitFor((events) => events.some((e) => e.event === 'change'), 3000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(JSON.parse(changes(bob)[0]?.data ?? '')).toMatchObject({ targetKey: 'f5', action: 'flag.update' });
  });
});

describe.runIf(LIVE)('bounds on open streams', () => {
  it('answers 429 past the streams one principal may hold, and 503 past the instance', async () => {
    const url = await startInstance({ changeStreams: { pollIntervalMs: 60_000, maxPerPrincipal: 2, maxOpen: 3 } });
    urls.push(url);
    const instance = urls.length - 1;
    const two = [await watch(instance, 'shop', people.bob), await watch(instance, 'shop', people.bob)];
    for (const c of two) track(c);
    await expect(watch(instance, 'shop', people.bob)).rejects.toThrow(/answered 429.*RATE_LIMITED/);
    track(await watch(instance, 'other', people.carol));
    await expect(watch(instance, 'other', people.carol)).rejects.toThrow(/answered 503.*UNAVAILABLE/);
    two[0]?.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    track(await watch(instance, 'other', people.carol));
  });
});
