import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerson, PASSWORD } from '../../packages/server/src/test-support/people.js';
import { type ConsoleInChromium, consoleInChromium, screenshot, shopWithEditor, submitSignIn } from './support.js';

let app: ConsoleInChromium;
let person: { email: string; password: string };

beforeAll(async () => {
  app = await consoleInChromium();
  person = await shopWithEditor(app.server, 'ada@example.com');
}, 120_000);

afterAll(async () => {
  await app?.close();
});

/** Signs in afresh: the pages of the one browser context share the session cookie. */
async function signIn(page: Page): Promise<void> {
  await app.chrome.context.clearCookies();
  await page.goto(`${app.url}/`);
  await submitSignIn(page, person);
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
}

describe('the console in Chromium', { timeout: 60_000 }, () => {
  it('serves the app at a client route, and the API and docs keep their own answers', async () => {
    const deep = await fetch(`${app.url}/projects/shop/flags/x`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toContain('text/html');
    for (const path of ['/api/v1/nope', '/sdk/v1/nope', '/healthz/x', '/assets/missing.js']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });

  it("shows the API's refusal of a wrong password on the sign-in page", async () => {
    const page = await app.chrome.context.newPage();
    await page.goto(`${app.url}/`);
    await submitSignIn(page, { email: person.email, password: 'not the password at all' });
    await expect(page.getByRole('alert').textContent()).resolves.toContain('UNAUTHORIZED');
    await screenshot(page, 'sign-in-refused');
    await page.close();
  });

  it('signs in and shows the projects and their environments', async () => {
    const page = await app.chrome.context.newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Shop' }).click();
    await page.getByRole('heading', { name: 'Environments' }).waitFor();
    const envs = await page.locator('.envs').textContent();
    expect(envs).toContain('Staging');
    expect(envs).toContain('Production');
    await screenshot(page, 'project');
    await page.close();
  });

  it('creates a flag, lists it with its state in each environment, and finds it by search and tag', async () => {
    await app.server.ok('POST', '/api/v1/projects/shop/flags', {
      key: 'old-banner',
      name: 'Old banner',
      type: 'boolean',
    });
    await app.server.ok('PATCH', '/api/v1/projects/shop/flags/old-banner/environments/staging', { enabled: true });
    const page = await app.chrome.context.newPage();
    await signIn(page);
    await page.goto(`${app.url}/projects/shop`);
    await page.getByText('New flag').click();
    await page.getByLabel('Key').fill('search-v2');
    await page.getByLabel('Name', { exact: true }).fill('Search v2');
    await page.getByLabel('Tags (comma-separated)').fill('search');
    await page.getByRole('button', { name: 'Create flag' }).click();
    await page.waitForURL(/\/projects\/shop\/flags\/search-v2/);
    await page.goto(`${app.url}/projects/shop`);
    const row = (flag: string) => page.locator(`tr[data-flag="${flag}"]`);
    await row('old-banner').waitFor();
    expect(await row('old-banner').locator('td[data-env="staging"]').textContent()).toBe('on');
    expect(await row('old-banner').locator('td[data-env="production"]').textContent()).toBe('off');
    await screenshot(page, 'flag-list');
    await page.getByLabel('Search').fill('search');
    await row('old-banner').waitFor({ state: 'detached' });
    expect(await row('search-v2').count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await row('old-banner').waitFor();
    await row('search-v2').getByRole('button', { name: 'search' }).click();
    await row('old-banner').waitFor({ state: 'detached' });
    expect(await row('search-v2').count()).toBe(1);
    await page.close();
  });

  it('shows the members and their roles; keys are left to admins', async () => {
    const page = await app.chrome.context.newPage();
    await signIn(page);
    await page.goto(`${app.url}/projects/shop/members`);
    await page.getByRole('cell', { name: person.email }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: person.email }).textContent()).toContain('editor');
    await screenshot(page, 'members');
    await page.getByRole('link', { name: 'SDK keys' }).click();
    await page.getByText("Keys are managed by the project's admins.").waitFor();
    await page.close();
  });

  it('lets an admin create an SDK key and shows its token once', async () => {
    const members = await app.server.ok('GET', '/api/v1/projects/shop/members');
    const me = members.items.find((m: { email: string }) => m.email === person.email);
    await app.server.ok('PATCH', `/api/v1/projects/shop/members/${me.userId}`, { role: 'admin' });
    const page = await app.chrome.context.newPage();
    await signIn(page);
    await page.goto(`${app.url}/projects/shop/keys`);
    await page.getByLabel('Name').fill('web checkout');
    await page.getByLabel('Type').selectOption('client');
    await page.getByLabel('Environment').selectOption('production');
    await page.getByRole('button', { name: 'Create key' }).click();
    const token = await page.locator('code.token').textContent();
    expect(token).toMatch(/^sy_client_/);
    await page.getByRole('cell', { name: 'web checkout', exact: true }).waitFor();
    await screenshot(page, 'keys');
    await page.close();
  });

  it('lets a viewer read a flag but not change or kill it', async () => {
    await createPerson(app.server, 'vera@example.com', { project: 'shop', role: 'viewer' });
    const page = await app.chrome.context.newPage();
    await app.chrome.context.clearCookies();
    await page.goto(`${app.url}/projects/shop/flags/old-banner?env=staging`);
    await submitSignIn(page, { email: 'vera@example.com', password: PASSWORD });
    await page.getByRole('heading', { name: /Old banner/ }).waitFor();
    await page.getByRole('button', { name: 'Save staging' }).waitFor();
    expect(await page.getByRole('button', { name: 'Save staging' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: /^Kill/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Kill by tag' }).count()).toBe(0);
    await page.close();
  });

  it('makes a person whose password the owner set choose their own before anything else', async () => {
    await app.server.ok('POST', '/api/v1/users', { email: 'newbie@example.com', password: PASSWORD });
    await app.server.ok('POST', '/api/v1/projects/shop/members', { email: 'newbie@example.com', role: 'viewer' });
    const page = await app.chrome.context.newPage();
    await app.chrome.context.clearCookies();
    await page.goto(`${app.url}/`);
    await submitSignIn(page, { email: 'newbie@example.com', password: PASSWORD });
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    // A reload keeps the person on this screen: the app shows nothing the API would refuse.
    await page.reload();
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel(/^New password \(/).fill(PASSWORD);
    await page.getByLabel('New password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('[data-field="newPassword"]').textContent()).resolves.toContain('differ');
    await screenshot(page, 'password-change-required');
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel(/^New password \(/).fill('newbie chose this one');
    await page.getByLabel('New password again').fill('newbie chose this one');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Personal API tokens' }).waitFor();
    await page.close();
  });

  it("lets the owner disable a person, and shows a token's expiry and last use", async () => {
    await app.server.ok('POST', '/api/v1/users', {
      email: 'boss@example.com',
      password: PASSWORD,
      owner: true,
      mustChangePassword: false,
    });
    await createPerson(app.server, 'temp@example.com', { project: 'shop', role: 'viewer' });
    const page = await app.chrome.context.newPage();
    await app.chrome.context.clearCookies();
    await page.goto(`${app.url}/`);
    await submitSignIn(page, { email: 'boss@example.com', password: PASSWORD });
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('button', { name: 'Disable temp@example.com' }).click();
    await page.getByRole('button', { name: 'Enable temp@example.com' }).waitFor();
    expect(await page.getByRole('row', { name: /temp@example.com/ }).textContent()).toContain('disabled since');
    // The owner's own row offers nothing that would lock them out.
    expect(await page.getByRole('button', { name: 'Disable boss@example.com' }).count()).toBe(0);
    await screenshot(page, 'people');

    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Name').fill('deploy script');
    await page.getByLabel('Expires (optional)').fill('2030-01-31T12:00');
    await page.getByRole('button', { name: 'Make token' }).click();
    const token = await page.locator('code.token').textContent();
    expect(token).toMatch(/^sy_pat_/);
    const row = page.getByRole('row', { name: /deploy script/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('2030');
    expect(await row.textContent()).toContain('never');
    await screenshot(page, 'tokens');
    await page.close();
  });
});
