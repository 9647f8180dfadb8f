import { caught, list, str } from './config-error.js';
import { type CompiledClause, compileClause, segmentKeys } from './operators.js';
import type { CompiledSegment } from './scope.js';

/** Shared by every empty list of compiled flags and segments. */
export const NONE: readonly never[] = Object.freeze([]);

/**
 * A segment that cannot be compiled matches nobody: flags that use it keep working, and the
 * server refuses such segments before they are ever stored.
 */
export function compileSegment(input: unknown, fallbackKey: string): CompiledSegment {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const key = typeof raw.key === 'string' ? raw.key : fallbackKey;
  const version = typeof raw.version === 'number' ? raw.version : 0;
  try {
    const included = keySet(raw.included);
    const excluded = keySet(raw.excluded);
    const rules = list(raw.rules ?? []).map((rule) => clauses((rule as { clauses?: unknown } | null)?.clauses));
    return { key, version, included, excluded, rules, invalid: false };
  } catch (err) {
    return { key, version, included: undefined, excluded: undefined, rules: NONE, invalid: caught(err) };
  }
}

/** The clauses of a rule, all of which must match. */
export function clauses(input: unknown): readonly CompiledClause[] {
  const compiled = list(input).map(compileClause);
  return compiled.length === 0 ? NONE : compiled;
}

/** The segments `inSegment` clauses name, for telling which flags a segment change reaches. */
export function segmentsNamed(rules: readonly (readonly CompiledClause[])[]): string[] {
  return rules.flatMap((rule) => rule.flatMap(segmentKeys));
}

function keySet(input: unknown): Set<string> | undefined {
  if (input === undefined) return undefined;
  const keys = list(input).map(str);
  return keys.length === 0 ? undefined : new Set(keys);
}
