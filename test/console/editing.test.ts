import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleInChromium,
  changeElsewhere,
  consoleInChromium,
  screenshot,
  shopWithEditor,
  signedIn,
} from './support.js';

let app: ConsoleInChromium;
let page: Page;

const API = '/api/v1/projects/shop';
const elsewhere = (method: string, path: string, body?: unknown) => changeElsewhere(app, method, `${API}${path}`, body);

beforeAll(async () => {
  app = await consoleInChromium();
  const person = await shopWithEditor(app.server, 'noor@example.com');
  const s = app.server;
  await s.ok('POST', `${API}/flags`, {
    key: 'theme',
    name: 'Theme',
    type: 'string',
    variants: [
      { key: 'red', value: 'red' },
      { key: 'blue', value: 'blue' },
    ],
  });
  await s.ok('PATCH', `${API}/flags/theme/environments/production`, { offVariant: 'blue' });
  await s.ok('PATCH', `${API}/flags/theme/environments/staging`, { enabled: true });
  await s.ok('POST', `${API}/flags`, {
    key: 'limit',
    name: 'Limit',
    type: 'number',
    variants: [{ key: 'low', value: 10 }],
  });
  page = await signedIn(app, person);
}, 120_000);

afterAll(async () => {
  await app?.close();
});

const variantsForm = () => page.getByRole('form', { name: 'Variants' });

describe('editing variants in the console', { timeout: 60_000 }, () => {
  it('changes a value and adds a variant, saved through the API', async () => {
    await page.goto(`${app.url}/projects/shop/flags/theme?env=production`);
    const form = variantsForm();
    await form.getByLabel('Variant 1 value').fill('crimson');
    await form.getByRole('button', { name: 'Add variant' }).click();
    await form.getByLabel('Variant 3 key').fill('gold');
    await form.getByLabel('Variant 3 value').fill('#d4af37');
    await form.getByRole('button', { name: 'Save variants' }).click();
    await form.getByRole('status').filter({ hasText: 'Variants saved.' }).waitFor();
    const flag = await app.server.ok('GET', `${API}/flags/theme`);
    expect(flag.variants).toEqual([
      { key: 'red', value: 'crimson' },
      { key: 'blue', value: 'blue' },
      { key: 'gold', value: '#d4af37' },
    ]);
    // The new variant is offered wherever the configuration names one.
    await page.getByLabel('Off variant').locator('option', { hasText: 'gold' }).waitFor({ state: 'attached' });
  });

  it('shows, next to the list, why a variant still in use cannot be removed', async () => {
    const form = variantsForm();
    await form.getByRole('button', { name: 'Remove variant 2' }).click();
    await form.getByRole('button', { name: 'Save variants' }).click();
    const error = form.locator('.field-error[data-field="variants"]');
    await error.waitFor();
    expect(await error.textContent()).toContain('production: offVariant');
    expect((await app.server.ok('GET', `${API}/flags/theme`)).variants).toHaveLength(3);
    await screenshot(page, 'variants-in-use');
  });

  it('shows a value of the wrong type next to that value', async () => {
    await page.goto(`${app.url}/projects/shop/flags/limit`);
    const form = variantsForm();
    await form.getByLabel('Variant 1 value').fill('ten');
    await form.getByRole('button', { name: 'Save variants' }).click();
    const error = form.locator('.field-error[data-field="variants[0]"]');
    await error.waitFor();
    expect(await error.textContent()).toContain('must be a number');
  });
});

describe('the flag list', { timeout: 60_000 }, () => {
  it("shows each environment's state from the list alone, without reading each flag", async () => {
    // The page the previous test left may still be reloading its flag: it is gone before listening starts.
    await page.goto('about:blank');
    const reads: string[] = [];
    const listen = (r: { url(): string }) => {
      if (/\/api\/v1\/projects\/shop\/flags\/[^/?]+$/.test(r.url())) reads.push(r.url());
    };
    page.on('request', listen);
    await page.goto(`${app.url}/projects/shop`);
    const theme = page.locator('tr[data-flag="theme"]');
    await theme.locator('td[data-env="staging"]').filter({ hasText: 'on' }).waitFor();
    expect(await theme.locator('td[data-env="production"]').textContent()).toBe('off');
    await page.waitForLoadState('networkidle');
    page.off('request', listen);
    expect(reads).toEqual([]);
  });
});

describe('a live change while a draft is unsaved', { timeout: 60_000 }, () => {
  const onInProduction = () => page.getByLabel('On in production (off serves the off variant to everyone)');
  const conflict = () => page.locator('form[aria-label="Configuration in production"] .conflict');

  it('warns instead of replacing the draft, and reload takes the newer version', async () => {
    await page.goto(`${app.url}/projects/shop/flags/theme?env=production`);
    await onInProduction().check();
    await elsewhere('PATCH', '/flags/theme/environments/production', {
      targets: [{ variant: 'red', values: ['ana'] }],
    });
    await conflict().filter({ hasText: 'Someone else just changed this configuration' }).waitFor({ timeout: 2000 });
    expect(await onInProduction().isChecked()).toBe(true);
    await screenshot(page, 'draft-conflict');
    await conflict().getByRole('button', { name: 'Reload' }).click();
    expect(await onInProduction().isChecked()).toBe(false);
    expect(await page.getByLabel('Context keys served red (comma or one per line)').inputValue()).toBe('ana');
    expect(await conflict().count()).toBe(0);
  });

  it('keeps the draft on request, and its save is refused with a clear 412', async () => {
    await onInProduction().check();
    await elsewhere('PATCH', '/flags/theme/environments/production', { offVariant: 'gold' });
    await conflict().getByRole('button', { name: 'Keep my draft' }).click();
    expect(await conflict().count()).toBe(0);
    expect(await onInProduction().isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Save production' }).click();
    await conflict().filter({ hasText: 'Not saved: someone changed this configuration' }).waitFor();
    expect(await conflict().textContent()).toContain('PRECONDITION_FAILED');
    const stored = await app.server.ok('GET', `${API}/flags/theme/environments/production`);
    expect({ enabled: stored.enabled, offVariant: stored.offVariant }).toEqual({ enabled: false, offVariant: 'gold' });
    await conflict().getByRole('button', { name: 'Reload' }).click();
    await page
      .getByLabel('Off variant')
      .filter({ has: page.locator('option:checked', { hasText: 'gold' }) })
      .waitFor();
    expect(await onInProduction().isChecked()).toBe(false);
  });

  it('follows live changes silently while there is no draft', async () => {
    await elsewhere('PATCH', '/flags/theme/environments/production', { offVariant: 'red' });
    await page
      .getByLabel('Off variant')
      .filter({ has: page.locator('option:checked', { hasText: 'red' }) })
      .waitFor();
    expect(await conflict().count()).toBe(0);
  });
});

describe("the person's own save of the variants while a configuration draft is unsaved", { timeout: 60_000 }, () => {
  const onInProduction = () => page.getByLabel('On in production (off serves the off variant to everyone)');
  const config = () => page.getByRole('form', { name: 'Configuration in production' });
  const conflict = () => config().locator('.conflict');

  it('keeps the draft without a warning, and its save goes through on the new version', async () => {
    await page.goto(`${app.url}/projects/shop/flags/limit?env=production`);
    const before = await app.server.ok('GET', `${API}/flags/limit/environments/production`);
    await onInProduction().check();
    await variantsForm().getByLabel('Variant 1 value').fill('11');
    await variantsForm().getByRole('button', { name: 'Save variants' }).click();
    await variantsForm().getByRole('status').filter({ hasText: 'Variants saved.' }).waitFor();
    const touched = await app.server.ok('GET', `${API}/flags/limit/environments/production`);
    expect(touched.version).toBeGreaterThan(before.version);
    // The page has read the moved version (the editor offers the save again) without asking.
    await page.waitForLoadState('networkidle');
    expect(await conflict().count()).toBe(0);
    expect(await onInProduction().isChecked()).toBe(true);
    await config().getByRole('button', { name: 'Save production' }).click();
    await config().getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect(await conflict().count()).toBe(0);
    const stored = await app.server.ok('GET', `${API}/flags/limit/environments/production`);
    expect(stored.enabled).toBe(true);
  });

  it('still warns when someone else saves the variants', async () => {
    await onInProduction().uncheck();
    await elsewhere('PATCH', '/flags/limit', { variants: [{ key: 'low', value: 12 }] });
    await conflict().filter({ hasText: 'Someone else just changed this configuration' }).waitFor({ timeout: 2000 });
    expect(await onInProduction().isChecked()).toBe(false);
  });

  it('still warns when someone else rewrites the configuration right after the own save', async () => {
    await conflict().getByRole('button', { name: 'Reload' }).click();
    await onInProduction().uncheck();
    // Someone else's write lands between the save of the variants and the page's read of them.
    let injected = false;
    await page.route('**/api/v1/projects/shop/flags/limit', async (route) => {
      if (route.request().method() === 'GET' && !injected) {
        injected = true;
        await app.server.ok('PATCH', `${API}/flags/limit/environments/production`, { offVariant: 'low' });
      }
      await route.continue();
    });
    await variantsForm().getByLabel('Variant 1 value').fill('13');
    await variantsForm().getByRole('button', { name: 'Save variants' }).click();
    await variantsForm().getByRole('status').filter({ hasText: 'Variants saved.' }).waitFor();
    await conflict().filter({ hasText: 'Someone else just changed this configuration' }).waitFor({ timeout: 2000 });
    expect(await onInProduction().isChecked()).toBe(false);
    expect(injected).toBe(true);
    await page.unrouteAll({ behavior: 'wait' });
  });
});

describe('the segments page', { timeout: 60_000 }, () => {
  const editor = () => page.getByRole('form', { name: 'Segment beta' });

  it('creates a segment and edits its keys and rules with the clause builder, errors next to the field', async () => {
    await page.goto(`${app.url}/projects/shop/segments?env=production`);
    await page.getByText('No segments in production yet.').waitFor();
    await page.getByLabel('Segment key').fill('beta');
    await page.getByLabel('Segment name').fill('Beta testers');
    await page.getByRole('button', { name: 'Create segment' }).click();
    await editor().waitFor();
    await editor().getByLabel('Included context keys (comma or one per line)').fill('u1, u2');
    await editor().getByLabel('Excluded context keys (they never match, whatever the rules say)').fill('u3');
    await editor().getByRole('button', { name: 'Add segment rule' }).click();
    const rule = editor().getByRole('group', { name: 'Segment rule 1' });
    await rule.getByLabel('Attribute').fill('version');
    await rule.getByLabel('Operator').selectOption('semverGt');
    await rule.getByLabel('Values (comma-separated)').fill('not-a-version');
    await rule.getByLabel('Values (comma-separated)').press('Tab');
    await editor().getByRole('button', { name: 'Save segment' }).click();
    const error = rule.locator('.field-error');
    await error.waitFor();
    expect(await error.getAttribute('data-field')).toBe('rules[0].clauses[0]');
    await rule.getByLabel('Values (comma-separated)').fill('2.0.0');
    await rule.getByLabel('Values (comma-separated)').press('Tab');
    await editor().getByRole('button', { name: 'Save segment' }).click();
    await editor().getByRole('status').filter({ hasText: 'Segment saved.' }).waitFor();
    const stored = await app.server.ok('GET', `${API}/environments/production/segments/beta`);
    expect(stored).toMatchObject({
      name: 'Beta testers',
      included: ['u1', 'u2'],
      excluded: ['u3'],
      rules: [{ clauses: [{ attribute: 'version', op: 'semverGt', values: ['2.0.0'] }] }],
    });
    await screenshot(page, 'segment');
  });

  it('keeps the selected segment when another environment is chosen', async () => {
    const tabs = page.getByRole('navigation', { name: 'Environments' });
    await tabs.getByRole('link', { name: 'Staging' }).click();
    await page.getByText('No segment beta in staging.').waitFor();
    expect(new URL(page.url()).searchParams.get('segment')).toBe('beta');
    await app.server.ok('POST', `${API}/environments/staging/segments`, { key: 'beta', name: 'Beta in staging' });
    await page.reload();
    await editor().locator('h2', { hasText: 'Beta in staging' }).waitFor();
    expect(await editor().getByLabel('Name', { exact: true }).inputValue()).toBe('Beta in staging');
    await tabs.getByRole('link', { name: 'Production' }).click();
    // The staging editor stays until production's list has loaded.
    await editor().locator('h2', { hasText: 'Beta testers' }).waitFor();
    expect(new URL(page.url()).searchParams.get('env')).toBe('production');
    expect(await editor().getByLabel('Name', { exact: true }).inputValue()).toBe('Beta testers');
  });

  it('shows why a segment a flag still uses cannot be deleted, then deletes it once unused', async () => {
    const rules = [{ clauses: [{ attribute: 'key', op: 'inSegment', values: ['beta'] }], serve: { variant: 'red' } }];
    await app.server.ok('PATCH', `${API}/flags/theme/environments/production`, { rules });
    await editor().getByRole('button', { name: 'Delete segment' }).click();
    await editor().getByRole('button', { name: 'Yes, delete beta' }).click();
    await editor().getByRole('alert').filter({ hasText: 'theme' }).waitFor();
    await app.server.ok('PATCH', `${API}/flags/theme/environments/production`, { rules: [] });
    await editor().getByRole('button', { name: 'Delete segment' }).click();
    await editor().getByRole('button', { name: 'Yes, delete beta' }).click();
    await page.getByText('No segments in production yet.').waitFor();
    const res = await app.server.call('GET', `${API}/environments/production/segments/beta`);
    expect(res.statusCode).toBe(404);
  });
});
