import type {
  Clock,
  EventStream,
  Http,
  HttpRequest,
  HttpResponse,
  Logger,
  Platform,
  Storage,
  StreamHandlers,
  StreamRequest,
} from './platform.js';
import type { SseEvent } from './sse-parser.js';

/** Fakes of the client's own ports, for unit tests: a clock moved by hand, scripted HTTP and streams. */

export class ManualClock implements Clock {
  private time = 1_000_000;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Delays of the pending timers from now. */
  delays(): number[] {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b);
  }
}

export interface OpenedStream {
  request: StreamRequest;
  handlers: StreamHandlers;
  closed: boolean;
  open(): void;
  send(event: string, data: unknown, id?: string): void;
  heartbeat(): void;
  end(status?: number): void;
}

export class ScriptedStream implements EventStream {
  readonly opened: OpenedStream[] = [];

  open(request: StreamRequest, handlers: StreamHandlers) {
    let lastEventId = '';
    const s: OpenedStream = {
      request,
      handlers,
      closed: false,
      open: () => {
        handlers.onOpen();
        handlers.onData();
      },
      send: (event, data, id) => {
        if (id !== undefined) lastEventId = id;
        handlers.onData();
        const e: SseEvent = { event, data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId };
        handlers.onEvent(e);
      },
      heartbeat: () => handlers.onData(),
      end: (status) => {
        s.closed = true;
        handlers.onClose(status === undefined ? { message: 'ended' } : { status, message: `status ${status}` });
      },
    };
    this.opened.push(s);
    return {
      close: () => {
        s.closed = true;
      },
    };
  }

  get last(): OpenedStream {
    const s = this.opened.at(-1);
    if (s === undefined) throw new Error('no stream was opened');
    return s;
  }
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

export class ScriptedHttp implements Http {
  readonly requests: HttpRequest[] = [];
  private readonly answers: Answer[] = [];
  /** What to answer when the script has run out. */
  fallback: Answer = new Error('connection refused');

  answer(...answers: Answer[]): void {
    this.answers.push(...answers);
  }

  async request(request: HttpRequest): Promise<HttpResponse> {
    this.requests.push(request);
    const a = this.answers.shift() ?? this.fallback;
    if (a instanceof Error) throw a;
    const headers = a.headers ?? {};
    return {
      status: a.status,
      header: (name) => headers[name],
      body: a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body),
    };
  }
}

export class MemoryStorage implements Storage {
  readonly data = new Map<string, string>();
  async get(key: string) {
    return this.data.get(key);
  }
  async set(key: string, value: string) {
    this.data.set(key, value);
  }
}

export class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  debug = (m: string) => void this.lines.push(`debug ${m}`);
  info = (m: string) => void this.lines.push(`info ${m}`);
  warn = (m: string) => void this.lines.push(`warn ${m}`);
  error = (m: string) => void this.lines.push(`error ${m}`);
}

export function fakePlatform(storage?: Storage) {
  const clock = new ManualClock();
  const stream = new ScriptedStream();
  const http = new ScriptedHttp();
  const logger = new RecordingLogger();
  // Jitter at the top of its window, so tests can reason about exact delays.
  const platform: Platform = { clock, stream, http, logger, random: () => 0.999999, ...(storage ? { storage } : {}) };
  return { platform, clock, stream, http, logger };
}

/** Lets promise callbacks (the fakes answer asynchronously, in microtasks) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}
