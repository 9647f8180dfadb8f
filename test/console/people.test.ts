import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../../packages/server/src/test-support/people.js';
import {
  type ConsoleInChromium,
  chromiumForConsole,
  consoleInChromium,
  screenshot,
  shopWithEditor,
  signedIn,
  submitSignIn,
} from './support.js';

let app: ConsoleInChromium;
let page: Page;
/** The API's real refusal to demote the last enabled owner, as it answered it. */
let lastOwner: { status: number; body: string };

const boss = { email: 'boss@example.com', password: PASSWORD };
const NEW_PASSWORD = 'a password the owner set';

beforeAll(async () => {
  app = await consoleInChromium();
  const s = app.server;
  await shopWithEditor(s, 'kim@example.com');
  const made = await s.ok('POST', '/api/v1/users', { ...boss, owner: true, mustChangePassword: false });
  // The organisation key may try what no signed-in owner can: demote the one enabled owner.
  const refused = await s.call('PATCH', `/api/v1/users/${made.id}`, { owner: false });
  lastOwner = { status: refused.statusCode, body: refused.body };
  page = await signedIn(app, boss);
}, 120_000);

afterAll(async () => {
  await app?.close();
});

const row = (email: string) => page.getByRole('row', { name: new RegExp(email) });
const userOf = async (email: string) => {
  const users = await app.server.ok('GET', '/api/v1/users');
  return users.items.find((u: { email: string }) => u.email === email);
};

describe("the owner's People page", { timeout: 60_000 }, () => {
  it('makes a person owner', async () => {
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('button', { name: 'Make owner kim@example.com' }).click();
    await page.getByRole('button', { name: 'Remove owner kim@example.com' }).waitFor();
    expect(await row('kim@example.com').textContent()).toContain('(owner)');
    expect((await userOf('kim@example.com')).owner).toBe(true);
  });

  it("shows the API's refusal to demote the last enabled owner in that person's row", async () => {
    expect(lastOwner.status).toBe(409);
    // A signed-in owner is an enabled owner, so only a race with another owner meets this
    // refusal from the console: the browser is given the API's own answer.
    await page.route('**/api/v1/users/*', (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill({ status: lastOwner.status, contentType: 'application/json', body: lastOwner.body })
        : route.continue(),
    );
    await page.getByRole('button', { name: 'Remove owner kim@example.com' }).click();
    const alert = row('kim@example.com').getByRole('alert');
    await alert.waitFor();
    const { message } = JSON.parse(lastOwner.body).error;
    expect(await alert.textContent()).toBe(`${message} (LAST_OWNER)`);
    await page.unrouteAll({ behavior: 'wait' });
    expect((await userOf('kim@example.com')).owner).toBe(true);
  });

  it('sets a password with the keyboard, showing a too short one beside its field', async () => {
    await page.getByRole('button', { name: 'Set password for kim@example.com' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Set a password for kim@example.com' });
    await dialog.waitFor();
    const field = dialog.getByLabel('New password (at least 12 characters)');
    expect(await field.evaluate((e) => e === document.activeElement)).toBe(true);
    await page.keyboard.type('short');
    await page.keyboard.press('Tab');
    await page.keyboard.type('short');
    await page.keyboard.press('Enter');
    const error = dialog.locator('.field-error[data-field="password"]');
    await error.waitFor();
    expect(await error.textContent()).toContain('12');
    // Focus stays in the dialog: Tab from its last control comes back to the first.
    await dialog.getByRole('button', { name: 'Set password' }).focus();
    await page.keyboard.press('Tab');
    expect(await field.evaluate((e) => e === document.activeElement)).toBe(true);
    await field.fill(NEW_PASSWORD);
    await dialog.getByLabel('The same password again').fill('not the same one at all');
    await page.keyboard.press('Enter');
    await dialog.locator('.field-error[data-field="repeat"]').waitFor();
    await dialog.getByLabel('The same password again').fill(NEW_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Password set for kim@example.com' }).waitFor();
    expect(await dialog.count()).toBe(0);
    // Focus returns to the button that opened the dialog.
    const opener = page.getByRole('button', { name: 'Set password for kim@example.com' });
    expect(await opener.evaluate((e) => e === document.activeElement)).toBe(true);
    expect(await row('kim@example.com').textContent()).toContain('must choose a password');
    await screenshot(page, 'people-set-password');
  });

  it('the person signs in with that password and is asked to choose their own', async () => {
    // Kim signs in in a browser of her own, so that the owner's session in the shared one stays.
    const kim = await chromiumForConsole();
    try {
      const p = await kim.context.newPage();
      await p.goto(`${app.url}/`);
      await submitSignIn(p, { email: 'kim@example.com', password: NEW_PASSWORD });
      await p.getByRole('heading', { name: 'Choose your password' }).waitFor();
      await p.getByLabel('Current password').fill(NEW_PASSWORD);
      await p.getByLabel('New password (at least 12 characters)').fill('kim chose this one herself');
      await p.getByLabel('New password again').fill('kim chose this one herself');
      await p.getByRole('button', { name: 'Change password' }).click();
      await p.getByRole('heading', { name: 'Projects' }).waitFor();
    } finally {
      await kim.close();
    }
    expect((await userOf('kim@example.com')).mustChangePassword).toBe(false);
  });

  it('adds a person, showing the field the API refuses', async () => {
    const form = page.getByRole('form', { name: 'Add a person' });
    await form.getByLabel('Email').fill('lee@example.com');
    await form.getByLabel(/First password/).fill('short');
    await form.getByRole('button', { name: 'Add person' }).click();
    await form.locator('.field-error[data-field="password"]').waitFor();
    await form.getByLabel(/First password/).fill(PASSWORD);
    await form.getByRole('button', { name: 'Add person' }).click();
    await page.getByRole('status').filter({ hasText: 'Added lee@example.com' }).waitFor();
    await row('lee@example.com').filter({ hasText: 'must choose a password' }).waitFor();
    expect(await row('lee@example.com').textContent()).not.toContain('(owner)');
  });
});
