import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../db/database.js';
import { buildServer } from '../../server.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { RedisBus } from '../delivery/bus.js';
import { backoffMs } from './dispatcher.js';

/** The verification code of docs/webhooks.md, as a receiver would write it from the page. */
function verifySwitchyardSignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds = Date.now() / 1000,
  toleranceSeconds = 300,
): boolean {
  let t: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of String(header ?? '').split(',')) {
    const [key, value] = part.split('=', 2);
    if (key === 't') t = Number(value);
    else if (key === 'v1' && value !== undefined) signatures.push(Buffer.from(value, 'hex'));
  }
  if (t === undefined || !Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return signatures.some((s) => s.length === expected.length && timingSafeEqual(s, expected));
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  res: ServerResponse;
}

type Handler = (r: Received, nth: number) => void;

/** A real HTTP receiver: each path answers as its handler says and every request is kept. */
class Receiver {
  readonly received: Received[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), res };
      this.received.push(r);
      const nth = this.received.filter((x) => x.path === r.path).length;
      (this.handlers.get(r.path) ?? ((x) => x.res.writeHead(204).end()))(r, nth);
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string, handler: Handler): string {
    this.handlers.set(path, handler);
    return `${this.url}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Waits until `check` holds; gives up (failing the test) after `limitMs`. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  limitMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const SETTINGS = {
  pollIntervalMs: 20,
  concurrency: 4,
  timeoutMs: 400,
  backoffBaseMs: 50,
  backoffMaxMs: 200,
  maxAttempts: 4,
  // The receiver listens on loopback, which webhooks may call only when the operator allows it.
  allowedHosts: ['127.0.0.1'],
};

let s: TestServer;
let receiver: Receiver;
const project = '/api/v1/projects/shop';
const hooks = `${project}/webhooks`;
let edits = 0;

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  s = await startTestServer({ webhooks: SETTINGS });
  await s.ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await s.ok('POST', `${project}/environments`, { key: 'production', name: 'Production' });
  await s.ok('POST', `${project}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean' });
});

afterAll(async () => {
  await s?.close();
  await receiver?.close();
});

/** A `flag.changed` event: the flag's description edited. */
async function changeFlag(): Promise<void> {
  edits += 1;
  await s.ok('PATCH', `${project}/flags/checkout`, { description: `edit ${edits}` });
}

async function subscribe(url: string): Promise<{ id: string; secret: string }> {
  return s.ok('POST', hooks, { url, events: ['flag.changed'] });
}

async function deliveriesOf(id: string) {
  return (await s.ok('GET', `${hooks}/${id}/deliveries`)).items as { id: string; status: string; attempts: number }[];
}

describe('the webhook dispatcher', () => {
  it('signs every request so that the scheme of docs/webhooks.md verifies it, and only the body it sent', async () => {
    const hook = await subscribe(receiver.on('/signed', (r) => r.res.writeHead(200).end('thanks')));
    await changeFlag();
    const [request] = await until(
      'the signed request',
      () => receiver.at('/signed').length === 1 && receiver.at('/signed'),
    );
    const signature = request?.headers['switchyard-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySwitchyardSignature(hook.secret, signature, request?.body as string)).toBe(true);
    expect(verifySwitchyardSignature(hook.secret, signature, `${request?.body} `)).toBe(false);
    expect(verifySwitchyardSignature(`${hook.secret}x`, signature, request?.body as string)).toBe(false);
    expect(verifySwitchyardSignature(hook.secret, signature, request?.body as string, Date.now() / 1000 + 3600)).toBe(
      false,
    );

    const payload = JSON.parse(request?.body as string);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['switchyard-event']).toBe('flag.changed');
    expect(request?.headers['switchyard-event-id']).toBe(String(payload.id));
    expect(payload).toMatchObject({ type: 'flag.changed', action: 'flag.update', target: { key: 'checkout' } });

    const [delivery] = await until('the delivery recorded', async () => {
      const list = await deliveriesOf(hook.id);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(request?.headers['switchyard-delivery']).toBe(delivery?.id);
    const detail = await s.ok('GET', `${hooks}/${hook.id}/deliveries/${delivery?.id}`);
    expect(detail).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, nextAttemptAt: null });
    expect(detail.attemptLog).toEqual([
      { attempt: 1, startedAt: expect.any(String), durationMs: expect.any(Number), statusCode: 200, error: null },
    ]);
    expect((await s.call('DELETE', `${hooks}/${hook.id}`)).statusCode).toBe(204);
  });

  it('signs with both secrets during a rotation grace period, each verifying with its own', async () => {
    const hook = await subscribe(receiver.on('/rotated', (r) => r.res.writeHead(204).end()));
    const rotated = await s.ok('POST', `${hooks}/${hook.id}/rotate-secret`, { previousSecretValidSeconds: 600 });
    await changeFlag();
    const [request] = await until('the request', () => receiver.at('/rotated').length === 1 && receiver.at('/rotated'));
    const signature = request?.headers['switchyard-signature'] as string;
    expect(signature.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    expect(verifySwitchyardSignature(rotated.secret, signature, request?.body as string)).toBe(true);
    expect(verifySwitchyardSignature(hook.secret, signature, request?.body as string)).toBe(true);
    expect((await s.call('DELETE', `${hooks}/${hook.id}`)).statusCode).toBe(204);
  });

  it('retries a receiver that fails twice and then answers 200, recording every attempt', async () => {
    const hook = await subscribe(
      receiver.on('/flaky', (r, nth) => r.res.writeHead(nth === 1 ? 500 : nth === 2 ? 503 : 200).end()),
    );
    await changeFlag();
    const [delivery] = await until('the delivery delivered', async () => {
      const list = await deliveriesOf(hook.id);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    const detail = await s.ok('GET', `${hooks}/${hook.id}/deliveries/${delivery?.id}`);
    expect(detail).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200, lastError: null });
    expect(
      detail.attemptLog.map((a: { attempt: number; statusCode: number; error: string | null }) => [
        a.attempt,
        a.statusCode,
        a.error,
      ]),
    ).toEqual([
      [1, 500, 'the receiver answered 500'],
      [2, 503, 'the receiver answered 503'],
      [3, 200, null],
    ]);
    const requests = receiver.at('/flaky');
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers['switchyard-delivery']))).toEqual(new Set([delivery?.id]));
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    for (const r of requests) {
      expect(verifySwitchyardSignature(hook.secret, r.headers['switchyard-signature'] as string, r.body)).toBe(true);
    }
    expect((await s.call('DELETE', `${hooks}/${hook.id}`)).statusCode).toBe(204);
  });

  it('gives a delivery up as failed after the last attempt, and sends it again on request', async () => {
    let healthy = false;
    const hook = await subscribe(receiver.on('/down', (r) => r.res.writeHead(healthy ? 200 : 502).end()));
    await changeFlag();
    const [failed] = await until('the delivery failed', async () => {
      const list = await deliveriesOf(hook.id);
      return list[0]?.status === 'failed' ? list : undefined;
    });
    expect(failed).toMatchObject({ attempts: SETTINGS.maxAttempts, lastStatusCode: 502, nextAttemptAt: null });
    expect(receiver.at('/down')).toHaveLength(SETTINGS.maxAttempts);
    healthy = true;
    const again = await s.ok('POST', `${hooks}/${hook.id}/deliveries/${failed?.id}/redeliver`);
    await until('the redelivery delivered', async () => {
      const list = await deliveriesOf(hook.id);
      return list.find((d) => d.id === again.id)?.status === 'delivered';
    });
    expect(receiver.at('/down')).toHaveLength(SETTINGS.maxAttempts + 1);
    expect((await s.call('DELETE', `${hooks}/${hook.id}`)).statusCode).toBe(204);
  });

  it('lets writes go on while a receiver hangs; the hung attempt times out and is retried', async () => {
    const hook = await subscribe(
      // The first request is held unanswered until the test ends; later ones are answered.
      receiver.on('/hang', (r, nth) => {
        if (nth > 1) r.res.writeHead(200).end();
      }),
    );
    await changeFlag();
    const [held] = await until('the held request', () => receiver.at('/hang').length >= 1 && receiver.at('/hang'));
    // The receiver still holds the first request, and the next write commits all the same.
    await changeFlag();
    expect(held?.res.writableEnded).toBe(false);
    const list = await until('both deliveries delivered', async () => {
      const l = await deliveriesOf(hook.id);
      return l.length === 2 && l.every((d) => d.status === 'delivered') ? l : undefined;
    });
    const first = list.find((d) => d.id === held?.headers['switchyard-delivery']);
    const detail = await s.ok('GET', `${hooks}/${hook.id}/deliveries/${first?.id}`);
    expect(
      detail.attemptLog.map((a: { statusCode: number | null; error: string | null }) => [a.statusCode, a.error]),
    ).toEqual([
      [null, `no answer within ${SETTINGS.timeoutMs} ms`],
      [200, null],
    ]);
    expect((await s.call('DELETE', `${hooks}/${hook.id}`)).statusCode).toBe(204);
  });

  it('waits 15 s after the first failure by default, doubling up to the cap', () => {
    const settings = { backoffBaseMs: 15_000, backoffMaxMs: 3_600_000 };
    expect([1, 2, 3, 4, 9, 10, 60].map((n) => backoffMs(settings, n))).toEqual([
      15_000, 30_000, 60_000, 120_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
  });
});

describe('a receiver inside the network', () => {
  it('is called by a name resolving to loopback when the operator allows the address', async () => {
    const path = receiver.on('/by-name', (r) => r.res.writeHead(204).end()).replace('127.0.0.1', 'localhost');
    const hook = await subscribe(path);
    await changeFlag();
    await until('the delivery delivered', async () => (await deliveriesOf(hook.id))[0]?.status === 'delivered');
    expect(receiver.at('/by-name')).toHaveLength(1);
    expect((await s.call('DELETE', `${hooks}/${hook.id}`)).statusCode).toBe(204);
  });

  it('is refused at delivery when not allowed: a failed attempt in the log, retried on the backoff, nothing sent', async () => {
    const own = await startTestServer({ webhooks: { ...SETTINGS, allowedHosts: [] } });
    try {
      await own.ok('POST', '/api/v1/projects', { key: 'inside', name: 'Inside' });
      // A name passes when the webhook is saved: what it resolves to is judged when it is called.
      const url = receiver.on('/rebound', (r) => r.res.writeHead(204).end()).replace('127.0.0.1', 'localhost');
      const hook = await own.ok('POST', '/api/v1/projects/inside/webhooks', { url, events: ['flag.changed'] });
      await own.ok('POST', '/api/v1/projects/inside/flags', { key: 'f', name: 'f', type: 'boolean' });
      const base = `/api/v1/projects/inside/webhooks/${hook.id}/deliveries`;
      const [failed] = await until('the delivery given up', async () => {
        const list = (await own.ok('GET', base)).items as { id: string; status: string }[];
        return list[0]?.status === 'failed' ? list : undefined;
      });
      const detail = await own.ok('GET', `${base}/${failed?.id}`);
      expect(detail).toMatchObject({ attempts: SETTINGS.maxAttempts, lastStatusCode: null });
      expect(detail.attemptLog).toHaveLength(SETTINGS.maxAttempts);
      for (const attempt of detail.attemptLog as { statusCode: number | null; error: string }[]) {
        expect(attempt.statusCode).toBeNull();
        expect(attempt.error).toMatch(/^refused to connect: localhost resolves to 127\.0\.0\.1, a loopback address/);
      }
      expect(receiver.at('/rebound')).toHaveLength(0);
    } finally {
      await own.close();
    }
  });
});

describe('a write', () => {
  it('wakes the dispatcher: its delivery arrives long before the next poll', async () => {
    const own = await startTestServer({ webhooks: { ...SETTINGS, pollIntervalMs: 30_000 } });
    try {
      await own.ok('POST', '/api/v1/projects', { key: 'awake', name: 'Awake' });
      const url = receiver.on('/awake', (r) => r.res.writeHead(204).end());
      await own.ok('POST', '/api/v1/projects/awake/webhooks', { url, events: ['flag.changed'] });
      // Past the poll made at start: the next one is 30 s away.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await own.ok('POST', '/api/v1/projects/awake/flags', { key: 'f', name: 'f', type: 'boolean' });
      await until('the delivery', () => receiver.at('/awake').length === 1, 5_000);
    } finally {
      await own.close();
    }
  });
});

// Two instances need a database two pools can share: a real Postgres server.
describe.skipIf((process.env.DATABASE_URL ?? '') === '')('two server instances on one database', () => {
  let other: FastifyInstance;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const database = openPostgres(s.testDb.url as string, { max: 4 });
    other = await buildServer({ database, webhooks: SETTINGS });
    close = async () => {
      await other.close();
      await database.close();
    };
  });

  afterAll(async () => {
    await close?.();
  });

  it('never deliver one event to one webhook twice', async () => {
    const paths = ['/twice-a', '/twice-b', '/twice-c'];
    const subscribed: { id: string; secret: string }[] = [];
    for (const path of paths) {
      // A short wait in the receiver keeps requests in flight while the other instance polls.
      subscribed.push(await subscribe(receiver.on(path, (r) => setTimeout(() => r.res.writeHead(204).end(), 15))));
    }
    const events = 12;
    for (let i = 0; i < events; i++) await changeFlag();
    await until('every delivery delivered', async () => {
      for (const hook of subscribed) {
        const list = await deliveriesOf(hook.id);
        if (list.length !== events || list.some((d) => d.status !== 'delivered')) return undefined;
      }
      return true;
    });
    for (const path of paths) {
      const requests = receiver.at(path);
      expect(requests).toHaveLength(events);
      expect(new Set(requests.map((r) => r.headers['switchyard-event-id'])).size).toBe(events);
    }
    for (const hook of subscribed) {
      expect((await deliveriesOf(hook.id)).every((d) => d.attempts === 1)).toBe(true);
    }
  });
});

// Instances in two processes: one Postgres, and Redis between them.
describe.skipIf((process.env.DATABASE_URL ?? '') === '' || (process.env.REDIS_URL ?? '') === '')(
  'a write on one instance of several sharing Redis',
  () => {
    const SLOW_POLL = { ...SETTINGS, pollIntervalMs: 30_000 };
    const channel = `switchyard:test:${randomBytes(6).toString('hex')}`;
    const closers: (() => Promise<void>)[] = [];
    let writing: TestServer;

    async function redisBus(): Promise<RedisBus> {
      const bus = new RedisBus({ url: process.env.REDIS_URL as string, channel });
      closers.push(() => bus.close());
      await bus.ready();
      return bus;
    }

    async function otherInstance(dispatch: boolean): Promise<void> {
      const database = openPostgres(writing.testDb.url as string, { max: 4 });
      const app = await buildServer({ database, bus: await redisBus(), webhooks: { ...SLOW_POLL, dispatch } });
      closers.push(async () => {
        await app.close();
        await database.close();
      });
    }

    beforeAll(async () => {
      // The instance written to sends nothing: only the other one can deliver, and its poll is
      // 30 s away, so a delivery within seconds came from the signal over Redis.
      writing = await startTestServer({ bus: await redisBus(), webhooks: { ...SLOW_POLL, dispatch: false } });
      closers.push(() => writing.close());
      await otherInstance(true);
      await writing.ok('POST', '/api/v1/projects', { key: 'spread', name: 'Spread' });
      // Past the polls made at start.
      await new Promise((resolve) => setTimeout(resolve, 500));
    });

    afterAll(async () => {
      for (const close of closers.splice(0).reverse()) await close();
    });

    it("wakes the other instances' dispatchers: the one that does not take the write delivers it long before its next poll", async () => {
      const url = receiver.on('/spread', (r) => r.res.writeHead(204).end());
      await writing.ok('POST', '/api/v1/projects/spread/webhooks', { url, events: ['flag.changed'] });
      await writing.ok('POST', '/api/v1/projects/spread/flags', { key: 'f', name: 'f', type: 'boolean' });
      await until('the delivery', () => receiver.at('/spread').length === 1, 5_000);
      await writing.ok('PATCH', '/api/v1/projects/spread/flags/f', { description: 'again' });
      await until('the second delivery', () => receiver.at('/spread').length === 2, 5_000);
    });
  },
);

describe('a server shutting down', () => {
  it('cuts off a request in flight and gives its delivery back, the attempt uncounted', async () => {
    const own = await startTestServer({ webhooks: { ...SETTINGS, timeoutMs: 60_000 } });
    try {
      await own.ok('POST', '/api/v1/projects', { key: 'down', name: 'Down' });
      const url = receiver.on('/shutdown', () => undefined);
      await own.ok('POST', '/api/v1/projects/down/webhooks', { url, events: ['flag.changed'] });
      await own.ok('POST', '/api/v1/projects/down/flags', { key: 'f', name: 'f', type: 'boolean' });
      await until('the held request', () => receiver.at('/shutdown').length === 1);
      await own.app.close();
      const result = (await own.testDb.database.db.execute(
        sql`select status, attempts, lease_until, (select count(*)::int from webhook_attempts) as recorded from webhook_deliveries`,
      )) as unknown as { rows: unknown[] };
      expect(result.rows).toEqual([{ status: 'pending', attempts: 0, lease_until: null, recorded: 0 }]);
    } finally {
      await own.testDb.drop();
    }
  });
});
