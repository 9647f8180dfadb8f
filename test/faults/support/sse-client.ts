import { type ClientRequest, get, type IncomingMessage } from 'node:http';
import { SseParser } from '@switchyard/core';

/** One SSE event as a client dispatches it, with when it arrived (`performance.now()`). */
export interface SseEvent {
  event: string;
  data: string;
  /** The stream's last event id once this event was dispatched (ids carry over), if any. */
  id: number | undefined;
  at: number;
}

/**
 * A bare `GET /sdk/v1/stream` client on raw `http` (no SDK, no fetch): light enough to hold a
 * thousand at once. It keeps every event it dispatched, the status of every connection it
 * opened, and the last event id, which it sends as `Last-Event-ID` when it connects again.
 * With `reconnect`, a connection that ends is opened again at once, as an SDK does.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly statuses: number[] = [];
  /** Connection attempts that failed before an answer (refused, reset). */
  failures = 0;
  lastEventId: number | undefined;
  private request: ClientRequest | undefined;
  private response: IncomingMessage | undefined;
  private stopped = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly baseUrl: () => string,
    private readonly token: string,
    private readonly reconnect = false,
  ) {}

  get connected(): boolean {
    return this.response !== undefined;
  }

  /** The local port of the open connection: the server's side sees it as the remote port. */
  get localPort(): number | undefined {
    return this.response === undefined ? undefined : this.request?.socket?.localPort;
  }

  /** Opens the stream; resolves with the answer's status once its head has arrived. */
  connect(): Promise<number> {
    this.stopped = false;
    return new Promise((resolve) => {
      const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
      if (this.lastEventId !== undefined) headers['last-event-id'] = String(this.lastEventId);
      const req = get(`${this.baseUrl()}/sdk/v1/stream`, { headers, agent: false });
      this.request = req;
      let answered = false;
      const ended = () => {
        if (this.request !== req) return;
        this.request = undefined;
        this.response = undefined;
        this.notify();
        if (!answered) {
          answered = true;
          this.failures++;
          resolve(0);
        }
        if (this.reconnect && !this.stopped) setTimeout(() => void this.connect(), answered ? 0 : 50);
      };
      req.on('error', ended);
      req.on('close', ended);
      req.on('response', (res) => {
        answered = true;
        this.statuses.push(res.statusCode ?? 0);
        resolve(res.statusCode ?? 0);
        if (res.statusCode !== 200) {
          res.resume();
          return;
        }
        this.response = res;
        res.setEncoding('utf8');
        // The SDKs' own parser: the events are what an SDK would see.
        const parser = new SseParser((e) => {
          const id = e.lastEventId === '' ? undefined : Number(e.lastEventId);
          if (id !== undefined) this.lastEventId = id;
          this.events.push({ event: e.event, data: e.data, id, at: performance.now() });
        });
        res.on('data', (chunk: string) => {
          parser.feed(chunk);
          this.notify();
        });
        res.on('error', ended);
        res.on('close', ended);
      });
    });
  }

  /** Events of one type, their data parsed. */
  of<T = Record<string, unknown>>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  /**
   * The ruleset this client holds: its last `put` with every later patch applied, as an SDK
   * does. Flags by key.
   */
  ruleset(): { version: number | undefined; flags: Map<string, Record<string, unknown>> } {
    let version: number | undefined;
    const flags = new Map<string, Record<string, unknown>>();
    for (const e of this.events) {
      const data = JSON.parse(e.data) as Record<string, unknown>;
      if (e.event === 'put') {
        flags.clear();
        for (const f of data.flags as Record<string, unknown>[]) flags.set(f.key as string, f);
        version = data.version as number;
      } else if (e.event === 'patch' && data.kind === 'flag') {
        if (data.value === null) flags.delete(data.key as string);
        else flags.set(data.key as string, data.value as Record<string, unknown>);
      }
      if (e.id !== undefined) version = e.id;
    }
    return { version, flags };
  }

  /** Waits until `done` holds; fails after `timeoutMs` saying `what`. */
  until(done: (client: SseClient) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (done(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting until ${what}; last event id ${this.lastEventId}`));
      }, timeoutMs);
      const check = () => {
        if (!done(this)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** Closes the stream and stops reconnecting. */
  close(): void {
    this.stopped = true;
    const req = this.request;
    this.request = undefined;
    this.response = undefined;
    req?.destroy();
  }
}
