import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
let serverKey: string;
const p = '/api/v1/projects/pf';
const plan = `${p}/flags/checkout/environments/prod/release-plan`;

/** One SDK batch: each unit's exposure to `flag`, and its event right after, if it has one. */
async function sendUnits(
  id: string,
  flag: string,
  units: readonly { variant: string; key: string; event?: string | undefined }[],
): Promise<void> {
  const now = Date.now();
  const exposures = units.map(({ variant, key }) => ({ flag, variant, key, timestamp: now }));
  const events = units.flatMap(({ key, event }) => (event === undefined ? [] : [{ event, key, timestamp: now + 1 }]));
  const body = { id, window: { start: now, end: now + 1 }, exposures, events };
  expect((await s.call('POST', '/sdk/v1/events', body, { token: serverKey })).statusCode).toBe(202);
}

/** `count` units from `from` on, alternating on/off; on converts at 50 %, off at 30 %. */
async function traffic(batch: number, from: number, count: number): Promise<void> {
  const units = Array.from({ length: count }, (_, n) => {
    const i = from + n;
    const variant = i % 2 === 0 ? 'on' : 'off';
    return { variant, key: `u${i}`, event: (variant === 'on' ? i % 20 < 9 : i % 20 < 7) ? 'buy' : undefined };
  });
  await sendUnits(`b${batch}`, 'checkout', units);
}

/** A new boolean flag serving `off`, with a running plan releasing `on` under `plan`'s stages and guards. */
async function runningPlan(flag: string, body: object): Promise<string> {
  const path = `${p}/flags/${flag}/environments/prod/release-plan`;
  await s.ok('POST', `${p}/flags`, { key: flag, name: flag, type: 'boolean' });
  await s.ok('PATCH', `${p}/flags/${flag}/environments/prod`, { enabled: true, defaultServe: { variant: 'off' } });
  await s.ok('PUT', path, { variant: 'on', ...body });
  await s.ok('POST', `${path}/start`);
  return path;
}

beforeAll(async () => {
  // The controller takes no step of its own: the figures are read on a plan that stays put.
  s = await startTestServer({ plans: { intervalMs: 3_600_000 }, webhooks: { dispatch: false } });
  await s.ok('POST', '/api/v1/projects', { key: 'pf', name: 'Plan figures' });
  await s.ok('POST', `${p}/environments`, { key: 'prod', name: 'Production' });
  await s.ok('POST', `${p}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean' });
  await s.ok('PATCH', `${p}/flags/checkout/environments/prod`, { enabled: true, defaultServe: { variant: 'off' } });
  await s.ok('POST', `${p}/metrics`, {
    key: 'buy',
    name: 'Buy',
    event: 'buy',
    kind: 'conversion',
    direction: 'increase',
  });
  serverKey = (await s.ok('POST', '/api/v1/keys', { name: 'k', type: 'server', project: 'pf', environment: 'prod' }))
    .token;
});

afterAll(async () => {
  await s?.close();
});

describe("a release plan's figures", () => {
  it('answers 404 before the flag has a plan', async () => {
    expect((await s.call('GET', `${plan}/figures`)).statusCode).toBe(404);
  });

  it('shows the stage and waits on a guard until both sides have enough units', async () => {
    await s.ok('PUT', plan, {
      variant: 'on',
      stages: [{ percent: 50, holdSeconds: 3600, minUnits: 100 }],
      guards: [
        { metric: 'buy', maxRegression: 0.1 },
        { metric: 'buy', min: 0.9 },
      ],
    });
    const draft = await s.ok('GET', `${plan}/figures`);
    expect(draft).toMatchObject({ state: 'draft', stage: null });
    await s.ok('POST', `${plan}/start`);
    await traffic(1, 0, 20);
    const few = await s.ok('GET', `${plan}/figures`);
    expect(few.stage).toEqual({
      number: 1,
      percent: 50,
      heldSeconds: expect.any(Number),
      holdSeconds: 3600,
      units: { variant: 10, control: 10 },
      minUnits: 100,
    });
    expect(few.guards.map((g: { standing: string }) => g.standing)).toEqual(['waiting', 'waiting']);
  });

  it('judges each guard as the controller does once there is enough data', async () => {
    await traffic(2, 20, 200);
    const { guards } = await s.ok('GET', `${plan}/figures`);
    const [relative, absolute] = guards;
    expect(relative).toMatchObject({
      guard: { metric: 'buy', maxRegression: 0.1 },
      units: { variant: 110, control: 110 },
      standing: 'within',
    });
    expect(relative.value.variant).toBeCloseTo(0.5, 1);
    expect(relative.value.control).toBeCloseTo(0.3, 1);
    expect(relative.interval).toHaveLength(2);
    // A conversion of about 50 % lies below an absolute minimum of 90 %.
    expect(absolute).toMatchObject({ guard: { metric: 'buy', min: 0.9 }, standing: 'breached' });
  });

  it('shows the difference a guard over a control at 0 is judged by, where no relative change exists', async () => {
    await s.ok('POST', `${p}/metrics`, {
      key: 'crash',
      name: 'Crash',
      event: 'crash',
      kind: 'conversion',
      direction: 'decrease',
    });
    const other = await runningPlan('search', {
      stages: [{ percent: 50, holdSeconds: 3600 }],
      guards: [{ metric: 'crash', maxRegression: 0.1 }],
    });
    // 100 units a side; one in four on the variant crashes, nobody on control does.
    const units = Array.from({ length: 200 }, (_, i) => {
      const variant = i % 2 === 0 ? 'on' : 'off';
      return { variant, key: `s${i}`, event: variant === 'on' && i % 8 === 0 ? 'crash' : undefined };
    });
    await sendUnits('crashes', 'search', units);
    const [guard] = (await s.ok('GET', `${other}/figures`)).guards;
    expect(guard).toMatchObject({ units: { variant: 100, control: 100 }, value: { variant: 0.25, control: 0 } });
    expect(guard.relative).toBeNull();
    expect(guard.interval).toBeNull();
    const { estimate, interval } = guard.difference;
    expect(estimate).toBeCloseTo(0.25, 10);
    expect(interval[0]).toBeLessThan(estimate);
    expect(interval[1]).toBeGreaterThan(estimate);
    expect(interval[1] - estimate).toBeCloseTo(estimate - interval[0], 10);
    // The standing is read off this interval: breached exactly when it lies wholly above 0.
    expect(guard.standing).toBe(interval[0] > 0 ? 'breached' : 'within');
    // A guard with a relative reading has no difference.
    const [relative] = (await s.ok('GET', `${plan}/figures`)).guards;
    expect(relative.difference).toBeNull();
  });

  it('compares the sides stage by stage: splits that differ between stages do not read as a change', async () => {
    const staged = await runningPlan('staged', {
      stages: [
        { percent: 20, holdSeconds: 3600 },
        { percent: 80, holdSeconds: 3600 },
      ],
      guards: [{ metric: 'buy', maxRegression: 0.1 }],
    });
    /** `on` and `off` new units, every `every`-th of each side buying. */
    const send = (id: string, on: number, off: number, every: number) =>
      sendUnits(
        id,
        'staged',
        (['on', 'off'] as const).flatMap((variant) =>
          Array.from({ length: variant === 'on' ? on : off }, (_, i) => ({
            variant,
            key: `${id}-${variant}-${i}`,
            event: i % every === 0 ? 'buy' : undefined,
          })),
        ),
      );
    // Stage 1: both sides buy at 10 %; stage 2: both at 50 %. Pooled, the variant (mostly from
    // stage 2) would read 42 % against the control's 18 %.
    await send('staged-1', 10, 40, 10);
    await s.ok('POST', `${staged}/pause`);
    await s.ok('POST', `${staged}/advance`);
    await s.ok('POST', `${staged}/resume`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await send('staged-2', 40, 10, 2);
    const [guard] = (await s.ok('GET', `${staged}/figures`)).guards;
    expect(guard.units).toEqual({ variant: 50, control: 50 });
    expect(guard.value.variant).toBeCloseTo(0.42, 10);
    expect(guard.value.control).toBeCloseTo(0.18, 10);
    expect(Math.abs(guard.relative)).toBeLessThan(1e-9);
    expect(guard.interval[0]).toBeLessThan(0);
    expect(guard.interval[1]).toBeGreaterThan(0);
    expect(guard.standing).toBe('within');
  });
});
