import type { Patch } from './types.js';

/** A part of a `patch` event that can make it unusable; `patch` when it is not an object at all. */
export type PatchPart = 'patch' | 'kind' | 'key' | 'version' | 'value';

/**
 * The part that makes a `patch` event unusable, or `undefined` when it can be applied: the one
 * check every engine and client makes before it looks at versions. Whether the patch is newer
 * than what is held is the holder's to tell. A part's name rather than a message: the browser
 * engine makes this check too, and a bundle pays for every message.
 */
export function patchProblem(patch: unknown): PatchPart | undefined {
  if (typeof patch !== 'object' || patch === null) return 'patch';
  const { kind, key, version, value } = patch as Record<string, unknown>;
  if (kind !== 'flag' && kind !== 'segment') return 'kind';
  if (typeof key !== 'string' || key === '') return 'key';
  if (!Number.isSafeInteger(version) || (version as number) < 0) return 'version';
  // A deletion, or the flag or segment the patch names.
  if (value !== null && (typeof value !== 'object' || (value as { key?: unknown }).key !== key)) return 'value';
  return undefined;
}

export const patchIsValid = (patch: unknown): patch is Patch => patchProblem(patch) === undefined;
