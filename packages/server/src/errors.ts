/** Stable error codes of the API, each with the HTTP status it is answered with. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_CONFIG: 422,
  CATASTROPHIC_BACKTRACKING: 422,
  INTERNAL: 500,
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
