import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORBIDDEN_WEBHOOK_URLS } from '../../test-support/forbidden-urls.js';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { eventTypeOf } from './event-types.js';
import { expireDeliveries } from './service.js';

let s: TestServer;
const project = '/api/v1/projects/shop';
const hooks = `${project}/webhooks`;
const config = `${project}/flags/checkout/environments/production`;

beforeAll(async () => {
  // The dispatcher does not send here: these tests read the outbox as the writes left it.
  // Release plans move only when a test ticks their controller.
  s = await startTestServer({ webhooks: { dispatch: false }, plans: { intervalMs: 3_600_000 } });
  await s.ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await s.ok('POST', `${project}/environments`, { key: 'production', name: 'Production' });
  await s.ok('POST', `${project}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean' });
});

afterAll(async () => {
  await s?.close();
});

async function deliveries(id: string, query = '') {
  return (await s.ok('GET', `${hooks}/${id}/deliveries${query}`)).items as {
    id: string;
    eventType: string;
    status: string;
  }[];
}

async function remove(id: string) {
  expect((await s.call('DELETE', `${hooks}/${id}`)).statusCode).toBe(204);
}

describe('/api/v1/projects/:project/webhooks', () => {
  it('creates a webhook and shows its secret once: never in reads, lists or the audit log', async () => {
    const res = await s.call('POST', hooks, { url: 'https://example.test/hook', events: ['flag.killed'] });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      url: 'https://example.test/hook',
      events: ['flag.killed'],
      description: '',
      active: true,
      previousSecretExpiresAt: null,
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const { secret, ...view } = created;
    expect(await s.ok('GET', `${hooks}/${created.id}`)).toEqual(view);
    expect((await s.ok('GET', hooks)).items).toEqual([view]);
    const audit = await s.ok('GET', '/api/v1/audit?project=shop');
    expect(JSON.stringify(audit)).not.toContain(secret);
    await remove(created.id);
  });

  it('updates, rotates the secret (the old one kept for a grace period on request) and deletes', async () => {
    const created = await s.ok('POST', hooks, { url: 'http://example.test/a', events: ['flag.changed'] });
    const updated = await s.ok('PATCH', `${hooks}/${created.id}`, {
      url: 'http://example.test/b',
      events: ['flag.changed', 'flag.killed', 'flag.changed'],
      description: 'ops channel',
      active: false,
    });
    expect(updated).toMatchObject({
      url: 'http://example.test/b',
      events: ['flag.changed', 'flag.killed'],
      description: 'ops channel',
      active: false,
    });
    const rotated = await s.ok('POST', `${hooks}/${created.id}/rotate-secret`);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.previousSecretExpiresAt).toBeNull();
    const graced = await s.ok('POST', `${hooks}/${created.id}/rotate-secret`, { previousSecretValidSeconds: 3600 });
    expect(graced.secret).not.toBe(rotated.secret);
    expect(Date.parse(graced.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
    expect((await s.call('DELETE', `${hooks}/${created.id}`)).statusCode).toBe(204);
    expect((await s.call('GET', `${hooks}/${created.id}`)).statusCode).toBe(404);
  });

  it('refuses bad input with 400 naming the field, and changes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ url: 'ftp://example.test/hook', events: ['flag.changed'] }, 'url'],
      [{ url: 'example.test/hook', events: ['flag.changed'] }, 'url'],
      [{ url: 'https://example.test/\u0000', events: ['flag.changed'] }, 'url'],
      [{ url: 'https://example.test/hook', events: ['flag.exploded'] }, 'events[0]'],
      [{ url: 'https://example.test/hook', events: [] }, 'events'],
      [{ url: 'https://example.test/hook', events: ['flag.changed'], description: 'a\u0000b' }, 'description'],
      [{ url: 'https://example.test/hook', events: ['flag.changed'], secret: 'mine' }, ''],
    ];
    for (const [body, field] of cases) {
      await expectRefusal(s, () => s.call('POST', hooks, body), { status: 400, code: 'VALIDATION_FAILED', field });
    }
    const created = await s.ok('POST', hooks, { url: 'https://example.test/hook', events: ['flag.changed'] });
    await expectRefusal(s, () => s.call('PATCH', `${hooks}/${created.id}`, { events: ['nope'] }), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'events[0]',
    });
    await expectRefusal(
      s,
      () => s.call('POST', `${hooks}/${created.id}/rotate-secret`, { previousSecretValidSeconds: -1 }),
      { status: 400, code: 'VALIDATION_FAILED', field: 'previousSecretValidSeconds' },
    );
    await expectRefusal(s, () => s.call('GET', `${hooks}/not-a-uuid`), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'params.webhook',
    });
    await expectRefusal(s, () => s.call('GET', `${hooks}/${created.id}/deliveries?status=lost`), {
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'querystring.status',
    });
    await expectRefusal(s, () => s.call('DELETE', `${hooks}/00000000-0000-4000-8000-000000000000`), {
      status: 404,
      code: 'NOT_FOUND',
    });
    await expectRefusal(s, () => s.call('GET', '/api/v1/projects/nowhere/webhooks'), {
      status: 404,
      code: 'NOT_FOUND',
    });
    await remove(created.id);
  });
});

describe('webhook URLs that reach inside', () => {
  it('are refused when a webhook is made or moved, 422 naming the url, whatever their spelling', async () => {
    const created = await s.ok('POST', hooks, { url: 'https://example.test/ok', events: ['flag.changed'] });
    for (const url of FORBIDDEN_WEBHOOK_URLS) {
      const refusal = { status: 422, code: 'WEBHOOK_URL_FORBIDDEN', field: 'url' };
      await expectRefusal(s, () => s.call('POST', hooks, { url, events: ['flag.changed'] }), refusal);
      await expectRefusal(s, () => s.call('PATCH', `${hooks}/${created.id}`, { url }), refusal);
    }
    const refused = await s.call('POST', hooks, { url: 'http://169.254.169.254/latest', events: ['flag.changed'] });
    expect(refused.json().error.message).toMatch(/169\.254\.169\.254, a link-local address/);
    expect((await s.ok('GET', `${hooks}/${created.id}`)).url).toBe('https://example.test/ok');
    await remove(created.id);
  });
});

describe('the webhook outbox', () => {
  it('writes one delivery per subscribed webhook with the change, carrying the audit entry', async () => {
    const kills = await s.ok('POST', hooks, { url: 'https://example.test/kills', events: ['flag.killed'] });
    const changes = await s.ok('POST', hooks, { url: 'https://example.test/changes', events: ['flag.changed'] });
    const paused = await s.ok('POST', hooks, {
      url: 'https://example.test/paused',
      events: ['flag.changed', 'flag.killed'],
      active: false,
    });
    await s.ok('PATCH', config, { enabled: true });
    await s.ok('POST', `${config}/kill`, { reason: 'checkout errors' });
    // Killing a flag that is off changes nothing: no audit entry, no delivery.
    await s.ok('POST', `${config}/kill`, { reason: 'again' });

    const [kill, ...moreKills] = await deliveries(kills.id);
    expect(moreKills).toEqual([]);
    expect(kill).toMatchObject({ eventType: 'flag.killed', status: 'pending', attempts: 0, lastError: null });
    expect((await deliveries(changes.id)).map((d) => d.eventType)).toEqual(['flag.changed']);
    expect(await deliveries(paused.id)).toEqual([]);

    const detail = await s.ok('GET', `${hooks}/${kills.id}/deliveries/${kill?.id}`);
    expect(detail.attemptLog).toEqual([]);
    expect(detail.payload).toMatchObject({
      id: detail.eventId,
      type: 'flag.killed',
      action: 'flag.kill',
      project: 'shop',
      environment: 'production',
      target: { kind: 'flag', key: 'checkout' },
      actor: 'test admin',
      reason: 'checkout errors',
      before: { enabled: true },
      after: { enabled: false },
    });
    const audit = await s.ok('GET', '/api/v1/audit?project=shop');
    expect(JSON.stringify(audit)).toContain('"flag.kill"');
    for (const id of [kills.id, changes.id, paused.id]) await remove(id);
  });

  it('writes no delivery for a write that is refused and rolls back', async () => {
    const hook = await s.ok('POST', hooks, { url: 'https://example.test/x', events: ['flag.changed', 'flag.killed'] });
    await s.ok('POST', `${config}/unkill`);
    const before = await deliveries(hook.id);
    const refused = await s.call('PATCH', config, { enabled: false }, { headers: { 'if-match': '"1"' } });
    expect(refused.statusCode).toBe(412);
    expect(await deliveries(hook.id)).toEqual(before);
    await remove(hook.id);
  });

  it('redelivers an event as a new delivery that names the original', async () => {
    const hook = await s.ok('POST', hooks, { url: 'https://example.test/r', events: ['flag.changed'] });
    await s.ok('PATCH', `${project}/flags/checkout`, { description: 'the checkout page' });
    const [original] = await deliveries(hook.id);
    const res = await s.call('POST', `${hooks}/${hook.id}/deliveries/${original?.id}/redeliver`);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ eventType: 'flag.changed', status: 'pending', redeliveryOf: original?.id });
    const listed = await deliveries(hook.id);
    expect(listed.map((d) => d.id).sort()).toEqual([original?.id, res.json().id].sort());
    const [newest] = await deliveries(hook.id, '?limit=1');
    expect(await deliveries(hook.id, `?before=${newest?.id}`)).toEqual(listed.filter((d) => d.id !== newest?.id));
    await remove(hook.id);
  });
});

describe('the delivery log', () => {
  it('keeps finished deliveries for the retention period and pending ones until they are done', async () => {
    const hook = await s.ok('POST', hooks, { url: 'https://example.test/old', events: ['flag.changed'] });
    for (let i = 0; i < 4; i++) await s.ok('PATCH', `${project}/flags/checkout`, { description: `aged ${i}` });
    const [a, b, c, d] = (await deliveries(hook.id)).map((x) => x.id);
    const db = s.testDb.database.db;
    await db.execute(
      sql`update webhook_deliveries set status = 'delivered', created_at = now() - interval '31 days' where id = ${a}`,
    );
    await db.execute(
      sql`update webhook_deliveries set status = 'failed', created_at = now() - interval '31 days' where id = ${b}`,
    );
    await db.execute(sql`update webhook_deliveries set created_at = now() - interval '31 days' where id = ${c}`);
    await db.execute(
      sql`update webhook_deliveries set status = 'delivered', created_at = now() - interval '29 days' where id = ${d}`,
    );
    expect(await expireDeliveries(db, 30)).toBe(2);
    expect((await deliveries(hook.id)).map((x) => x.id).sort()).toEqual([c, d].sort());
    await remove(hook.id);
  });
});

describe('webhook event types', () => {
  it('maps audit actions to events one by one, plans and schedules by their prefix, and the rest to none', () => {
    expect(eventTypeOf('flag.kill')).toBe('flag.killed');
    expect(eventTypeOf('flag.config.update')).toBe('flag.changed');
    expect(eventTypeOf('segment.replace')).toBe('segment.changed');
    expect(eventTypeOf('release-plan.rollback')).toBe('plan.changed');
    expect(eventTypeOf('plan.rollback')).toBeUndefined();
    expect(eventTypeOf('schedule.apply')).toBe('schedule.changed');
    expect(eventTypeOf('webhook.create')).toBeUndefined();
    expect(eventTypeOf('toString')).toBeUndefined();
  });
});

describe('release plan events', () => {
  /** The audit actions and actors of a webhook's deliveries, oldest first, as the payloads carry them. */
  async function sent(id: string) {
    const rows = (await s.testDb.database.db.execute(
      sql`select payload::json->>'action' as action, payload::json->>'actor' as actor from webhook_deliveries where webhook_id = ${id} order by event_id`,
    )) as unknown as { rows: { action: string; actor: string }[] };
    return rows.rows.map((r) => `${r.action} by ${r.actor}`);
  }

  it("reach webhooks for every step, a person's and the controller's", async () => {
    const hook = await s.ok('POST', hooks, { url: 'https://example.test/plans', events: ['plan.changed'] });
    await s.ok('POST', `${project}/flags`, { key: 'planned', name: 'Planned', type: 'boolean' });
    const flagConfig = `${project}/flags/planned/environments/production`;
    const plan = `${flagConfig}/release-plan`;

    await s.ok('PUT', plan, { variant: 'on' });
    for (const step of ['start', 'pause', 'resume', 'advance', 'abort']) await s.ok('POST', `${plan}/${step}`);

    const stages = [50, 100].map((percent) => ({ percent, holdSeconds: 1 }));
    await s.ok('PUT', plan, { variant: 'on', stages });
    await s.ok('PATCH', flagConfig, { enabled: true });
    await s.ok('POST', `${plan}/start`);
    // A person's kill of the flag pauses the plan: an event of the plan, though no step of it was asked for.
    await s.ok('POST', `${flagConfig}/kill`, { reason: 'checkout errors' });
    await s.ok('POST', `${flagConfig}/unkill`);
    await s.ok('POST', `${plan}/resume`);
    // The controller advances a stage once it has been held, then completes the plan.
    const reached = [
      (p: { stage: { number: number } }) => p.stage.number === 2,
      (p: { state: string }) => p.state === 'completed',
    ];
    for (const goal of reached) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        await s.app.planController.tick();
        const now = await s.ok('GET', plan);
        if (goal(now)) break;
        if (Date.now() > deadline) throw new Error(`the plan did not move on: ${JSON.stringify(now)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    expect(await sent(hook.id)).toEqual([
      'release-plan.create by test admin',
      'release-plan.start by test admin',
      'release-plan.pause by test admin',
      'release-plan.resume by test admin',
      'release-plan.advance by test admin',
      'release-plan.abort by test admin',
      'release-plan.create by test admin',
      'release-plan.start by test admin',
      'release-plan.pause by test admin',
      'release-plan.resume by test admin',
      'release-plan.advance by system',
      'release-plan.complete by system',
    ]);
    await remove(hook.id);
  });
});
