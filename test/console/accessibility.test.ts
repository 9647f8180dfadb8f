import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleInChromium, consoleInChromium, shopWithEditor, submitSignIn } from './support.js';

let app: ConsoleInChromium;
let person: { email: string; password: string };
let axeSource: string;

beforeAll(async () => {
  axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  app = await consoleInChromium();
  person = await shopWithEditor(app.server, 'alan@example.com');
  await app.server.ok('POST', '/api/v1/projects/shop/flags', { key: 'banner', name: 'Banner', type: 'boolean' });
  // An owner sees every page, the owner's People page included.
  const users = (await app.server.ok('GET', '/api/v1/users')) as { items: { id: string; email: string }[] };
  const id = users.items.find((u) => u.email === person.email)?.id;
  await app.server.ok('PATCH', `/api/v1/users/${id}`, { owner: true });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const violations = (await page.evaluate('axe.run(document).then((r) => r.violations)')) as Violation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('the console against axe-core', { timeout: 60_000 }, () => {
  it('has no serious or critical violations on the main pages', async () => {
    const page = await app.chrome.context.newPage();
    await page.goto(`${app.url}/`);
    await page.getByLabel('Email').waitFor();
    const found: Record<string, string[]> = { 'sign-in': await seriousViolations(page) };
    await submitSignIn(page, person);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const pages: [string, string, string][] = [
      ['projects', '/', 'Projects'],
      ['flags', '/projects/shop', 'Flags'],
      ['flag', '/projects/shop/flags/banner?env=production', 'Variants'],
      ['segments', '/projects/shop/segments', 'Segments'],
      ['audit', '/projects/shop/audit', 'Audit log'],
      ['members', '/projects/shop/members', 'Members and roles'],
      ['plan', '/projects/shop/flags/banner/plan/production', 'Release plan of banner in production'],
      ['people', '/people', 'People'],
      ['tokens', '/tokens', 'Personal API tokens'],
    ];
    for (const [name, path, heading] of pages) {
      await page.goto(`${app.url}${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      found[name] = await seriousViolations(page);
    }
    await page.goto(`${app.url}/projects/shop/flags/banner?env=production`);
    await page.getByRole('button', { name: 'Add rule' }).click();
    found['flag with a rule and a rollout'] = await seriousViolations(page);
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
    // The check itself works: an image without a text alternative is one of its critical findings.
    await page.evaluate(() => document.querySelector('main')?.append(document.createElement('img')));
    expect((await seriousViolations(page)).join('\n')).toContain('image-alt');
    await page.close();
  });
});
