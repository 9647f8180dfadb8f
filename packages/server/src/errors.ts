/** Stable error codes of the API, each with the HTTP status it is answered with. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  /** A personal token past the expiry it was made with. */
  TOKEN_EXPIRED: 401,
  /** The person the credentials belong to was disabled by the organisation owner. */
  USER_DISABLED: 401,
  FORBIDDEN: 403,
  /** A cookie-authenticated write without its session's CSRF token. */
  CSRF: 403,
  /** Someone else set the person's password: they must choose their own first (`PUT /api/v1/me/password`). */
  PASSWORD_CHANGE_REQUIRED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** The owner tried to disable or delete their own account. */
  SELF_LOCKOUT: 409,
  /** The change would leave the organisation without an enabled owner. */
  LAST_OWNER: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_CONFIG: 422,
  CATASTROPHIC_BACKTRACKING: 422,
  /** A webhook URL the server refuses to call: a private, loopback or link-local address, credentials. */
  WEBHOOK_URL_FORBIDDEN: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The one error type of the server. Services throw it; the error handler turns it into
 * `{error: {code, message, details}}` with its status.
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string, key: string) =>
  new AppError('NOT_FOUND', `${what} ${JSON.stringify(key)} not found`);

/** The SQLSTATE of a Postgres error, looking through drizzle's wrapping. */
export function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
/** Newer Postgres versions (PGlite's among them) raise this instead of 23503 for an `on delete restrict` key. */
export const RESTRICT_VIOLATION = '23001';

/** Whether a delete failed because rows of another table still refer to the deleted row. */
export function isStillReferenced(err: unknown): boolean {
  const state = sqlState(err);
  return state === FOREIGN_KEY_VIOLATION || state === RESTRICT_VIOLATION;
}

/**
 * SQLSTATEs that say Postgres cannot serve now, not that the request was wrong: connection
 * exceptions (08), insufficient resources (53: too many connections, disk full), a statement
 * cancelled by `statement_timeout` (57014), a shutdown or a server still starting (57P0x), a
 * session ended for idling in its transaction (25P03).
 */
const UNAVAILABLE_STATE = /^(08...|53...|57014|57P0.|25P03)$/;

/** Socket errors of the connection to Postgres. */
const UNAVAILABLE_SYSCALL = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/;

/**
 * What node-postgres throws, without a code, when Postgres does not answer: a connection that
 * timed out or died, a query whose answer never came, a pool with no connection to lend.
 */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout expired)/;

/** Whether `err` (or what it wraps) means Postgres is unreachable, stalled or overloaded: a 503, not a 500. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_STATE.test(code) || UNAVAILABLE_SYSCALL.test(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
