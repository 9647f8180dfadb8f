import type { CompiledClause } from './operators.js';
import { parseSemver, type SemVer } from './semver.js';

export interface CompiledSegment {
  readonly key: string;
  readonly version: number;
  readonly included: ReadonlySet<string> | undefined;
  readonly excluded: ReadonlySet<string> | undefined;
  /** A context matching all clauses of any rule is in the segment. */
  readonly rules: readonly (readonly CompiledClause[])[];
  /** The configuration cannot be evaluated: a flag that reaches the segment answers `PARSE_ERROR`. */
  readonly invalid: boolean;
}

/**
 * How deep prerequisites and nested segments may go. Without a limit a long chain would end in
 * a stack overflow whose depth differs between JavaScript engines; with it every SDK answers
 * `PARSE_ERROR` at the same depth.
 */
export const MAX_NESTING = 64;

/**
 * What one compiled ruleset shares between its flags and segments while evaluating.
 * Evaluation is synchronous, so one scope per ruleset serves every call in turn.
 */
export interface EvalScope {
  readonly segments: Map<string, CompiledSegment>;
  /** Parses a context's semver, remembering the few versions the field sends. */
  readonly semver: (v: string) => SemVer | undefined;
  /** Flags and segments being evaluated, innermost last: a key met again is a cycle. */
  readonly stack: string[];
  /** Set when the evaluation under way met a configuration it cannot evaluate (a cycle). */
  failure: string | undefined;
}

/**
 * Puts `key` on the stack, or records a cycle and returns `false` when it is already there.
 * Each `true` is paired with {@link leave}; the evaluator clears the stack before every call,
 * so a throwing matcher cannot leave it dirty.
 */
export function enter(scope: { stack: string[]; failure?: string | undefined }, key: string): boolean {
  if (scope.stack.includes(key)) {
    scope.failure = `cycle through ${[...scope.stack, key].join(' -> ')}`;
    return false;
  }
  if (scope.stack.length >= MAX_NESTING) {
    scope.failure = `nesting deeper than ${MAX_NESTING} levels`;
    return false;
  }
  scope.stack.push(key);
  return true;
}

/** Why an evaluation that reached a segment which cannot be evaluated fails. */
export const invalidSegment = (key: string) => `segment ${JSON.stringify(key)} is invalid`;

export function leave(scope: Pick<EvalScope, 'stack'>): void {
  scope.stack.pop();
}

/**
 * Semvers parsed through a small memo shared by a ruleset's clauses: the versions a context
 * carries are few (the app versions in the field), so most evaluations skip the regex.
 */
export function semverMemo(): (v: string) => SemVer | undefined {
  const memo = new Map<string, SemVer | undefined>();
  return (v) => {
    // Longer strings are no semver (parseSemver refuses them), and must not sit in the memo.
    if (v.length > 256) return undefined;
    let parsed = memo.get(v);
    if (parsed === undefined && !memo.has(v)) {
      parsed = parseSemver(v);
      if (memo.size >= 512) memo.clear();
      memo.set(v, parsed);
    }
    return parsed;
  };
}
