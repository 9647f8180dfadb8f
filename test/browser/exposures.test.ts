import type { EventBatch } from '@switchyard/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEnvironment } from '../../packages/server/src/features/environments/store.js';
import { batchesOf, exposuresOf, trackEventsOf } from '../../packages/server/src/features/events/store.js';
import { findProject } from '../../packages/server/src/features/projects/store.js';
import { type Built, buildIife, type Chromium, launchChromium } from './support/chromium.js';
import { FlagServer, webProject } from './support/flag-server.js';
import { html, PageServer } from './support/page-server.js';
import type { ClientPage } from './support/pages.js';

let server: FlagServer;
let pages: PageServer;
let chrome: Chromium;
let bundle: Built;

/** What the page's `fetch` is replaced with: the answer to the first events batch is lost on its way back. */
interface LossyPage extends ClientPage {
  lost?: number;
}

beforeAll(async () => {
  [bundle, server] = await Promise.all([buildIife(), FlagServer.start()]);
  const web = await webProject(server);
  // ann and bob are targeted to "on", everyone else gets "off"; `plain` is the same, unmeasured.
  const config = (measured: boolean) => ({ measured, targets: [{ variant: 'on', values: ['ann', 'bob'] }] });
  await web.booleanFlag('checkout', { clientSide: true, serve: 'off', config: config(true) });
  await web.booleanFlag('plain', { clientSide: true, serve: 'off', config: config(false) });
  await server.admin('POST', '/projects/web/metrics', {
    key: 'purchase',
    name: 'Purchase',
    event: 'purchase',
    kind: 'conversion',
    direction: 'increase',
  });
  const options = {
    clientKey: web.clientKey,
    baseUrl: server.url,
    context: { key: 'ann' },
    cache: false,
    flushIntervalMs: 600_000,
  };
  pages = await PageServer.start({
    '/': html(`<script src="/switchyard.iife.js"></script>
<script>window.client = Switchyard.createClient(${JSON.stringify(options)});</script>`),
    '/switchyard.iife.js': { type: 'text/javascript; charset=utf-8', body: { file: bundle.file } },
  });
  chrome = await launchChromium();
});

afterAll(async () => {
  await chrome?.close();
  await bundle?.remove();
  await pages?.close();
  await server?.close();
});

const inPage = <T, A = undefined>(page: Page, fn: (w: LossyPage, arg: A) => T, arg?: A) =>
  page.evaluate(`(${fn.toString()})(globalThis, ${JSON.stringify(arg ?? null)})`) as Promise<Awaited<T>>;

async function environmentId(): Promise<string> {
  const project = await findProject(server.db, 'web');
  const environment = await findEnvironment(server.db, project?.id ?? '', 'prod');
  if (environment === undefined) throw new Error('no environment web/prod');
  return environment.id;
}

const storedExposures = async () =>
  (await exposuresOf(server.db, await environmentId())).map((e) => `${e.flag}/${e.variant}/${e.contextKey}`).sort();

const batchPosts = () => server.exchanges.filter((e) => e.method === 'POST' && e.url.startsWith('/sdk/v1/events?key='));

describe('exposures from the browser SDK in Chromium', () => {
  it('sends one exposure per user and variant of a measured flag, none of an unmeasured one; a batch sent again is stored once', async () => {
    const page = await chrome.context.newPage();
    await page.goto(pages.url);
    await page.waitForFunction(() => (globalThis as unknown as ClientPage).client.status === 'ready');

    const served = await inPage(page, async (w) => {
      // The first batch reaches the server, but its answer is lost on the way back.
      const send = w.fetch.bind(w);
      w.lost = 0;
      w.fetch = async (url, init) => {
        const res = await send(url, init);
        if (init?.method === 'POST' && w.lost === 0) {
          w.lost++;
          throw new TypeError('answer lost');
        }
        return res;
      };
      const seen: string[] = [];
      for (let round = 0; round < 5; round++) {
        for (const key of ['ann', 'bob', 'cy']) {
          w.client.identify({ key });
          for (let i = 0; i < 10; i++) {
            const value = w.client.getBoolean('checkout', false);
            w.client.getBoolean('plain', false);
            if (round === 0 && i === 0) seen.push(`${key}:${value}`);
          }
        }
      }
      // A caller's default (the wrong type) and a context without a key are no exposures.
      w.client.getString('checkout', 'x');
      w.client.identify({});
      w.client.getBoolean('checkout', false);
      w.client.identify({ key: 'ann' });
      w.client.track('purchase');
      await w.client.flush();
      // Sent again, unchanged, with the next batch.
      w.client.identify({ key: 'dan' });
      for (let i = 0; i < 10; i++) w.client.getBoolean('checkout', false);
      await w.client.flush();
      return seen;
    });
    expect(served).toEqual(['ann:true', 'bob:true', 'cy:false']);

    // The last unit is exposed, and its batch sent, as the page goes away.
    await inPage(page, (w) => {
      w.client.identify({ key: 'eve' });
      w.client.getBoolean('checkout', false);
    });
    await page.goto('about:blank');
    await server.waitForExchange(
      (e) => e.method === 'POST' && (e.body as EventBatch).exposures?.some((x) => x.key === 'eve'),
      5000,
    );
    await page.close();

    const posts = batchPosts();
    const ids = posts.map((p) => (p.body as EventBatch).id);
    // The lost answer's batch went twice under one id; every batch got 202.
    expect(ids).toHaveLength(4);
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(3);
    expect(posts.map((p) => p.status)).toEqual([202, 202, 202, 202]);
    // Across the three batches, each unit once, with the variant it was served.
    const sent = posts.slice(1).flatMap((p) => (p.body as EventBatch).exposures ?? []);
    expect(sent.map((x) => `${x.flag}/${x.variant}/${x.key}`)).toEqual([
      'checkout/on/ann',
      'checkout/on/bob',
      'checkout/off/cy',
      'checkout/off/dan',
      'checkout/off/eve',
    ]);

    const environment = await environmentId();
    expect(await storedExposures()).toEqual([
      'checkout/off/cy',
      'checkout/off/dan',
      'checkout/off/eve',
      'checkout/on/ann',
      'checkout/on/bob',
    ]);
    expect(await trackEventsOf(server.db, environment)).toEqual([
      expect.objectContaining({ event: 'purchase', contextKey: 'ann' }),
    ]);
    expect(await batchesOf(server.db, environment)).toHaveLength(3);

    const results = await server.admin<{
      control: string;
      variants: { variant: string; units: number; conversions: number }[];
    }>('GET', '/projects/web/flags/checkout/environments/prod/results?metric=purchase&control=off');
    expect(results.control).toBe('off');
    expect(results.variants).toEqual([
      expect.objectContaining({ variant: 'on', units: 2, conversions: 1 }),
      expect.objectContaining({ variant: 'off', units: 3, conversions: 0 }),
    ]);
  });
});
