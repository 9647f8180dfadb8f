import { ConfigError } from './config-error.js';
import { compileClause } from './operators.js';
import type { CompiledSegment, Matcher } from './scope.js';
import type { Clause, EvaluationContext } from './types.js';

/**
 * A segment that cannot be compiled matches nobody: flags that use it keep working, and the
 * server refuses such segments before they are ever stored.
 */
export function compileSegment(
  input: unknown,
  fallbackKey: string,
): CompiledSegment & { error?: string; errorPath?: string } {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const key = typeof raw.key === 'string' ? raw.key : fallbackKey;
  const version = typeof raw.version === 'number' ? raw.version : 0;
  try {
    return { key, version, matches: segmentMatcher(raw) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { key, version, matches: () => false, error: err.message, errorPath: err.path };
  }
}

function segmentMatcher(raw: Record<string, unknown>): Matcher {
  const included = keySet(raw.included, 'included');
  const excluded = keySet(raw.excluded, 'excluded');
  const rules = raw.rules ?? [];
  if (!Array.isArray(rules)) throw new ConfigError('must be an array', 'rules');
  const compiled = rules.map((rule: unknown, i) => allOf((rule as { clauses?: unknown })?.clauses, `rules[${i}]`));
  return (context, scope) => {
    const key = contextKey(context);
    if (key !== undefined) {
      if (excluded?.has(key)) return false;
      if (included?.has(key)) return true;
    }
    for (const rule of compiled) if (rule(context, scope)) return true;
    return false;
  };
}

/** A matcher for a rule: every clause must match (a rule without clauses matches everyone). */
export function allOf(clauses: unknown, path: string): Matcher {
  if (!Array.isArray(clauses)) throw new ConfigError('must be an array', `${path}.clauses`);
  const matchers = clauses.map((c: Clause, i) => compileClause(c, `${path}.clauses[${i}]`));
  if (matchers.length === 1) return matchers[0] as Matcher;
  return (context, scope) => {
    for (const m of matchers) if (!m(context, scope)) return false;
    return true;
  };
}

/** The context key, when it is a string: individual targets and segment lists match on it. */
export function contextKey(context: EvaluationContext): string | undefined {
  const key = context.key;
  return typeof key === 'string' ? key : undefined;
}

function keySet(list: unknown, path: string): Set<string> | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new ConfigError('must be an array of context keys', path);
  list.forEach((k, i) => {
    if (typeof k !== 'string') throw new ConfigError('must be a string', `${path}[${i}]`);
  });
  return list.length === 0 ? undefined : new Set(list as string[]);
}
