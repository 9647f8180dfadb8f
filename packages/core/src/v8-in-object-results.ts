import type { Result } from './flag-walk.js';
import type { Reason } from './reasons.js';
import type { FlagMetadata, FlagValue } from './types.js';

/**
 * V8-shaped: a served result built as one object literal per shape, frozen.
 *
 * V8 gives a literal's properties room inside the object; properties added one by one after
 * creation (`result.ruleId = ...`) go to a separate, over-allocated property store, in every one
 * of the results a compiled ruleset keeps (several per flag). So each of the four shapes is
 * spelled out whole, even though one conditional spread would say the same.
 *
 * Justified by the memory of a client holding 1 000 flags in `pnpm bench sdk-node`; results
 * are shared by every evaluation, so `pnpm bench evaluation` does not see it either way.
 */
export function frozenResult(
  value: FlagValue | undefined,
  variant: string,
  reason: Reason,
  ruleId: string | undefined,
  metadata: Readonly<FlagMetadata> | undefined,
): Result {
  let result: Result;
  if (ruleId === undefined) {
    result = metadata === undefined ? { value, variant, reason } : { value, variant, reason, flagMetadata: metadata };
  } else {
    result =
      metadata === undefined
        ? { value, variant, reason, ruleId }
        : { value, variant, reason, ruleId, flagMetadata: metadata };
  }
  return Object.freeze(result);
}
