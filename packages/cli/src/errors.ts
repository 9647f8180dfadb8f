/**
 * Exit codes of the CLI, one per kind of failure, so that a script can tell "the flag does not
 * exist" from "the token was refused" from "the server is down" without parsing messages.
 */
export const EXIT = {
  OK: 0,
  OTHER: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  AUTH: 5,
  INVALID: 6,
  UNAVAILABLE: 7,
} as const;

export const EXIT_HELP = `Exit codes:
  0  ok
  1  any other failure
  2  usage error (unknown command or option, missing argument, not logged in)
  3  not found (404)
  4  conflict: already exists or changed meanwhile (409, 412)
  5  authentication refused (401, 403)
  6  invalid input refused by the server (400, 413, 415, 422)
  7  server unavailable or unreachable (5xx, network)`;

/** A failure the user can fix by calling the command differently. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The server's `{error: {code, message, details}}`, with the status it came with. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The server could not be reached at all, or gave up before answering. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof UnreachableError) return EXIT.UNAVAILABLE;
  if (!(err instanceof ApiError)) return EXIT.OTHER;
  const s = err.status;
  if (s === 404) return EXIT.NOT_FOUND;
  if (s === 409 || s === 412) return EXIT.CONFLICT;
  if (s === 401 || s === 403) return EXIT.AUTH;
  if (s === 400 || s === 413 || s === 415 || s === 422) return EXIT.INVALID;
  if (s >= 500) return EXIT.UNAVAILABLE;
  return EXIT.OTHER;
}

/** One or more lines for stderr: the code, the message, and the field at fault when the server named one. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const lines = [`error: ${err.message} (${err.code}, HTTP ${err.status})`];
    const field = err.details.field;
    if (typeof field === 'string' && field !== '') lines.push(`  field: ${field}`);
    const issues = err.details.issues;
    if (Array.isArray(issues) && issues.length > 1) {
      for (const issue of issues as { path?: unknown; message?: unknown }[]) {
        lines.push(`  - ${String(issue.path ?? '')}: ${String(issue.message ?? '')}`);
      }
    }
    for (const [k, v] of Object.entries(err.details)) {
      if (k !== 'field' && k !== 'issues') lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    if (err.status === 401 || err.status === 403)
      lines.push('  (check the token: switchyard login, or SWITCHYARD_TOKEN)');
    return lines.join('\n');
  }
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}
