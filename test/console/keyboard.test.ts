import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleInChromium, consoleInChromium, shopWithEditor } from './support.js';

let app: ConsoleInChromium;
let person: { email: string; password: string };

beforeAll(async () => {
  app = await consoleInChromium();
  person = await shopWithEditor(app.server, 'linus@example.com');
  await app.server.ok('POST', '/api/v1/projects/shop/flags', { key: 'banner', name: 'Banner', type: 'boolean' });
  await app.server.ok('PATCH', '/api/v1/projects/shop/flags/banner/environments/production', { enabled: true });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

/** The focused element: its tag, accessible text, outline, and whether it lies in the open dialog. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    const style = el === null ? null : getComputedStyle(el);
    return {
      tag: el?.tagName.toLowerCase() ?? '',
      text: (el?.textContent ?? '').trim(),
      label: el?.id === undefined ? '' : (document.querySelector(`label[for="${el.id}"]`)?.textContent ?? ''),
      outline: style === null ? 'none' : style.outlineStyle,
      inDialog: el?.closest('[role="dialog"]') !== null && el?.closest('[role="dialog"]') !== undefined,
    };
  });

/** Presses Tab until the focused element's text is `text` (at most `max` times). */
async function tabTo(page: Page, text: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if ((await focused(page)).text === text) return;
  }
  throw new Error(`Tab never reached "${text}"`);
}

describe('the console with the keyboard alone', { timeout: 60_000 }, () => {
  it('signs in, and opens, traps, closes and confirms the kill dialog, with focus always visible', async () => {
    const page = await app.chrome.context.newPage();
    await page.goto(`${app.url}/projects/shop/flags/banner?env=production`);
    await page.getByLabel('Email').waitFor();
    await page.keyboard.press('Tab');
    expect((await focused(page)).label).toBe('Email');
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    expect((await focused(page)).label).toBe('Password');
    await page.keyboard.type(person.password);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Kill in production' }).waitFor();

    await tabTo(page, 'Kill in production');
    expect((await focused(page)).outline).not.toBe('none');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expect.poll(async () => (await focused(page)).inDialog, { timeout: 5_000 }).toBe(true);
    // Tab and Shift+Tab go round inside the dialog, never out to the page behind it.
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      expect(f.inDialog).toBe(true);
      expect(f.outline).not.toBe('none');
    }
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Shift+Tab');
      expect((await focused(page)).inDialog).toBe(true);
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Polled: a live change arriving meanwhile may re-render the button focus returns to.
    await expect.poll(async () => (await focused(page)).text, { timeout: 5_000 }).toBe('Kill in production');

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await expect.poll(async () => (await focused(page)).label, { timeout: 5_000 }).toContain('Reason');
    await page.keyboard.type('keyboard drill');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect((await focused(page)).text).toBe('Kill');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'banner killed in production' }).waitFor();
    const config = await app.server.ok('GET', '/api/v1/projects/shop/flags/banner/environments/production');
    expect(config.enabled).toBe(false);
    await page.close();
  });
});
