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
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new UnreachableError(`cannot reach ${this.base}: ${why}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    if (error !== undefined && typeof error.code === 'string') {
      const details =
        error.details !== null && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : {};
      throw new ApiError(res.status, error.code, String(error.message ?? error.code), details);
    }
    // Not the API's shape: a proxy or load balancer answered (a 502 page, say).
    throw new ApiError(res.status, `HTTP_${res.status}`, `${method} ${path}: HTTP ${res.status} ${res.statusText}`, {});
  }
}

/** A path segment, escaped: keys are validated by the server, this keeps a stray `/` from changing the route. */
export const seg = (s: string) => encodeURIComponent(s);
