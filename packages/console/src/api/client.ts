/** A refusal of the management API: `{error: {code, message, details}}` and its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The field the API named as at fault (`rules[0].clauses[1].op`), or '' when it named none. */
  get field(): string {
    return typeof this.details.field === 'string' ? this.details.field : '';
  }
}

/** Anything thrown, as an `ApiError`: what is not the API's refusal shows with the code CLIENT. */
export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err), {});
}

export interface Answer<T> {
  body: T;
  /** The `ETag` header, unquoted: the version or revision to send back as `If-Match`. */
  etag: string | undefined;
}

export interface CallOptions {
  body?: unknown;
  ifMatch?: string | number | undefined;
  /** Shown in the audit log as the change's reason. */
  reason?: string;
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => undefined;

/** The session's CSRF token (from sign-in or `GET /me`): cookie-authenticated writes must send it. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** What to do when the API says the session is gone (401): show the sign-in page. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One call of the management API with the session cookie; throws an `ApiError` for any refusal. */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (WRITES.has(method) && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
  if (options.reason !== undefined && options.reason !== '') headers['x-change-reason'] = options.reason;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the server cannot be reached', {});
  }
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : safeJson(text);
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })?.error;
    const failure = new ApiError(
      res.status,
      error?.code ?? 'HTTP_ERROR',
      error?.message ?? `${res.status} ${res.statusText}`,
      error?.details ?? {},
    );
    if (res.status === 401 && path !== '/session') onSignedOut();
    throw failure;
  }
  const etag = res.headers.get('etag')?.replace(/^W\//, '').replaceAll('"', '');
  return { body: parsed as T, etag };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const get = async <T>(path: string): Promise<T> => (await call<T>('GET', path)).body;

/** `encodeURIComponent` for one path segment (keys are safe already; this keeps it so). */
export const seg = encodeURIComponent;
