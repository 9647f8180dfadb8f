import type { Murmur3Utf8 } from './bucket.js';
import type { EvaluationContext } from './types.js';

/** A compiled test of a context, such as one clause or one segment. */
export type Matcher = (context: EvaluationContext, scope: EvalScope) => boolean;

export interface CompiledSegment {
  readonly key: string;
  readonly version: number;
  readonly matches: Matcher;
  /** Why the segment cannot be evaluated; a flag that reaches it answers `PARSE_ERROR`. */
  readonly error?: string;
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
  readonly hasher: Murmur3Utf8;
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
export function enter(scope: EvalScope, key: string): boolean {
  if (scope.stack.includes(key)) {
    scope.failure = `cycle through ${[...scope.stack, key].join(' -> ')}`;
    return false;
  }
  if (scope.stack.length >= MAX_NESTING) {
    scope.failure = `prerequisites and segments nest deeper than ${MAX_NESTING} levels`;
    return false;
  }
  scope.stack.push(key);
  return true;
}

export function leave(scope: EvalScope): void {
  scope.stack.pop();
}
