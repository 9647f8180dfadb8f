import type { Http } from '@switchyard/core';

/** Ruleset polls and event batches over the global `fetch`, which decompresses gzip and brotli itself. */
export function nodeHttp(userAgent: string): Http {
  return {
    async request(request) {
      const response = await fetch(request.url, {
        method: request.method,
        headers: { ...request.headers, 'user-agent': userAgent },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      const body = response.status === 304 ? '' : await response.text();
      return { status: response.status, header: (name) => response.headers.get(name) ?? undefined, body };
    },
  };
}
