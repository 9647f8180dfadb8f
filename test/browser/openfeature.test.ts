import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from './support/chromium.js';
import { FlagServer, webProject } from './support/flag-server.js';
import { html, PageServer } from './support/page-server.js';

let server: FlagServer;
let web: Awaited<ReturnType<typeof webProject>>;
let pages: PageServer;
let chrome: Chromium;
let fixtureDir: string | undefined;

/** The fixture bundled as an application would bundle the provider: from the packages' sources. */
async function bundleFixture(): Promise<string> {
  fixtureDir = await mkdtemp(join(tmpdir(), 'switchyard-openfeature-'));
  const outfile = join(fixtureDir, 'page.js');
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/openfeature-page.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    conditions: ['source'],
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Sets the provider with `config` for the context `{targetingKey: 'ada'}` and records every
 * provider event, with its `flagsChanged`, in `events`.
 */
const page = (config: Record<string, unknown>) =>
  html(`<script src="/page.js"></script>
<script>
  window.events = [];
  for (const type of Object.values(ProviderEvents)) {
    OpenFeature.addHandler(type, (details) => events.push({ type, flagsChanged: details && details.flagsChanged }));
  }
  window.ofClient = OpenFeature.getClient();
  window.initialised = OpenFeature.setProviderAndWait(new SwitchyardWebProvider(${JSON.stringify(config)}), { targetingKey: 'ada' })
    .then(() => 'ready', (err) => 'failed: ' + err.message);
</script>`);

const RETRIES = { initialRetryDelayMs: 100, maxRetryDelayMs: 400 };

beforeAll(async () => {
  const [bundle, started] = await Promise.all([bundleFixture(), FlagServer.start()]);
  server = started;
  web = await webProject(server);
  await web.booleanFlag('banner', {
    clientSide: true,
    serve: 'off',
    config: { targets: [{ variant: 'on', values: ['bob'] }] },
  });
  const revoked = await web.revokedClientKey();
  const base = { baseUrl: server.url, cache: false, ...RETRIES };
  pages = await PageServer.start({
    '/': page({ ...base, clientKey: web.clientKey }),
    '/revoked': page({ ...base, clientKey: revoked }),
    '/page.js': { type: 'text/javascript; charset=utf-8', body: { file: bundle } },
  });
  chrome = await launchChromium();
});

afterEach(async () => {
  await server.ensureRunning();
});

afterAll(async () => {
  await chrome?.close();
  if (fixtureDir !== undefined) await rm(fixtureDir, { recursive: true, force: true });
  await pages?.close();
  await server?.close();
});

interface Recorded {
  type: string;
  flagsChanged?: string[];
}

const events = (p: Page) => p.evaluate('events') as Promise<Recorded[]>;
const waitForEvent = (p: Page, type: string, timeout: number) =>
  p.waitForFunction(`events.some((e) => e.type === ${JSON.stringify(type)})`, undefined, { timeout });

describe('the OpenFeature web provider in Chromium', () => {
  it('is ready, resolves synchronously, and reports a change through the API within a second', async () => {
    const p = await chrome.context.newPage();
    await p.goto(pages.url);
    expect(await p.evaluate('initialised')).toBe('ready');
    expect(await p.evaluate(`ofClient.getBooleanDetails('banner', true)`)).toEqual({
      flagKey: 'banner',
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
      flagMetadata: { owner: 'web-team' },
    });
    await web.serve('banner', 'on');
    await waitForEvent(p, 'PROVIDER_CONFIGURATION_CHANGED', 1000);
    expect(await events(p)).toContainEqual({ type: 'PROVIDER_CONFIGURATION_CHANGED', flagsChanged: ['banner'] });
    expect(await p.evaluate(`ofClient.getBooleanValue('banner', false)`)).toBe(true);
    await p.close();
  });

  it('re-evaluates when the context changes, locally', async () => {
    await web.serve('banner', 'off');
    const p = await chrome.context.newPage();
    await p.goto(pages.url);
    expect(await p.evaluate('initialised')).toBe('ready');
    expect(await p.evaluate(`ofClient.getBooleanValue('banner', true)`)).toBe(false);
    await p.evaluate(`OpenFeature.setContext({ targetingKey: 'bob' })`);
    expect(await p.evaluate(`ofClient.getBooleanDetails('banner', false)`)).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    const types = (await events(p)).map((e) => e.type);
    expect(types).toContain('PROVIDER_CONTEXT_CHANGED');
    expect(types).not.toContain('PROVIDER_CONFIGURATION_CHANGED');
    await p.close();
  });

  it('goes stale while the server is away and is ready again when it returns', async () => {
    const p = await chrome.context.newPage();
    await p.goto(pages.url);
    expect(await p.evaluate('initialised')).toBe('ready');
    await server.stop();
    await waitForEvent(p, 'PROVIDER_STALE', 5000);
    expect(await p.evaluate(`ofClient.providerStatus`)).toBe('STALE');
    expect(await p.evaluate(`ofClient.getBooleanValue('banner', true)`)).toBe(false);
    await server.restart();
    await p.waitForFunction(`ofClient.providerStatus === 'READY'`, undefined, { timeout: 10_000 });
    expect((await events(p)).map((e) => e.type).filter((t) => t !== 'PROVIDER_CONFIGURATION_CHANGED')).toEqual([
      'PROVIDER_READY',
      'PROVIDER_STALE',
      'PROVIDER_READY',
    ]);
    await p.close();
  });

  it('reports a fatal error when the server refuses the key, as the Node provider does', async () => {
    const p = await chrome.context.newPage();
    await p.goto(`${pages.url}/revoked`);
    expect(await p.evaluate('initialised')).toMatch(/^failed: switchyard: key refused \(401\)$/);
    expect(await p.evaluate(`ofClient.providerStatus`)).toBe('FATAL');
    expect((await events(p)).map((e) => e.type)).toContain('PROVIDER_ERROR');
    expect(await p.evaluate(`ofClient.getBooleanDetails('banner', true)`)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'PROVIDER_FATAL',
    });
    await p.close();
  });
});
