import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerson, type SignedIn, signIn } from '../../test-support/people.js';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { queryRows } from '../../test-support/snapshot.js';
import { MAX_ATTEMPTS } from './runner.js';

let s: TestServer;
const p = '/api/v1/projects/sched';
let serial = 0;

beforeAll(async () => {
  // Ticks are driven by the tests; the dispatcher sends nothing (deliveries are only recorded).
  s = await startTestServer({ plans: { intervalMs: 3_600_000 }, webhooks: { dispatch: false } });
  await s.ok('POST', '/api/v1/projects', { key: 'sched', name: 'Schedules' });
  await s.ok('POST', `${p}/environments`, { key: 'prod', name: 'Production' });
});

afterAll(async () => {
  await s?.close();
});

/** A new boolean flag, on in prod and serving `on`. */
async function newFlag(): Promise<string> {
  const key = `flag-${++serial}`;
  await s.ok('POST', `${p}/flags`, { key, name: key, type: 'boolean' });
  await s.ok('PUT', `${p}/flags/${key}/environments/prod`, { enabled: true, defaultServe: { variant: 'on' } });
  return key;
}

const scheduled = (flag: string) => `${p}/flags/${flag}/environments/prod/scheduled-changes`;
const config = (flag: string) => s.ok('GET', `${p}/flags/${flag}/environments/prod`);
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `at` has passed, then runs one controller tick, as the instance holding the lock would. */
async function tickAfter(at: string): Promise<void> {
  const wait = new Date(at).getTime() - Date.now() + 20;
  if (wait > 0) await sleep(wait);
  await s.app.planController.tick();
}

async function auditOf(action: string) {
  return (await s.ok('GET', `/api/v1/audit?project=sched&action=${action}&limit=500`)).items as {
    action: string;
    actor: string;
    actorId: string;
    reason: string | null;
    targetKey: string;
    after: Record<string, unknown>;
  }[];
}

describe('scheduling a change', () => {
  it('stores it pending with the configuration version it was scheduled on, and lists and shows it', async () => {
    const flag = await newFlag();
    const { version } = await config(flag);
    const at = inMs(3_600_000);
    const res = await s.call('POST', scheduled(flag), {
      at,
      change: { enabled: false },
      ifVersionMoved: 'refuse',
      reason: 'end of the campaign',
    });
    expect(res.statusCode, res.body).toBe(201);
    const view = res.json();
    expect(view).toEqual({
      id: expect.any(Number),
      flag,
      environment: 'prod',
      at: new Date(at).toISOString(),
      change: { enabled: false },
      ifVersionMoved: 'refuse',
      baseVersion: version,
      reason: 'end of the campaign',
      state: 'pending',
      scheduledBy: 'test admin',
      scheduledById: expect.stringMatching(/^key:/),
      appliedVersion: null,
      outcome: null,
      settledBy: null,
      settledAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await s.ok('GET', scheduled(flag))).items).toEqual([view]);
    expect((await s.ok('GET', `${scheduled(flag)}?state=pending`)).items).toEqual([view]);
    expect((await s.ok('GET', `${scheduled(flag)}?state=applied`)).items).toEqual([]);
    expect(await s.ok('GET', `${scheduled(flag)}/${view.id}`)).toEqual(view);
    // Scheduling changes nothing SDKs see.
    expect((await config(flag)).version).toBe(version);
    const [created] = (await auditOf('schedule.create')).filter((e) => e.targetKey === String(view.id));
    expect(created).toMatchObject({ actor: 'test admin', reason: 'end of the campaign', after: { state: 'pending' } });
  });

  it('answers 404 for a change of another flag or environment, or one that does not exist', async () => {
    const a = await newFlag();
    const b = await newFlag();
    const { id } = await s.ok('POST', scheduled(a), { at: inMs(3_600_000), change: { enabled: false } });
    await expectRefusal(s, () => s.call('GET', `${scheduled(b)}/${id}`), { status: 404, code: 'NOT_FOUND' });
    await expectRefusal(s, () => s.call('DELETE', `${scheduled(b)}/${id}`), { status: 404, code: 'NOT_FOUND' });
    await expectRefusal(s, () => s.call('GET', `${scheduled(a)}/999999999`), { status: 404, code: 'NOT_FOUND' });
    await expectRefusal(s, () => s.call('GET', `${scheduled(a)}/abc`), { status: 400, code: 'VALIDATION_FAILED' });
  });
});

describe('refusing a change that cannot be scheduled, storing nothing', () => {
  const cases: [string, (flag: string) => { url?: string; body: unknown }, number, string, string?][] = [
    [
      'an at in the past',
      () => ({ body: { at: inMs(-1000), change: { enabled: false } } }),
      400,
      'VALIDATION_FAILED',
      'at',
    ],
    [
      'an at that is now',
      () => ({ body: { at: inMs(0), change: { enabled: false } } }),
      400,
      'VALIDATION_FAILED',
      'at',
    ],
    [
      'an at years ahead',
      () => ({ body: { at: inMs(400 * 86_400_000), change: { enabled: false } } }),
      400,
      'VALIDATION_FAILED',
      'at',
    ],
    [
      'an at without its offset',
      () => ({ body: { at: '2031-01-01T00:00:00', change: { enabled: false } } }),
      400,
      'VALIDATION_FAILED',
      'at',
    ],
    [
      'an at that is not a time',
      () => ({ body: { at: 'tomorrow', change: { enabled: false } } }),
      400,
      'VALIDATION_FAILED',
      'at',
    ],
    ['no change', () => ({ body: { at: inMs(60_000), change: {} } }), 400, 'VALIDATION_FAILED', 'change'],
    [
      'a field a PATCH does not take',
      () => ({ body: { at: inMs(60_000), change: { enabled: false, colour: 'red' } } }),
      400,
      'VALIDATION_FAILED',
      'change',
    ],
    [
      'a field of the wrong type',
      () => ({ body: { at: inMs(60_000), change: { enabled: 'yes' } } }),
      400,
      'VALIDATION_FAILED',
      'change.enabled',
    ],
    [
      'a variant the flag does not have',
      () => ({ body: { at: inMs(60_000), change: { defaultServe: { variant: 'maybe' } } } }),
      422,
      'INVALID_CONFIG',
    ],
    [
      'weights that do not sum to 100 %',
      () => ({
        body: {
          at: inMs(60_000),
          change: {
            defaultServe: {
              rollout: {
                weights: [
                  { variant: 'on', weight: 10_000 },
                  { variant: 'off', weight: 10_000 },
                ],
              },
            },
          },
        },
      }),
      422,
      'INVALID_CONFIG',
    ],
    [
      'a segment that does not exist',
      () => ({
        body: {
          at: inMs(60_000),
          change: {
            rules: [{ clauses: [{ attribute: 'key', op: 'inSegment', values: ['ghosts'] }], serve: { variant: 'on' } }],
          },
        },
      }),
      422,
      'INVALID_CONFIG',
      'change.rules[0].clauses[0].values[0]',
    ],
    [
      'a catastrophic pattern',
      () => ({
        body: {
          at: inMs(60_000),
          change: {
            rules: [
              { clauses: [{ attribute: 'email', op: 'matches', values: ['^(a+)+$'] }], serve: { variant: 'on' } },
            ],
          },
        },
      }),
      422,
      'CATASTROPHIC_BACKTRACKING',
    ],
    [
      'a NUL in the reason',
      () => ({ body: { at: inMs(60_000), change: { enabled: false }, reason: 'a\u0000b' } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'ifVersionMoved that is neither',
      () => ({ body: { at: inMs(60_000), change: { enabled: false }, ifVersionMoved: 'maybe' } }),
      400,
      'VALIDATION_FAILED',
      'ifVersionMoved',
    ],
    [
      'an unknown flag',
      () => ({
        url: `${p}/flags/nope/environments/prod/scheduled-changes`,
        body: { at: inMs(60_000), change: { enabled: false } },
      }),
      404,
      'NOT_FOUND',
    ],
    [
      'an unknown environment',
      (flag) => ({
        url: `${p}/flags/${flag}/environments/nope/scheduled-changes`,
        body: { at: inMs(60_000), change: { enabled: false } },
      }),
      404,
      'NOT_FOUND',
    ],
  ];

  it.each(cases)('%s', async (_name, request, status, code, field) => {
    const flag = await newFlag();
    const { url, body } = request(flag);
    const error = await expectRefusal(s, () => s.call('POST', url ?? scheduled(flag), body), {
      status,
      code,
      ...(field === undefined ? {} : { field }),
    });
    if (status === 422) expect(String(error.details.field)).toMatch(/^change\./);
    expect((await s.ok('GET', scheduled(flag))).items).toEqual([]);
  });

  it('refuses a change whose If-Match is not the current version', async () => {
    const flag = await newFlag();
    const { version } = await config(flag);
    await expectRefusal(
      s,
      () =>
        s.call(
          'POST',
          scheduled(flag),
          { at: inMs(60_000), change: { enabled: false } },
          { headers: { 'if-match': `"${version - 1}"` } },
        ),
      { status: 412, code: 'PRECONDITION_FAILED' },
    );
    const ok = await s.call(
      'POST',
      scheduled(flag),
      { at: inMs(60_000), change: { enabled: false } },
      { headers: { 'if-match': `"${version}"` } },
    );
    expect(ok.statusCode, ok.body).toBe(201);
  });
});

describe('the controller applying scheduled changes', () => {
  it('applies a change at its time, once, through the audited write path, naming the scheduler and who scheduled it', async () => {
    const flag = await newFlag();
    const at = inMs(400);
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { enabled: false }, reason: 'campaign over' });
    // Not before its time.
    await s.app.planController.tick();
    expect((await s.ok('GET', `${scheduled(flag)}/${id}`)).state).toBe('pending');
    expect((await config(flag)).enabled).toBe(true);

    await tickAfter(at);
    const applied = await s.ok('GET', `${scheduled(flag)}/${id}`);
    const after = await config(flag);
    expect(after.enabled).toBe(false);
    expect(applied).toMatchObject({
      state: 'applied',
      appliedVersion: after.version,
      outcome: `applied at version ${after.version}`,
      settledBy: 'scheduler',
    });

    const kills = (await auditOf('flag.kill')).filter((e) => (e.after as { flag?: string }).flag === flag);
    expect(kills).toHaveLength(1);
    expect(kills[0]).toMatchObject({ actor: 'scheduler for test admin', actorId: 'system' });
    expect(kills[0]?.reason).toMatch(
      new RegExp(
        `^scheduled change #${id} by test admin: kill at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\(campaign over\\)$`,
      ),
    );
    const [entry] = (await auditOf('schedule.apply')).filter((e) => e.targetKey === String(id));
    expect(entry?.after).toMatchObject({ state: 'applied', scheduledById: expect.stringMatching(/^key:/) });

    // Later ticks find nothing more to do.
    await s.app.planController.tick();
    expect((await config(flag)).version).toBe(after.version);
    expect((await auditOf('schedule.apply')).filter((e) => e.targetKey === String(id))).toHaveLength(1);
  });

  it('applies a change of rules and rollout as a PATCH would, leaving the other fields as they are', async () => {
    const flag = await newFlag();
    const at = inMs(300);
    const rollout = {
      rollout: {
        weights: [
          { variant: 'on', weight: 25_000 },
          { variant: 'off', weight: 75_000 },
        ],
      },
    };
    const rules = [{ clauses: [{ attribute: 'plan', op: 'in', values: ['pro'] }], serve: { variant: 'on' } }];
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { defaultServe: rollout, rules } });
    await tickAfter(at);
    const after = await config(flag);
    expect(after).toMatchObject({ enabled: true, defaultServe: rollout, rules: [{ clauses: rules[0]?.clauses }] });
    const [update] = (await auditOf('flag.config.update')).filter((e) =>
      e.reason?.startsWith(`scheduled change #${id} `),
    );
    expect(update?.reason).toContain('change of rules and defaultServe at');
  });

  it('applies a change over a configuration that moved when told to, and refuses it when told to, recording both', async () => {
    const flag = await newFlag();
    const at = inMs(400);
    const refused = await s.ok('POST', scheduled(flag), { at, change: { enabled: false }, ifVersionMoved: 'refuse' });
    const applied = await s.ok('POST', scheduled(flag), {
      at,
      change: { defaultServe: { variant: 'off' } },
      ifVersionMoved: 'apply',
    });
    await s.ok('PATCH', `${p}/flags/${flag}/environments/prod`, { targets: [{ variant: 'off', values: ['u1'] }] });
    const moved = (await config(flag)).version;
    await tickAfter(at);

    const r = await s.ok('GET', `${scheduled(flag)}/${refused.id}`);
    expect(r).toMatchObject({ state: 'refused', appliedVersion: null, settledBy: 'scheduler' });
    expect(r.outcome).toBe(
      `refused: the configuration moved from version ${refused.baseVersion} to ${moved} since the change was scheduled`,
    );
    const a = await s.ok('GET', `${scheduled(flag)}/${applied.id}`);
    const now = await config(flag);
    expect(a).toMatchObject({ state: 'applied', appliedVersion: now.version });
    expect(a.outcome).toBe(
      `applied at version ${now.version} over version ${moved} (scheduled on ${applied.baseVersion})`,
    );
    // The refused kill left the flag on; the applied change kept the person's targets.
    expect(now).toMatchObject({
      enabled: true,
      defaultServe: { variant: 'off' },
      targets: [{ variant: 'off', values: ['u1'] }],
    });

    const [entry] = (await auditOf('schedule.refuse')).filter((e) => e.targetKey === String(refused.id));
    expect(entry?.reason).toMatch(/→ refused: the configuration moved from version/);
    expect(entry?.actor).toBe('scheduler for test admin');
  });

  it('refuses, at its time, a change that is no longer valid: the flag was archived since', async () => {
    const flag = await newFlag();
    const at = inMs(300);
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { defaultServe: { variant: 'off' } } });
    const kill = await s.ok('POST', scheduled(flag), { at, change: { enabled: false } });
    await s.ok('POST', `${p}/flags/${flag}/archive`);
    await tickAfter(at);
    const r = await s.ok('GET', `${scheduled(flag)}/${id}`);
    expect(r.state).toBe('refused');
    expect(r.outcome).toMatch(/^refused: flag "flag-\d+" is archived/);
    // A kill still goes through on an archived flag, as a person's does.
    expect((await s.ok('GET', `${scheduled(flag)}/${kill.id}`)).state).toBe('applied');
    expect((await config(flag)).enabled).toBe(false);
  });

  it("pauses a running release plan whose rollout it changes, as a person's edit does", async () => {
    const flag = await newFlag();
    const plan = `${p}/flags/${flag}/environments/prod/release-plan`;
    await s.ok('PUT', plan, { variant: 'on' });
    await s.ok('POST', `${plan}/start`);
    const at = inMs(300);
    await s.ok('POST', scheduled(flag), { at, change: { defaultServe: { variant: 'off' } } });
    await tickAfter(at);
    const after = await s.ok('GET', plan);
    expect(after.state).toBe('paused');
    expect(after.history.at(-1)).toMatchObject({ action: 'pause', details: { cause: 'manual-edit' } });
    expect((await config(flag)).defaultServe).toEqual({ variant: 'off' });
  });

  it('records a change that would change nothing as applied, without a new version', async () => {
    const flag = await newFlag();
    const at = inMs(300);
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { enabled: true } });
    const { version } = await config(flag);
    await tickAfter(at);
    expect(await s.ok('GET', `${scheduled(flag)}/${id}`)).toMatchObject({
      state: 'applied',
      appliedVersion: version,
      outcome: 'applied: the configuration already was as the change makes it',
    });
    expect((await config(flag)).version).toBe(version);
  });

  it('marks a change failed after repeated unexpected errors, keeping it pending until then', async () => {
    const flag = await newFlag();
    const at = inMs(300);
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { enabled: false } });
    const db = s.testDb.database.db;
    // Every write of this flag's configuration fails as an unexpected error would.
    await db.execute(
      sql.raw(`create function fail_sched() returns trigger language plpgsql as $$
        begin raise exception 'injected failure'; end $$`),
    );
    const [row] = await queryRows<{ id: string }>(db, sql`select id from flags where key = ${flag}`);
    await db.execute(
      sql.raw(`create trigger fail_sched before update on flag_configs for each row
        when (new.flag_id = '${row?.id}') execute function fail_sched()`),
    );
    try {
      await tickAfter(at);
      for (let i = 1; i < MAX_ATTEMPTS; i++) {
        expect((await s.ok('GET', `${scheduled(flag)}/${id}`)).state).toBe('pending');
        await s.app.planController.tick();
      }
      const failed = await s.ok('GET', `${scheduled(flag)}/${id}`);
      expect(failed.state).toBe('failed');
      expect(failed.outcome).toBe(
        `failed: ${MAX_ATTEMPTS} attempts to apply it ended in an unexpected error (see the server's log)`,
      );
      expect((await config(flag)).enabled).toBe(true);
    } finally {
      await db.execute(sql.raw('drop trigger fail_sched on flag_configs'));
      await db.execute(sql.raw('drop function fail_sched'));
    }
  });
});

describe('cancelling a scheduled change', () => {
  it('cancels a pending change, which then never applies; a second cancel is a conflict', async () => {
    const flag = await newFlag();
    const at = inMs(300);
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { enabled: false } });
    const res = await s.call('DELETE', `${scheduled(flag)}/${id}`, undefined, {
      headers: { 'x-change-reason': 'not needed' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      state: 'cancelled',
      outcome: 'cancelled by test admin: not needed',
      settledBy: 'test admin',
      settledAt: expect.any(String),
    });
    await expectRefusal(s, () => s.call('DELETE', `${scheduled(flag)}/${id}`), { status: 409, code: 'CONFLICT' });
    await tickAfter(at);
    expect((await s.ok('GET', `${scheduled(flag)}/${id}`)).state).toBe('cancelled');
    expect((await config(flag)).enabled).toBe(true);
    expect((await s.ok('GET', `${scheduled(flag)}?state=cancelled`)).items.map((c: { id: number }) => c.id)).toEqual([
      id,
    ]);
  });

  it('cannot cancel a change once it has applied', async () => {
    const flag = await newFlag();
    const at = inMs(300);
    const { id } = await s.ok('POST', scheduled(flag), { at, change: { enabled: false } });
    await tickAfter(at);
    const error = await expectRefusal(s, () => s.call('DELETE', `${scheduled(flag)}/${id}`), {
      status: 409,
      code: 'CONFLICT',
    });
    expect(error.details).toEqual({ state: 'applied' });
  });
});

describe('webhooks of scheduled changes', () => {
  it('records schedule.changed deliveries for scheduling, applying and refusing, in their transactions', async () => {
    const hook = await s.ok('POST', `${p}/webhooks`, {
      url: 'https://example.test/sched',
      events: ['schedule.changed'],
    });
    const flag = await newFlag();
    const at = inMs(400);
    await s.ok('POST', scheduled(flag), { at, change: { enabled: false } });
    await s.ok('POST', scheduled(flag), { at, change: { defaultServe: { variant: 'off' } }, ifVersionMoved: 'refuse' });
    await tickAfter(at);
    const { items } = await s.ok('GET', `${p}/webhooks/${hook.id}/deliveries?limit=100`);
    const actions = await Promise.all(
      items.map(
        async (d: { id: string }) => (await s.ok('GET', `${p}/webhooks/${hook.id}/deliveries/${d.id}`)).payload,
      ),
    );
    const mine = actions.filter((pl: { before: unknown; after: { flag?: string } }) => pl.after?.flag === flag);
    expect(mine.map((pl: { action: string }) => pl.action).sort()).toEqual([
      'schedule.apply',
      'schedule.create',
      'schedule.create',
      'schedule.refuse',
    ]);
    expect(
      mine.every(
        (pl: { type: string; environment: string }) => pl.type === 'schedule.changed' && pl.environment === 'prod',
      ),
    ).toBe(true);
    expect((await s.call('DELETE', `${p}/webhooks/${hook.id}`)).statusCode).toBe(204);
  });
});

describe('who may schedule', () => {
  let viewer: SignedIn;
  let editor: SignedIn;

  beforeAll(async () => {
    await createPerson(s, 'sched-viewer@example.com', { project: 'sched', role: 'viewer' });
    await createPerson(s, 'sched-editor@example.com', { project: 'sched', role: 'editor' });
    viewer = await signIn(s, 'sched-viewer@example.com');
    editor = await signIn(s, 'sched-editor@example.com');
  });

  it('lets a viewer read scheduled changes but not schedule or cancel them, and an editor do both', async () => {
    const flag = await newFlag();
    const body = { at: inMs(3_600_000), change: { enabled: false } };
    await expectRefusal(s, () => s.call('POST', scheduled(flag), body, viewer.as()), {
      status: 403,
      code: 'FORBIDDEN',
    });
    const res = await s.call('POST', scheduled(flag), body, editor.as());
    expect(res.statusCode, res.body).toBe(201);
    const { id, scheduledBy, scheduledById } = res.json();
    expect({ scheduledBy, scheduledById }).toEqual({
      scheduledBy: 'sched-editor@example.com',
      scheduledById: `user:${editor.userId}`,
    });
    expect((await s.call('GET', scheduled(flag), undefined, viewer.as())).statusCode).toBe(200);
    expect((await s.call('GET', `${scheduled(flag)}/${id}`, undefined, viewer.as())).statusCode).toBe(200);
    await expectRefusal(s, () => s.call('DELETE', `${scheduled(flag)}/${id}`, undefined, viewer.as()), {
      status: 403,
      code: 'FORBIDDEN',
    });
    expect((await s.call('DELETE', `${scheduled(flag)}/${id}`, undefined, editor.as())).statusCode).toBe(200);
  });
});
