/**
 * The last ruleset in `localStorage`. `localStorage` may be absent or throw (private modes,
 * sandboxed frames, a full quota): then nothing is cached, and the flags still work.
 */

/** Read synchronously, so that the first getter call of a page load serves it. Throws when there is nothing (readable). */
export const readCache = (key: string): unknown => JSON.parse(localStorage.getItem(key) as string);

export function writeCache(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Uncached, as above.
  }
}
