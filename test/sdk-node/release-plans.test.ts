import { createClient, type SwitchyardClient } from '@switchyard/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { API, createFlag, eventually, type LiveServer, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const VARIANTS = [
  { key: 'new', value: 'new' },
  { key: 'old', value: 'old' },
];
const PLAN = `${API}/flags/checkout/environments/prod/release-plan`;
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

async function checkoutFlag(l: LiveServer): Promise<void> {
  await createFlag(
    l,
    'checkout',
    { enabled: true, offVariant: 'old', defaultServe: { variant: 'old' } },
    'string',
    VARIANTS,
  );
  await l.ok('POST', `${API}/metrics`, {
    key: 'errors',
    name: 'Errors',
    event: 'error',
    kind: 'conversion',
    direction: 'decrease',
  });
}

async function sdk(l: LiveServer, flushIntervalMs = 60_000): Promise<SwitchyardClient> {
  const client = createClient({ sdkKey: (await l.key()).token, baseUrl: l.url, logger: silent, flushIntervalMs });
  cleanup.push(() => client.close());
  await client.waitForReady({ timeout: 5_000 });
  return client;
}

const served = (client: SwitchyardClient) =>
  new Set(USERS.filter((key) => client.getString('checkout', { key }, 'x') === 'new'));

/**
 * A running plan at 50 % whose variant fails 60 % of its users against control's 20 %, the
 * errors tracked (not yet flushed) by a real SDK as it serves: a guard that must breach.
 */
async function failingPlan(intervalMs: number, onBreach: 'rollback' | 'kill') {
  const l = await startLiveServer({ plans: { intervalMs } });
  cleanup.push(() => l.s.close());
  await checkoutFlag(l);
  const client = await sdk(l);
  await l.ok('PUT', PLAN, {
    variant: 'new',
    stages: [
      { percent: 50, holdSeconds: 3600 },
      { percent: 100, holdSeconds: 3600 },
    ],
    guards: [{ metric: 'errors', maxRegression: 0.1 }],
    onBreach,
  });
  const started = new Promise<void>((resolve) => client.on('change', () => resolve()));
  await l.ok('POST', `${PLAN}/start`);
  await started;
  // Real traffic through the SDK's own API: exposures as it serves, errors as the app reports them.
  for (const [i, key] of USERS.entries()) {
    const variant = client.getString('checkout', { key }, 'x');
    if (variant === 'new' ? i % 10 < 6 : i % 5 === 0) client.track('error', { key });
  }
  return { l, client };
}

// biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
const plan = async (l: LiveServer): Promise<any> => l.ok('GET', PLAN);

describe('release plans driven by the controller, seen by a Node SDK', () => {
  it('walk a healthy plan through every stage to 100 %, each stage reaching the SDK over SSE and keeping everyone who had the variant', async () => {
    const l = await startLiveServer({ plans: { intervalMs: 100 } });
    cleanup.push(() => l.s.close());
    await checkoutFlag(l);
    const client = await sdk(l);
    const seen: Set<string>[] = [];
    // Each patch the stream delivers is evaluated for every user the moment it lands.
    client.on('change', () => {
      const now = served(client);
      const last = seen.at(-1);
      if (last === undefined || last.size !== now.size) seen.push(now);
    });
    const created = await l.s.call('PUT', PLAN, {
      variant: 'new',
      control: 'old',
      stages: [1, 5, 25, 50, 100].map((percent) => ({ percent, holdSeconds: 1 })),
      guards: [{ metric: 'errors', maxRegression: 0.5 }],
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ state: 'draft', stage: null, control: 'old' });
    await l.ok('POST', `${PLAN}/start`);
    await eventually(async () => (await plan(l)).state === 'completed', 'the plan completes', 20_000);
    await eventually(() => seen.at(-1)?.size === USERS.length, 'the SDK serves the variant to everyone');

    const sizes = seen.map((s) => s.size);
    expect(sizes).toHaveLength(5);
    for (const [i, expected] of [0.01, 0.05, 0.25, 0.5].entries()) {
      expect(Math.abs((sizes[i] ?? 0) / USERS.length - expected)).toBeLessThan(0.03);
    }
    // Sticky: every user served the variant at a stage is served it at every later stage.
    for (let i = 1; i < seen.length; i++) {
      const lost = [...(seen[i - 1] ?? [])].filter((u) => !seen[i]?.has(u));
      expect(lost).toEqual([]);
    }
    const done = await plan(l);
    expect(done.history.map((h: { action: string }) => h.action)).toEqual([
      'create',
      'start',
      'advance',
      'advance',
      'advance',
      'advance',
      'complete',
    ]);
    expect(done.history[2].reason).toMatch(/^stage 1 \(1 %\): held \d+ s, [\d,]+ units → stage 2 \(5 %\)$/);
    expect(done.history[2].actor).toBe('system');
    const config = await l.ok('GET', `${API}/flags/checkout/environments/prod`);
    expect(config.defaultServe).toEqual({
      rollout: {
        weights: [
          { variant: 'new', weight: 100_000 },
          { variant: 'old', weight: 0 },
        ],
      },
    });
    // The plan made the flag measured while it ran, and gives the mark back when it ends.
    expect(config.measured).toBe(false);
  });

  it('rolls back a variant whose error rate is well above control, says why with the numbers, and the SDK serves control', async () => {
    const { l, client } = await failingPlan(100, 'rollback');
    expect((await plan(l)).state).toBe('running');
    await client.flush();
    await eventually(async () => (await plan(l)).state === 'rolled_back', 'the plan is rolled back');
    await eventually(() => served(client).size === 0, 'the SDK serves control to everyone');

    const after = await plan(l);
    const step = after.history.at(-1);
    expect(step.action).toBe('rollback');
    expect(step.reason).toMatch(
      /^stage 1 \(50 %\): errors \+\d+ % vs control, interval \[\+\d+ %, \+\d+ %\], [\d,]+ units → rolled back$/,
    );
    const audit = await l.ok('GET', '/api/v1/audit?action=release-plan.rollback');
    const entry = (audit.items as { actor: string; reason: string }[])[0];
    expect(entry?.actor).toBe('system');
    expect(entry?.reason).toBe(step.reason);
    const flagChange = await l.ok('GET', '/api/v1/audit?action=flag.config.update&targetKey=checkout&limit=1');
    expect((flagChange.items as { reason: string }[])[0]?.reason).toBe(step.reason);
  });

  it('judges a maxRegression guard over a control without errors on the difference: no breach while neither has any, rolled back once the variant surely has more', async () => {
    // Ticks are driven by hand, so "not breached" means judged and found fine, not yet judged.
    const l = await startLiveServer({ plans: { intervalMs: 3_600_000 } });
    cleanup.push(() => l.s.close());
    await checkoutFlag(l);
    const client = await sdk(l);
    await l.ok('PUT', PLAN, {
      variant: 'new',
      stages: [
        { percent: 50, holdSeconds: 3600 },
        { percent: 100, holdSeconds: 3600 },
      ],
      guards: [{ metric: 'errors', maxRegression: 0.1 }],
      onBreach: 'rollback',
    });
    const started = new Promise<void>((resolve) => client.on('change', () => resolve()));
    await l.ok('POST', `${PLAN}/start`);
    await started;
    const variants = new Map(USERS.map((key) => [key, client.getString('checkout', { key }, 'x')]));
    await client.flush();
    const results = await l.ok('GET', `${API}/flags/checkout/environments/prod/results?metric=errors`);
    const units = (results.variants as { variant: string; units: number }[]).map((v) => v.units);
    expect(Math.min(...units)).toBeGreaterThan(500);
    await l.s.app.planController.tick();
    expect((await plan(l)).state).toBe('running');

    // Three in ten of the variant's users hit an error; control's still none, so no relative change exists.
    for (const [i, key] of USERS.entries())
      if (variants.get(key) === 'new' && i % 10 < 3) client.track('error', { key });
    await client.flush();
    await l.s.app.planController.tick();
    const after = await plan(l);
    expect(after.state).toBe('rolled_back');
    expect(after.history.at(-1).reason).toMatch(
      /^stage 1 \(50 %\): errors 0\.\d+ vs 0 on control, difference \+0\.\d+, interval \[\+0\.\d+, \+0\.\d+\], [\d,]+ units → rolled back$/,
    );
    expect(after.history.at(-1).details).toMatchObject({ cause: 'guard', metric: 'errors', relative: null });
    await eventually(() => served(client).size === 0, 'the SDK serves control to everyone');
  });

  it("kills the flag on a breach when onBreach is kill: the kill switch, audited as a kill with the guard's reason, and the SDK serves the off variant", async () => {
    const { l, client } = await failingPlan(3_600_000, 'kill');
    await client.flush();
    await l.s.app.planController.tick();
    const after = await plan(l);
    expect(after.state).toBe('rolled_back');
    const step = after.history.at(-1);
    expect(step.action).toBe('kill');
    expect(step.reason).toMatch(/^stage 1 \(50 %\): errors \+\d+ % vs control, .* → killed$/);
    const config = await l.ok('GET', `${API}/flags/checkout/environments/prod`);
    expect(config.enabled).toBe(false);
    const kills = await l.ok('GET', '/api/v1/audit?action=flag.kill&targetKey=checkout');
    expect((kills.items as { actor: string; reason: string }[]).map((e) => [e.actor, e.reason])).toEqual([
      ['system', step.reason],
    ]);
    await eventually(
      () => USERS.every((key) => client.getString('checkout', { key }, 'x') === 'old'),
      'the SDK serves the off variant to everyone',
    );
  });

  it('pauses a running plan whose flag is archived, which resumes only once the flag is unarchived', async () => {
    const l = await startLiveServer({ plans: { intervalMs: 3_600_000 } });
    cleanup.push(() => l.s.close());
    await checkoutFlag(l);
    await l.ok('PUT', PLAN, {
      variant: 'new',
      stages: [
        { percent: 10, holdSeconds: 1 },
        { percent: 100, holdSeconds: 1 },
      ],
    });
    await l.ok('POST', `${PLAN}/start`);
    await l.ok('POST', `${API}/flags/checkout/archive`);
    await new Promise((r) => setTimeout(r, 1100));
    // Held long enough to advance, but an archived flag's rollout cannot be written: the plan waits.
    await l.s.app.planController.tick();
    const paused = await plan(l);
    expect(paused.state).toBe('paused');
    expect(paused.history.at(-1)).toMatchObject({
      action: 'pause',
      actor: 'system',
      reason: 'stage 1 (10 %): the flag was archived → paused',
    });
    const refused = await l.s.call('POST', `${PLAN}/resume`);
    expect(refused.statusCode).toBe(409);
    await l.ok('POST', `${API}/flags/checkout/unarchive`);
    // biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
    const config = async (): Promise<any> => l.ok('GET', `${API}/flags/checkout/environments/prod`);
    const before = await config();
    expect((await l.ok('POST', `${PLAN}/resume`)).state).toBe('running');
    // Nobody changed the stage's rollout while paused: resuming writes no configuration.
    expect((await config()).version).toBe(before.version);
    const updates = await l.ok('GET', '/api/v1/audit?action=flag.config.update&limit=100');
    const since = (updates.items as { at: string }[]).filter((e) => e.at > before.updatedAt);
    expect(since).toEqual([]);

    // A plan whose flag is archived again may still be ended; `measured` stays as the plan set it.
    await l.ok('POST', `${API}/flags/checkout/archive`);
    expect((await l.ok('POST', `${PLAN}/abort`)).state).toBe('aborted');
    expect((await config()).measured).toBe(true);
  });

  it('pauses, resumes, advances and aborts on request, refuses a step its state does not allow, and pauses on a manual edit of the rollout', async () => {
    const l = await startLiveServer({ plans: { intervalMs: 3_600_000 } });
    cleanup.push(() => l.s.close());
    await checkoutFlag(l);
    await l.ok('PUT', PLAN, { variant: 'new' });
    expect((await plan(l)).stages.map((s: { percent: number }) => s.percent)).toEqual([1, 5, 25, 50, 100]);
    const refused = await l.s.call('POST', `${PLAN}/pause`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('CONFLICT');

    await l.ok('POST', `${PLAN}/start`);
    const weightOfNew = async () => {
      // biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
      const config: any = await l.ok('GET', `${API}/flags/checkout/environments/prod`);
      return config.defaultServe.rollout.weights[0].weight;
    };
    expect(await weightOfNew()).toBe(1000);
    expect((await l.s.call('PUT', PLAN, { variant: 'new' })).statusCode).toBe(409);
    expect((await l.ok('POST', `${PLAN}/pause`, { reason: 'checking a dashboard' })).state).toBe('paused');
    expect((await l.ok('POST', `${PLAN}/advance`)).stage).toEqual({ number: 2, percent: 5 });
    expect(await weightOfNew()).toBe(5000);
    expect((await l.ok('POST', `${PLAN}/resume`)).state).toBe('running');

    // A person edits the rollout by hand: the plan pauses instead of fighting them.
    await l.ok('PATCH', `${API}/flags/checkout/environments/prod`, { defaultServe: { variant: 'old' } });
    const paused = await plan(l);
    expect(paused.state).toBe('paused');
    expect(paused.history.at(-1).reason).toMatch(/rollout was changed by hand/);
    expect((await l.ok('GET', '/api/v1/audit?action=release-plan.pause&limit=1')).items).toHaveLength(1);
    // Resuming puts the stage's rollout back.
    await l.ok('POST', `${PLAN}/resume`);
    expect(await weightOfNew()).toBe(5000);

    // Without measurement no guard could judge again: turning it off by hand pauses too, and
    // resuming measures again.
    await l.ok('PATCH', `${API}/flags/checkout/environments/prod`, { measured: false });
    const unmeasured = await plan(l);
    expect(unmeasured.state).toBe('paused');
    expect(unmeasured.history.at(-1).reason).toMatch(/measurement was changed by hand/);
    await l.ok('POST', `${PLAN}/resume`);
    // biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
    const resumed: any = await l.ok('GET', `${API}/flags/checkout/environments/prod`);
    expect(resumed.measured).toBe(true);

    expect((await l.ok('POST', `${PLAN}/abort`)).state).toBe('aborted');
    expect((await l.s.call('POST', `${PLAN}/resume`)).statusCode).toBe(409);
    // An ended plan may be replaced by a new draft.
    expect((await l.s.call('PUT', PLAN, { variant: 'new' })).statusCode).toBe(201);
    const bad = await l.s.call('PUT', PLAN, { variant: 'new', guards: [{ metric: 'nope', max: 1 }] });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.details.field).toBe('guards[0].metric');
  });
});
