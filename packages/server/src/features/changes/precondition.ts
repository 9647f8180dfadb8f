import { AppError } from '../../errors.js';

/** The ETag of a row at this revision (or a flag configuration at this version): `"12"`. */
export const etagOf = (revision: number): string => `"${revision}"`;

/**
 * Refuses a write whose `If-Match` names another revision than the locked row's: the caller
 * edited what it read, and someone changed it since. Without `If-Match` the write goes ahead.
 */
export function assertRevision(what: string, current: number, ifMatch: number | undefined): void {
  if (ifMatch === undefined || ifMatch === current) return;
  throw new AppError('PRECONDITION_FAILED', `the ${what} is at revision ${current}, not ${ifMatch}`, {
    currentRevision: current,
    etag: etagOf(current),
  });
}
