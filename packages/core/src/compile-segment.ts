import { ConfigError, list } from './config-error.js';
import { type CompiledClause, compileClause, IN_SEGMENT } from './operators.js';
import type { CompiledSegment } from './scope.js';

const NONE: readonly never[] = Object.freeze([]);

/**
 * A segment that cannot be compiled matches nobody: flags that use it keep working, and the
 * server refuses such segments before they are ever stored.
 */
export function compileSegment(input: unknown, fallbackKey: string): CompiledSegment {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const key = typeof raw.key === 'string' ? raw.key : fallbackKey;
  const version = typeof raw.version === 'number' ? raw.version : 0;
  const broken = { key, version, included: undefined, excluded: undefined, rules: NONE };
  try {
    const included = keySet(raw.included, 'included');
    const excluded = keySet(raw.excluded, 'excluded');
    const rules = list(raw.rules ?? [], 'rules').map((rule, i) =>
      clauses((rule as { clauses?: unknown } | null)?.clauses, `rules[${i}]`),
    );
    return { key, version, included, excluded, rules, error: undefined };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ...broken, error: err };
  }
}

/** The clauses of a rule, all of which must match. */
export function clauses(input: unknown, path: string): readonly CompiledClause[] {
  const compiled = list(input, `${path}.clauses`).map((c, i) => compileClause(c, `${path}.clauses[${i}]`));
  return compiled.length === 0 ? NONE : compiled;
}

/** The segments `inSegment` clauses name, for telling which flags a segment change reaches. */
export function segmentsNamed(rules: readonly (readonly CompiledClause[])[]): string[] {
  return rules.flatMap((rule) => rule.filter((c) => c.op === IN_SEGMENT).flatMap((c) => c.values as string[]));
}

function keySet(input: unknown, path: string): Set<string> | undefined {
  if (input === undefined) return undefined;
  const keys = list(input, path, 'must be an array of context keys');
  keys.forEach((k, i) => {
    if (typeof k !== 'string') throw new ConfigError('must be a string', `${path}[${i}]`);
  });
  return keys.length === 0 ? undefined : new Set(keys as string[]);
}
