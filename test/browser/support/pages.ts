import type { Page } from 'playwright-core';
import { type Asset, html } from './page-server.js';

/**
 * A page that shows one boolean flag in `#<flag>` with the `<script>` bundle, and re-renders on
 * `change`. It records what its first, synchronous render showed (`firstPaint`), and exposes the
 * client as `client`.
 */
export function flagPage(flag: string, options: Record<string, unknown>): Asset {
  return html(`<p id="${flag}"></p>
<script src="/switchyard.iife.js"></script>
<script>
  const client = Switchyard.createClient(${JSON.stringify(options)});
  const el = document.getElementById(${JSON.stringify(flag)});
  const render = () => { el.textContent = String(client.getBoolean(${JSON.stringify(flag)}, false)); };
  render();
  window.firstPaint = { text: el.textContent, status: client.status };
  client.on('change', render);
  window.client = client;
</script>`);
}

/** Waits until `#id` shows `text`, at most `timeout` ms. */
export async function waitForText(page: Page, id: string, text: string, timeout: number): Promise<void> {
  await page.waitForFunction(
    ([i, t]) => (globalThis as unknown as DomLike).document.getElementById(i as string)?.textContent === t,
    [id, text],
    { timeout },
  );
}

/** Waits until the page's client reports `status`. */
export async function waitForStatus(page: Page, status: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction((s) => (globalThis as unknown as ClientPage).client.status === s, status, { timeout });
}

/** What the test pages hold, for the functions run inside them (the tests compile without DOM types). */
export interface DomLike {
  document: { getElementById(id: string): { textContent: string | null } | null };
  localStorage: { getItem(key: string): string | null; clear(): void };
  fetch(url: string, init?: { method?: string; keepalive?: boolean }): Promise<{ json(): Promise<unknown> }>;
  dispatchEvent(event: Event): boolean;
}

export interface ClientPage extends DomLike {
  client: import('@switchyard/sdk-browser').BrowserClient;
  firstPaint: { text: string; status: string };
  marker?: string;
  /** The `keepalive` option of each POST the page made, when a test records them. */
  keepalive?: (boolean | undefined)[];
}
