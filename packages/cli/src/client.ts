import { type SseEvent, SseParser } from '@switchyard/core';
import { ApiError, UnreachableError } from './errors.js';

export type Query = Record<string, string | number | undefined>;

/** The management API (`/api/v1`) with one token. Every failure is an ApiError or an UnreachableError. */
export class Client {
  private readonly base: string;

  constructor(
    url: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = `${url.replace(/\/+$/, '')}/api/v1`;
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** `ifMatch`: the version or revision the change was computed from; a newer one on the server gets a 412. */
  patch<T>(path: string, body: unknown, ifMatch?: number): Promise<T> {
    return this.request<T>('PATCH', path, body, {}, ifMatch);
  }

  async request<T>(method: string, path: string, body?: unknown, query: Query = {}, ifMatch?: number): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size > 0 ? `?${params}` : '';
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}${qs}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    const text = await res.text();
    const parsed = parseJson(text);
    if (res.ok) return parsed as T;
    throw apiErrorOf(res, parsed, `${method} ${path}`);
  }

  /**
   * Follows a Server-Sent Events stream of the API from `lastEventId`, calling `onEvents` with
   * the events of each chunk read, until the stream ends (the server went away); returns the
   * last event id seen. A refusal is an ApiError, as for any request.
   */
  async stream(path: string, lastEventId: string, onEvents: (events: SseEvent[]) => void): Promise<string> {
    const connecting = new AbortController();
    const timer = setTimeout(() => connecting.abort(), this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'text/event-stream',
          ...(lastEventId === '' ? {} : { 'last-event-id': lastEventId }),
        },
        signal: connecting.signal,
      });
    } catch (err) {
      throw unreachable(this.base, err);
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || res.body === null) throw apiErrorOf(res, parseJson(await res.text()), `GET ${path}`);
    let last = lastEventId;
    let batch: SseEvent[] = [];
    const parser = new SseParser((event) => {
      batch.push(event);
      last = event.lastEventId;
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        if (batch.length > 0) onEvents(batch);
        batch = [];
      }
    } catch {
      // The connection broke: the caller reconnects from `last`.
    }
    return last;
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function unreachable(base: string, err: unknown): UnreachableError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new UnreachableError(`cannot reach ${base}: ${why}`);
}

/** The API's `{error: {code, message, details}}` as an ApiError, or one naming the status when something else answered. */
function apiErrorOf(res: Response, parsed: unknown, what: string): ApiError {
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error !== undefined && typeof error.code === 'string') {
    const details =
      error.details !== null && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : {};
    return new ApiError(res.status, error.code, String(error.message ?? error.code), details);
  }
  // Not the API's shape: a proxy or load balancer answered (a 502 page, say).
  return new ApiError(res.status, `HTTP_${res.status}`, `${what}: HTTP ${res.status} ${res.statusText}`, {});
}

/** A path segment, escaped: keys are validated by the server, this keeps a stray `/` from changing the route. */
export const seg = (s: string) => encodeURIComponent(s);
