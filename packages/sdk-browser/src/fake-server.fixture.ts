import type { Flag, Patch, Ruleset } from '@switchyard/core';
import { EventSource } from 'eventsource';
import { vi } from 'vitest';
import { clientFlag } from './flags.fixture.js';

/** One stream request the fake server answered with 200, which a test writes to. */
export interface FakeStream {
  url: string;
  lastEventId: string | undefined;
  /** Sends raw text or bytes (any framing, any split). */
  send(chunk: string | Uint8Array): void;
  /** Ends the response the way a server closing it would. */
  end(): void;
  /** Whether the client aborted it. */
  readonly aborted: boolean;
}

export interface FakePost {
  url: string;
  body: Record<string, unknown>;
  /** The headers the client set (none: a string body goes as text/plain). */
  headers: HeadersInit | undefined;
  keepalive: boolean | undefined;
}

/** Lets pending requests, reads and promise callbacks run (all in memory: promise jobs only; timers stay fake). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** Advances the fake clock by `ms`, letting what it wakes run. */
export async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

/**
 * `fetch` as the flag server would answer it, installed as the global one, with fake timers, and
 * a spec-following `EventSource` (the `eventsource` package) reading its streams through that
 * `fetch`. Each stream request takes the next planned answer (`200` by default; a status; or
 * `'down'` for a network error), and a `HEAD` of the ruleset gets what the last stream request
 * got (the same server). POSTs are recorded and answered with `postStatus`. Also installs
 * `addEventListener` and `removeEventListener` as a page's, recording the listeners.
 */
export function fakeServer() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const streams: FakeStream[] = [];
  /** When each stream request was made, by the fake clock. */
  const requests: number[] = [];
  const posts: FakePost[] = [];
  /** When each `HEAD` of the ruleset was made. */
  const probes: number[] = [];
  const plan: (number | 'down')[] = [];
  let lastAnswer: number | 'down' = 200;
  const pageListeners = new Map<string, Set<() => void>>();
  const server = {
    streams,
    requests,
    probes,
    posts,
    postStatus: 202,
    /** What the next stream requests get, in order. */
    plan(...answers: (number | 'down')[]) {
      plan.push(...answers);
    },
    get last(): FakeStream {
      const stream = streams.at(-1);
      if (stream === undefined) throw new Error('no stream was opened');
      return stream;
    },
    /** Fires a window event (`pagehide`, `visibilitychange`) at the listeners the client added. */
    fire(type: string) {
      for (const listener of pageListeners.get(type) ?? []) listener();
    },
    listenerCount: () => [...pageListeners.values()].reduce((n, set) => n + set.size, 0),
  };
  vi.stubGlobal('EventSource', EventSource);
  vi.stubGlobal('fetch', async (input: string | URL, init: RequestInit = {}) => {
    const url = String(input);
    if (init.method === 'POST') {
      posts.push({ url, body: JSON.parse(init.body as string), headers: init.headers, keepalive: init.keepalive });
      return new Response(null, { status: server.postStatus });
    }
    if (init.method === 'HEAD') {
      probes.push(Date.now());
      if (lastAnswer === 'down') throw new TypeError('fetch failed');
      return new Response(null, { status: lastAnswer });
    }
    requests.push(Date.now());
    const answer = plan.shift() ?? 200;
    lastAnswer = answer;
    if (answer === 'down') throw new TypeError('fetch failed');
    if (answer !== 200) return new Response(null, { status: answer });
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let aborted = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    init.signal?.addEventListener('abort', () => {
      aborted = true;
      try {
        controller.error(new DOMException('aborted', 'AbortError'));
      } catch {
        // Already ended by the test.
      }
    });
    const encoder = new TextEncoder();
    streams.push({
      url,
      lastEventId: new URL(url).searchParams.get('lastEventId') || undefined,
      send: (chunk) => controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk),
      end: () => controller.close(),
      get aborted() {
        return aborted;
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  });
  const listen = (add: boolean) => (type: string, listener: () => void) => {
    const set = pageListeners.get(type) ?? new Set();
    pageListeners.set(type, set);
    if (add) set.add(listener);
    else set.delete(listener);
  };
  vi.stubGlobal('addEventListener', listen(true));
  vi.stubGlobal('removeEventListener', listen(false));
  return server;
}

export const rulesetOf = (version: number, flags: Flag[], environment = 'web/prod'): Ruleset => ({
  schemaVersion: 1,
  environment,
  version,
  flags,
  segments: [],
});

/** A boolean flag serving `variant` to everyone, at `version`. */
export const serving = (key: string, variant: 'on' | 'off', version = 1): Flag =>
  clientFlag(key, { defaultServe: { variant }, version });

export const putEvent = (ruleset: Ruleset) =>
  `event: put\nid: ${ruleset.version}\ndata: ${JSON.stringify(ruleset)}\n\n`;

/** A patch event; `last` is whether it is the last of its version, which alone carries the id. */
export const patchEvent = (patch: Patch, last = true) =>
  `event: patch\ndata: ${JSON.stringify(patch)}\n${last ? `id: ${patch.version}\n` : ''}\n`;
