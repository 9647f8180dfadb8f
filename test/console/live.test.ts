import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../browser/support/chromium.js';
import { buildConsole, shopWithEditor, startConsoleServer } from './support.js';

let built: Awaited<ReturnType<typeof buildConsole>>;
let app: Awaited<ReturnType<typeof startConsoleServer>>;
let chrome: Chromium;
let page: Page;

const API = '/api/v1/projects/shop';

beforeAll(async () => {
  built = await buildConsole();
  app = await startConsoleServer(built.dir);
  const person = await shopWithEditor(app.server, 'ida@example.com');
  await app.server.ok('POST', `${API}/flags`, { key: 'promo', name: 'Promo', type: 'boolean' });
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

/** Someone else's change through the API, and its audit entry on the change stream. */
async function elsewhere(method: string, path: string, body: unknown): Promise<void> {
  await app.server.ok(method, `${API}${path}`, body);
  const audit = await app.server.ok('GET', '/api/v1/audit?project=shop&limit=1');
  app.changes.publish(audit.items[0]);
}

describe('live updates from the change stream', { timeout: 60_000 }, () => {
  it("shows another person's change to a flag on the list and on the flag page without a reload", async () => {
    await page.goto(`${app.url}/projects/shop`);
    const cell = page.locator('tr[data-flag="promo"] td[data-env="production"]');
    await cell.filter({ hasText: 'off' }).waitFor();
    await page.evaluate(() => {
      (globalThis as { sameDocument?: boolean }).sameDocument = true;
    });
    await elsewhere('PATCH', '/flags/promo/environments/production', { enabled: true });
    await cell.filter({ hasText: 'on' }).waitFor({ timeout: 2000 });

    await page.getByRole('link', { name: 'Promo' }).click();
    await page.getByRole('link', { name: /Production/ }).click();
    await page.getByRole('button', { name: 'Kill in production' }).waitFor();
    await elsewhere('POST', '/flags/promo/environments/production/kill', { reason: 'from the CLI' });
    await page.getByRole('button', { name: 'Revive in production' }).waitFor({ timeout: 2000 });
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
  });
});
