import type { Http } from '@switchyard/core';

/**
 * Keep-alive requests share a 64 KiB budget per page; a larger analytics batch goes as an
 * ordinary request rather than being refused outright.
 */
const KEEPALIVE_LIMIT = 60_000;

/**
 * The `Http` port over `fetch`. POSTs (analytics) are sent with `keepalive`, so a batch flushed
 * while the page is being hidden or unloaded still reaches the server.
 */
export const fetchHttp: Http = {
  request({ method, url, headers, body, timeoutMs }) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    const init: RequestInit = { method, headers, signal: abort.signal, cache: 'no-store' };
    if (body !== undefined) {
      init.body = body;
      init.keepalive = body.length < KEEPALIVE_LIMIT;
    }
    return fetch(url, init)
      .then(async (res) => ({
        status: res.status,
        header: (name: string) => res.headers.get(name) ?? undefined,
        body: await res.text(),
      }))
      .finally(() => clearTimeout(timer));
  },
};
