import { request } from 'node:http';
import { type SseEvent, SseParser } from '@switchyard/core';

/** A real SSE client over a real socket, recording every event, for tests. */
export class TestSseClient {
  readonly events: SseEvent[] = [];
  private waiters: (() => void)[] = [];
  private closeRequest: () => void = () => undefined;
  ended = false;

  static connect(
    url: string,
    options: { token?: string; lastEventId?: number; headers?: Record<string, string> } = {},
  ): Promise<TestSseClient> {
    const client = new TestSseClient();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
      const req = request(url, { headers }, (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => reject(new Error(`stream answered ${res.statusCode}: ${body}`)));
          return;
        }
        res.setEncoding('utf8');
        const parser = new SseParser((e) => {
          client.events.push(e);
          client.wake();
        });
        res.on('data', (chunk: string) => parser.feed(chunk));
        res.on('close', () => {
          client.ended = true;
          client.wake();
        });
        resolve(client);
      });
      req.on('error', reject);
      client.closeRequest = () => req.destroy();
      req.end();
    });
  }

  /** Resolves once `predicate` holds for the events so far; rejects after `timeoutMs`. */
  async waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out; ${this.events.length} events: ${JSON.stringify(this.events.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.closeRequest();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
