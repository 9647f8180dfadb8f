import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleInChromium, changeElsewhere, consoleInChromium, shopWithEditor, signedIn } from './support.js';

let app: ConsoleInChromium;
let page: Page;

const API = '/api/v1/projects/shop';

beforeAll(async () => {
  app = await consoleInChromium();
  const person = await shopWithEditor(app.server, 'ida@example.com');
  await app.server.ok('POST', `${API}/flags`, { key: 'promo', name: 'Promo', type: 'boolean' });
  page = await signedIn(app, person);
}, 120_000);

afterAll(async () => {
  await app?.close();
});

const elsewhere = (method: string, path: string, body: unknown) => changeElsewhere(app, method, `${API}${path}`, body);

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
