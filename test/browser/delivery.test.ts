import type { EventBatch, Ruleset } from '@switchyard/core';
import { createClient as createNodeClient } from '@switchyard/sdk-node';
import type { Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Built, buildIife, type Chromium, launchChromium } from './support/chromium.js';
import { FlagServer, webProject } from './support/flag-server.js';
import { PageServer } from './support/page-server.js';
import { type ClientPage, flagPage, waitForStatus, waitForText } from './support/pages.js';

let server: FlagServer;
let web: Awaited<ReturnType<typeof webProject>>;
let pages: PageServer;
let chrome: Chromium;
let bundle: Built;
/** What the test pages pass to `createClient`. */
let pageOptions: Record<string, unknown>;
/** A client key of `web/prod` that was revoked. */
let revokedKey: string;

/** Quick retries so that a test sees a recovery in seconds, not the production defaults' minutes. */
const RETRIES = { initialRetryDelayMs: 100, maxRetryDelayMs: 400, flushIntervalMs: 60_000 };

beforeAll(async () => {
  [bundle, server] = await Promise.all([buildIife(), FlagServer.start()]);
  web = await webProject(server);
  await web.booleanFlag('banner', { clientSide: true, serve: 'off' });
  await web.booleanFlag('billing', { clientSide: false, serve: 'on' });
  revokedKey = await web.revokedClientKey();
  pageOptions = { clientKey: web.clientKey, baseUrl: server.url, context: { key: 'ada' }, ...RETRIES };
  pages = await PageServer.start({
    '/': flagPage('banner', pageOptions),
    '/promo': flagPage('promo', pageOptions),
    // Shows a flag that does not exist, so that the tests' own evaluations are all that is counted.
    '/quiet': flagPage('nothing', { ...pageOptions, cache: false }),
    '/revoked': flagPage('banner', { ...pageOptions, clientKey: revokedKey }),
    '/switchyard.iife.js': { type: 'text/javascript; charset=utf-8', body: { file: bundle.file } },
  });
  chrome = await launchChromium();
});

afterEach(async () => {
  await server.ensureRunning();
});

afterAll(async () => {
  await chrome?.close();
  await bundle?.remove();
  await pages?.close();
  await server?.close();
});

async function open(path = '/'): Promise<Page> {
  const page = await chrome.context.newPage();
  await page.goto(`${pages.url}${path}`);
  return page;
}

/**
 * Runs `fn` inside the page with its globals and a JSON argument. It is sent as source text, so
 * it may use nothing from the test's scope.
 */
const inPage = <T, A = undefined>(page: Page, fn: (w: ClientPage, arg: A) => T, arg?: A) =>
  page.evaluate(`(${fn.toString()})(globalThis, ${JSON.stringify(arg ?? null)})`) as Promise<Awaited<T>>;

describe('the browser SDK in Chromium', () => {
  it('shows a flag, and shows its new value within a second of a change through the API, without a reload', async () => {
    const page = await open();
    await waitForStatus(page, 'ready');
    expect(await page.textContent('#banner')).toBe('false');
    await inPage(page, (w) => {
      w.marker = 'still the same document';
    });
    await web.serve('banner', 'on');
    await waitForText(page, 'banner', 'true', 1000);
    expect(await inPage(page, (w) => w.marker)).toBe('still the same document');
    await page.close();
  });

  it('renders the cached flags on the next page load, before the server has answered', async () => {
    const page = await open();
    expect(await inPage(page, (w) => w.firstPaint)).toEqual({ text: 'true', status: 'initializing' });
    await waitForStatus(page, 'ready');
    expect(await page.textContent('#banner')).toBe('true');
    await page.close();
  });

  it('keeps its values while the server is away, and resumes from its last version when it returns', async () => {
    const page = await open();
    await waitForStatus(page, 'ready');
    const version = await inPage(page, (w) => w.client.version);
    const resumedFrom: (string | undefined)[] = [];
    page.on('request', (request: Request) => {
      const url = new URL(request.url());
      if (url.pathname === '/sdk/v1/stream') resumedFrom.push(url.searchParams.get('lastEventId') || undefined);
    });

    await server.stop();
    await waitForStatus(page, 'stale');
    expect(await page.textContent('#banner')).toBe('true');
    expect(await inPage(page, (w) => w.client.getBoolean('banner', false))).toBe(true);

    await server.restart();
    await waitForStatus(page, 'ready');
    await web.serve('banner', 'off');
    await waitForText(page, 'banner', 'false', 5000);
    expect(resumedFrom).toContain(String(version));
    expect(resumedFrom).not.toContain(undefined);
    await page.close();
  });

  it('renders the cached values on a reload while the server is down, and recovers when it returns', async () => {
    const page = await open();
    await waitForStatus(page, 'ready');
    // A value other than the getter's default, so that only the cache can explain it.
    await web.serve('banner', 'on');
    await waitForText(page, 'banner', 'true', 1000);

    await server.stop();
    await page.reload();
    expect(await inPage(page, (w) => w.firstPaint)).toEqual({ text: 'true', status: 'initializing' });
    await waitForStatus(page, 'stale');
    expect(await page.textContent('#banner')).toBe('true');

    await server.restart();
    await web.serve('banner', 'off');
    await waitForText(page, 'banner', 'false', 10_000);
    await waitForStatus(page, 'ready');
    await page.close();
  });

  it("serves the Node SDK's allFlags output as a bootstrap before the server answers, then the server's values", async () => {
    // A server-rendered page: the Node SDK evaluates for this user, then the flag changes
    // before the browser connects.
    await web.serve('banner', 'on');
    const node = createNodeClient({ sdkKey: web.serverKey, baseUrl: server.url, sendEvents: false });
    await node.waitForReady();
    const bootstrap = node.allFlags({ key: 'ada' }, { clientSideOnly: true });
    await node.close();
    expect(bootstrap).toEqual({ banner: true });
    await web.serve('banner', 'off');
    pages.set('/bootstrap', flagPage('banner', { ...pageOptions, bootstrap, cache: false }));

    const page = await open('/bootstrap');
    expect(await inPage(page, (w) => w.firstPaint)).toEqual({ text: 'true', status: 'initializing' });
    await waitForText(page, 'banner', 'false', 5000);
    await page.close();
  });

  it('never lets the client key obtain a server-only flag: not from the ruleset, a getter, the cache or the stream', async () => {
    // The server-only flag exists and is on: a server key reads it.
    const full = (await (
      await fetch(`${server.url}/sdk/v1/ruleset`, { headers: { authorization: `Bearer ${web.serverKey}` } })
    ).json()) as Ruleset;
    expect(full.flags.map((f) => f.key).sort()).toEqual(['banner', 'billing']);

    const page = await open();
    await waitForStatus(page, 'ready');
    const seen = await inPage(
      page,
      async (w, a) => {
        const ruleset = (await (await w.fetch(`${a.url}/sdk/v1/ruleset?key=${a.key}`)).json()) as Ruleset;
        return {
          sent: ruleset.flags.map((f) => f.key),
          detail: w.client.getDetail('billing', false),
          all: Object.keys(w.client.allFlags()),
          cached: w.localStorage.getItem(`switchyard:${a.key}`),
        };
      },
      { url: server.url, key: web.clientKey },
    );
    expect(seen.sent).toEqual(['banner']);
    expect(seen.detail).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(seen.all).toEqual(['banner']);
    expect(seen.cached).toContain('"banner"');
    expect(seen.cached).not.toContain('billing');
    await page.close();

    // A flag that stops being client-side leaves the page at once, through the stream.
    await web.booleanFlag('promo', { clientSide: true, serve: 'on' });
    const promo = await open('/promo');
    await waitForText(promo, 'promo', 'true', 5000);
    await server.admin('PATCH', '/projects/web/flags/promo', { clientSide: false });
    await waitForText(promo, 'promo', 'false', 1000);
    expect(await inPage(promo, (w) => w.client.getDetail('promo', true).errorCode)).toBe('FLAG_NOT_FOUND');
    await promo.close();
  });

  it('re-evaluates on identify inside the page, without a request', async () => {
    await web.booleanFlag('staff', {
      clientSide: true,
      serve: 'off',
      config: { targets: [{ variant: 'on', values: ['ada'] }] },
    });
    const page = await open('/promo');
    await waitForStatus(page, 'ready');
    const requests: string[] = [];
    page.on('request', (request: Request) => requests.push(request.url()));
    const result = await inPage(page, (w) => {
      const changes: string[][] = [];
      w.client.on('change', (event) => changes.push(event.flags));
      const before = w.client.getBoolean('staff', false);
      w.client.identify({ key: 'bob' });
      return { before, after: w.client.getBoolean('staff', true), changes };
    });
    expect(result).toEqual({ before: true, after: false, changes: [['staff']] });
    expect(requests).toEqual([]);
    await page.close();
  });

  it('sends evaluation counts and track events when the page goes away', async () => {
    const page = await open();
    await waitForStatus(page, 'ready');
    await inPage(page, (w) => {
      w.client.track('checkout', 42);
      w.client.getBoolean('banner', false);
    });
    // A keep-alive request outlives the page, so the server, not the page, is where to see it.
    await page.goto('about:blank');
    const sent = await server.waitForExchange(
      (e) =>
        e.method === 'POST' &&
        e.url.startsWith('/sdk/v1/events?key=') &&
        (e.body as EventBatch).events.some((t) => t.event === 'checkout'),
      5000,
    );
    expect(sent.status).toBe(202);
    const batch = sent.body as EventBatch;
    expect(batch.events).toEqual([expect.objectContaining({ event: 'checkout', key: 'ada', value: 42 })]);
    expect(batch.evaluations).toContainEqual(expect.objectContaining({ flag: 'banner', reason: 'STATIC' }));
    await page.close();
  });

  it('posts each flag, variant and reason with its count, and track events, in a batch the server stores', async () => {
    await web.booleanFlag('counted', { clientSide: true, serve: 'on' });
    const page = await open('/quiet');
    await waitForStatus(page, 'ready');
    await inPage(page, async (w) => {
      for (let i = 0; i < 3; i++) w.client.getBoolean('counted', false);
      w.client.getDetail('counted', 'x', 'string');
      w.client.getNumber('missing', 1);
      w.client.track('signup');
      w.client.track('purchase', 9.5);
      await w.client.flush();
    });
    const sent = await server.waitForExchange(
      (e) => e.method === 'POST' && (e.body as EventBatch).events.some((t) => t.event === 'purchase'),
      5000,
    );
    expect(sent.status).toBe(202);
    const batch = sent.body as EventBatch;
    expect(batch.evaluations).toEqual(
      expect.arrayContaining([
        { flag: 'counted', variant: 'on', reason: 'STATIC', count: 3 },
        { flag: 'counted', variant: null, reason: 'ERROR', count: 1 },
        { flag: 'missing', variant: null, reason: 'ERROR', count: 1 },
      ]),
    );
    expect(batch.events).toEqual([
      { event: 'signup', key: 'ada', timestamp: expect.any(Number) },
      { event: 'purchase', key: 'ada', value: 9.5, timestamp: expect.any(Number) },
    ]);
    expect(batch.dropped).toEqual({ evaluations: 0, events: 0 });
    expect(batch.window.end).toBeGreaterThanOrEqual(batch.window.start);
    // The page is on another origin: the key in the URL, the resume point in the query and the
    // batch as text/plain keep every request simple, without a CORS preflight.
    expect(server.exchanges.filter((e) => e.method === 'OPTIONS')).toEqual([]);
    await page.close();
  });

  it('sends the batch with keep-alive when the page is hidden or left', async () => {
    const page = await open('/quiet');
    await waitForStatus(page, 'ready');
    const keepalive = await inPage(page, async (w) => {
      const send = w.fetch.bind(w);
      w.keepalive = [];
      w.fetch = (url, init) => {
        if (init?.method === 'POST') w.keepalive?.push(init.keepalive);
        return send(url, init);
      };
      w.client.track('hidden');
      w.dispatchEvent(new Event('pagehide'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      return w.keepalive;
    });
    expect(keepalive).toEqual([true]);
    await server.waitForExchange(
      (e) => e.method === 'POST' && (e.body as EventBatch).events.some((t) => t.event === 'hidden'),
      5000,
    );
    await page.close();
  });

  it('serves a bootstrap rather than the cache, then the server', async () => {
    const page = await open();
    await waitForStatus(page, 'ready');
    const cached = await page.textContent('#banner');
    await page.close();
    const other = cached !== 'true';
    pages.set('/bootstrapped', flagPage('banner', { ...pageOptions, bootstrap: { banner: other } }));
    const bootstrapped = await open('/bootstrapped');
    expect(await inPage(bootstrapped, (w) => w.firstPaint)).toEqual({ text: String(other), status: 'initializing' });
    await waitForText(bootstrapped, 'banner', String(cached), 5000);
    await bootstrapped.close();
  });

  it('stops for good when the server refuses the key: failed, UNAUTHORIZED, one stream, one probe, no analytics', async () => {
    const page = await open('/revoked');
    const code = await inPage(page, (w) =>
      w.client.waitForReady().then(
        () => 'ready',
        (err: { code: string }) => err.code,
      ),
    );
    expect(code).toBe('UNAUTHORIZED');
    expect(await inPage(page, (w) => w.client.status)).toBe('failed');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await page.goto('about:blank');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const requests = server.exchanges.filter((e) => e.url.includes(revokedKey));
    expect(requests.map((e) => [e.method, new URL(e.url, 'http://x').pathname, e.status])).toEqual([
      ['GET', '/sdk/v1/stream', 401],
      ['HEAD', '/sdk/v1/ruleset', 401],
    ]);
    await page.close();
  });
});
