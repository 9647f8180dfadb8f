import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleInChromium, consoleInChromium, screenshot, shopWithEditor, signedIn } from './support.js';

let app: ConsoleInChromium;
let page: Page;
let serverKey: string;

const API = '/api/v1/projects/shop';

/**
 * 40 units per variant, converting at 30 % (off) and 50 % (on): enough for an interval to draw.
 * Later batches add `count` more units from `from` on.
 */
async function experimentData(serverKey: string, batch = 1, from = 0, count = 80): Promise<void> {
  const now = Date.now();
  const exposures = [];
  const events = [];
  for (let i = from; i < from + count; i++) {
    const variant = i % 2 === 0 ? 'on' : 'off';
    exposures.push({ flag: 'checkout', variant, key: `u${i}`, timestamp: now });
    const converts = variant === 'on' ? i % 20 < 9 : i % 20 < 7;
    if (converts) events.push({ event: 'purchase', key: `u${i}`, timestamp: now + 1000 });
  }
  const res = await app.server.call(
    'POST',
    '/sdk/v1/events',
    { id: `batch-${batch}`, window: { start: now, end: now }, exposures, events },
    { token: serverKey },
  );
  expect(res.statusCode).toBe(202);
}

beforeAll(async () => {
  app = await consoleInChromium();
  const person = await shopWithEditor(app.server, 'rosa@example.com');
  const s = app.server;
  await s.ok('POST', `${API}/flags`, { key: 'checkout', name: 'Checkout', type: 'boolean' });
  await s.ok('POST', `${API}/metrics`, {
    key: 'purchase',
    name: 'Purchase rate',
    event: 'purchase',
    kind: 'conversion',
    direction: 'increase',
  });
  await s.ok('PATCH', `${API}/flags/checkout/environments/production`, {
    enabled: true,
    defaultServe: {
      rollout: {
        weights: [
          { variant: 'on', weight: 50_000 },
          { variant: 'off', weight: 50_000 },
        ],
      },
    },
  });
  const key = await s.ok('POST', '/api/v1/keys', {
    name: 'srv',
    type: 'server',
    project: 'shop',
    environment: 'production',
  });
  await experimentData(key.token);
  serverKey = key.token;
  page = await signedIn(app, person);
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe('release plans and experiment results in the console', { timeout: 60_000 }, () => {
  it('drafts a plan with stages and a guard, starts it and shows its state and stage', async () => {
    await page.goto(`${app.url}/projects/shop/flags/checkout/plan/production`);
    await page.getByText('No release plan yet.').waitFor();
    await page.getByLabel('Stages (percents)').fill('10, 50, 100');
    await page.getByLabel('Hold each (seconds)').fill('3600');
    await page.getByRole('button', { name: 'Add guard' }).click();
    await page.getByLabel('Guard metric').fill('purchase');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.locator('.plan-state').filter({ hasText: 'draft' }).waitFor();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('.plan-state').filter({ hasText: 'running' }).waitFor();
    expect(await page.locator('.stages [aria-current="step"]').textContent()).toContain('10 %');
    expect(await page.getByText('purchase: no worse than 10 % relative to control').count()).toBe(1);
    await screenshot(page, 'release-plan');
  });

  it('draws the results against the control as intervals in an SVG chart', async () => {
    await page.goto(`${app.url}/projects/shop/flags/checkout/results/production`);
    const chart = page.getByRole('img', { name: 'Relative effect on purchase against off' });
    await chart.waitFor();
    expect(await chart.locator('circle').count()).toBe(1);
    const on = page.locator('tbody tr').filter({ has: page.getByRole('cell', { name: 'on', exact: true }) });
    expect(await on.getByRole('cell').allTextContents()).toEqual(['on', '40', '50.00 %']);
    await screenshot(page, 'results');
  });

  it('shows the guard and stage figures live, as the controller reads them, as traffic arrives', async () => {
    await page.goto(`${app.url}/projects/shop/flags/checkout/plan/production`);
    const guard = page.locator('tr[data-guard="purchase"]');
    // The data sent before the start does not count: the plan judges what came after it.
    await guard.waitFor();
    expect(await guard.getByRole('cell').allTextContents()).toEqual([
      'purchase (≤ 10 % worse)',
      '0 / 0',
      '0',
      '0',
      '–',
      'waiting for enough units',
    ]);
    const units = page.locator('[data-figure="units"]');
    expect(await units.textContent()).toBe('0');
    await experimentData(serverKey, 2, 80, 60);
    await units.filter({ hasText: '60' }).waitFor({ timeout: 12_000 });
    const cells = await guard.getByRole('cell').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['purchase (≤ 10 % worse)', '30 / 30', '0.5', '0.3']);
    expect(cells[4]).toMatch(/^66\.67 % \[-?\d+\.\d\d %, \d+\.\d\d %\]$/);
    expect(cells[5]).toBe('within its bound');
    await screenshot(page, 'release-plan-live');
  });

  it('shows the difference and its interval for a guard over a control that saw no event', async () => {
    const s = app.server;
    await s.ok('POST', `${API}/flags`, { key: 'search', name: 'Search', type: 'boolean' });
    await s.ok('PATCH', `${API}/flags/search/environments/production`, { enabled: true });
    await s.ok('POST', `${API}/metrics`, {
      key: 'crash',
      name: 'Crash',
      event: 'crash',
      kind: 'conversion',
      direction: 'decrease',
    });
    const plan = `${API}/flags/search/environments/production/release-plan`;
    await s.ok('PUT', plan, {
      variant: 'on',
      stages: [{ percent: 50, holdSeconds: 3600 }],
      guards: [{ metric: 'crash', maxRegression: 0.1 }],
    });
    await s.ok('POST', `${plan}/start`);
    const now = Date.now();
    const exposures = [];
    const events = [];
    for (let i = 0; i < 60; i++) {
      const variant = i % 2 === 0 ? 'on' : 'off';
      exposures.push({ flag: 'search', variant, key: `c${i}`, timestamp: now });
      if (variant === 'on' && i % 6 === 0) events.push({ event: 'crash', key: `c${i}`, timestamp: now + 1 });
    }
    const body = { id: 'crashes', window: { start: now, end: now }, exposures, events };
    expect((await s.call('POST', '/sdk/v1/events', body, { token: serverKey })).statusCode).toBe(202);
    const { difference } = (await s.ok('GET', `${plan}/figures`)).guards[0];
    await page.goto(`${app.url}/projects/shop/flags/search/plan/production`);
    const guard = page.locator('tr[data-guard="crash"]');
    await guard.filter({ hasText: '30 / 30' }).waitFor();
    const cells = await guard.getByRole('cell').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['30 / 30', '0.3333', '0']);
    const signed = (x: number) => `${x > 0 ? '+' : ''}${Number(x.toPrecision(4))}`;
    const [low, high] = difference.interval.map(signed);
    expect(cells[4]).toBe(`${signed(difference.estimate)} [${low}, ${high}] over a control at 0`);
  });
});
