import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../browser/support/chromium.js';
import { buildConsole, type ConsoleServer, screenshot, shopWithEditor, startConsoleServer } from './support.js';

let built: Awaited<ReturnType<typeof buildConsole>>;
let app: ConsoleServer;
let chrome: Chromium;
let page: Page;

const API = '/api/v1/projects/shop';

/** 40 units per variant, converting at 30 % (off) and 50 % (on): enough for an interval to draw. */
async function experimentData(serverKey: string): Promise<void> {
  const now = Date.now();
  const exposures = [];
  const events = [];
  for (let i = 0; i < 80; i++) {
    const variant = i % 2 === 0 ? 'on' : 'off';
    exposures.push({ flag: 'checkout', variant, key: `u${i}`, timestamp: now });
    const converts = variant === 'on' ? i % 20 < 9 : i % 20 < 7;
    if (converts) events.push({ event: 'purchase', key: `u${i}`, timestamp: now + 1000 });
  }
  const res = await app.server.call(
    'POST',
    '/sdk/v1/events',
    { id: 'batch-1', window: { start: now, end: now }, exposures, events },
    { token: serverKey },
  );
  expect(res.statusCode).toBe(202);
}

beforeAll(async () => {
  built = await buildConsole();
  app = await startConsoleServer(built.dir);
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
  chrome = await launchChromium();
  chrome.context.setDefaultTimeout(10_000);
  page = await chrome.context.newPage();
  await page.goto(`${app.url}/`);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
}, 120_000);

afterAll(async () => {
  await chrome?.close();
  await app?.close();
  await built?.remove();
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
});
