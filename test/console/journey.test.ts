import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleInChromium, consoleInChromium, screenshot, shopWithEditor, submitSignIn } from './support.js';

let app: ConsoleInChromium;
let person: { email: string; password: string };
let page: Page;

beforeAll(async () => {
  app = await consoleInChromium();
  person = await shopWithEditor(app.server, 'grace@example.com');
  page = await app.chrome.context.newPage();
}, 120_000);

afterAll(async () => {
  await app?.close();
});

const config = (flag: string, env: string) =>
  app.server.ok('GET', `/api/v1/projects/shop/flags/${flag}/environments/${env}`);

/** One person's way through the console, step by step: each test starts where the last ended. */
describe('a flag from creation to kill, in the console', { timeout: 60_000 }, () => {
  it('signs in and creates a flag', async () => {
    await page.goto(`${app.url}/`);
    await submitSignIn(page, person);
    await page.getByRole('link', { name: 'Shop' }).click();
    await page.getByText('New flag').click();
    await page.getByLabel('Key').fill('checkout-v2');
    await page.getByLabel('Name', { exact: true }).fill('Checkout v2');
    await page.getByLabel('Tags (comma-separated)').fill('checkout');
    await page.getByRole('button', { name: 'Create flag' }).click();
    await page.getByRole('heading', { name: /Checkout v2/ }).waitFor();
  });

  it('shows the field at fault next to it when the API refuses a save', async () => {
    await page.getByRole('link', { name: /Production/ }).click();
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.getByRole('group', { name: 'Rule 1' });
    await rule.getByLabel('Attribute').fill('email');
    await rule.getByLabel('Operator').selectOption('matches');
    await rule.getByLabel('Values (comma-separated)').fill('(a+)+$');
    await rule.getByLabel('Values (comma-separated)').press('Tab');
    await page.getByRole('button', { name: 'Save production' }).click();
    const error = rule.locator('.field-error');
    await error.waitFor();
    expect(await error.getAttribute('data-field')).toBe('rules[0].clauses[0]');
    await screenshot(page, 'flag-field-error');
  });

  it('adds a rule with the clause builder and rolls out to 10 % with the exact number', async () => {
    const rule = page.getByRole('group', { name: 'Rule 1' });
    await rule.getByLabel('Attribute').fill('country');
    await rule.getByLabel('Operator').selectOption('in');
    await rule.getByLabel('Values (comma-separated)').fill('NL, BE');
    await rule.getByLabel('Values (comma-separated)').press('Tab');
    const fallback = page.getByRole('group', { name: 'Everyone else (default)' });
    await fallback.getByLabel('Percentage rollout').check();
    await fallback.getByLabel('on %').fill('10');
    await fallback.getByLabel('on %').press('Tab');
    expect(await fallback.getByLabel('off %').inputValue()).toBe('90');
    await page.getByRole('checkbox', { name: /^On in production/ }).check();
    await page.getByLabel('Reason for the change').fill('start the rollout');
    await page.getByRole('button', { name: 'Save production' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const saved = await config('checkout-v2', 'production');
    expect(saved.enabled).toBe(true);
    expect(saved.rules).toMatchObject([{ clauses: [{ attribute: 'country', op: 'in', values: ['NL', 'BE'] }] }]);
    expect(saved.defaultServe).toEqual({
      rollout: {
        weights: [
          { variant: 'on', weight: 10_000 },
          { variant: 'off', weight: 90_000 },
        ],
      },
    });
    await screenshot(page, 'flag');
  });

  it('kills it with a reason, after a confirmation', async () => {
    await page.getByRole('button', { name: 'Kill in production' }).click();
    const dialog = page.getByRole('dialog', { name: 'Kill checkout-v2 in production' });
    const kill = dialog.getByRole('button', { name: 'Kill', exact: true });
    expect(await kill.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('checkout errors after deploy');
    await dialog.getByRole('checkbox', { name: /Yes, kill checkout-v2/ }).check();
    await screenshot(page, 'kill-dialog');
    await kill.click();
    await page.getByRole('status').filter({ hasText: 'checkout-v2 killed in production' }).waitFor();
    expect((await config('checkout-v2', 'production')).enabled).toBe(false);
    await page.getByRole('button', { name: 'Revive in production' }).waitFor();
  });

  it('kills every flag with a tag from the project page', async () => {
    await app.server.ok('POST', '/api/v1/projects/shop/flags', {
      key: 'cart-drawer',
      name: 'Cart',
      type: 'boolean',
      tags: ['checkout'],
    });
    await app.server.ok('PATCH', '/api/v1/projects/shop/flags/cart-drawer/environments/staging', { enabled: true });
    await page.goto(`${app.url}/projects/shop`);
    await page.getByRole('button', { name: 'Kill by tag' }).click();
    const dialog = page.getByRole('dialog', { name: 'Kill flags by tag' });
    await dialog.getByLabel('Tag', { exact: true }).fill('checkout');
    await dialog.getByLabel('Environment').selectOption('staging');
    await dialog.getByLabel('Reason').fill('cart incident');
    await dialog.getByRole('checkbox').check();
    await dialog.getByRole('button', { name: 'Kill', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Killed in staging: cart-drawer' }).waitFor();
    expect((await config('cart-drawer', 'staging')).enabled).toBe(false);
  });

  it('finds the kill in the audit log, naming the person who signed in, with its reason and diff', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('textbox', { name: 'Key' }).fill('checkout-v2');
    await page.getByRole('textbox', { name: 'Key' }).press('Enter');
    const rows = page.locator('tr[data-audit-id]');
    // Only the flag's entries are left once the filter applies.
    await rows.filter({ hasText: 'cart-drawer' }).first().waitFor({ state: 'detached' });
    const kill = rows.filter({ hasText: 'flag.kill' }).first();
    await kill.waitFor();
    expect(await kill.locator('.actor').textContent()).toBe(person.email);
    expect(await kill.locator('.reason').textContent()).toBe('checkout errors after deploy');
    await kill.getByRole('button', { name: 'Show diff' }).click();
    const diff = page.locator('.diff');
    expect(await diff.locator('.del').allTextContents()).toContain('-   "enabled": true,');
    expect(await diff.locator('.add').allTextContents()).toContain('+   "enabled": false,');
    await screenshot(page, 'audit');
  });
});
