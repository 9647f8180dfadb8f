import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

/**
 * The HTTP client of webhook deliveries: keep-alive agents whose every connection resolves its
 * host through `lookup` (the egress policy's), so the address that was checked is the address
 * connected to. Node's own `http` rather than `fetch`: its agents take a `lookup`, and they
 * never follow redirects (a redirect would be a second, unchecked request).
 */
export class WebhookClient {
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent };

  constructor(lookup: LookupFunction) {
    this.agents = {
      'http:': new http.Agent({ keepAlive: true, lookup }),
      'https:': new https.Agent({ keepAlive: true, lookup }),
    };
  }

  /**
   * POSTs `body` to `url` and resolves with the answer's status once its headers arrive; the
   * answer's body is read and dropped, so that the connection can serve the next request.
   * Rejects with the connection's error, or the abort's when `signal` fires first.
   */
  post(url: URL, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
    const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
    const send = protocol === 'https:' ? https.request : http.request;
    return new Promise<number>((resolve, reject) => {
      const request = send(
        url,
        {
          method: 'POST',
          agent: this.agents[protocol],
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          signal,
        },
        (response) => {
          // Cut off while its body drains (`signal` fired): the status is known already.
          response.on('error', () => undefined);
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Closes the idle connections; requests in flight are cut off by their signals. */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}
