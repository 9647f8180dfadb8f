import { type CompiledFlag, type FlagScope, type Result, runFlag } from './flag-walk.js';
import { failure } from './refusal.js';
import type { EvaluationContext } from './types.js';

/**
 * V8-shaped: the part of `evaluate` that runs a flag, kept out of TurboFan's inliner.
 *
 * `Evaluator.evaluate` is kept small (look up, refuse, or answer a constant) so that TurboFan
 * inlines it into an SDK's getters, where a constant flag then costs a map lookup. What it calls
 * for every other flag must not be inlined with it: TurboFan inlines a callee whose bytecode is
 * at most `--max-inlined-bytecode-size` (460 bytes in Node 20 to 24), within a budget per
 * optimized function, so a small walk would be pulled in with `evaluate` and use up the getter's
 * budget in whatever order the JIT met it. {@link runFlag}, the flag walk, is one function well
 * over that size, which keeps it, and everything it calls, out of line.
 *
 * Justified by `pnpm bench sdk-node` (the getter's overhead over the bare core, budget 20 %);
 * `pnpm bench inlining` reports runFlag's margin over the limit and flags it when it is gone.
 * Another engine, or another V8, may need none of this: the bench says when.
 */
export function runOutOfLine(
  flag: CompiledFlag,
  context: EvaluationContext,
  defaultValue: unknown,
  scope: FlagScope,
): Result {
  const ctx = typeof context === 'object' && context !== null ? context : {};
  scope.failure = undefined;
  // Reset in place: setting the length to 0 would drop the array's storage and allocate it anew
  // on every call.
  const stack = scope.stack;
  if (stack.length !== 1) stack.length = 1;
  stack[0] = flag.key;
  let result: Result;
  try {
    result = runFlag(flag, ctx, defaultValue, scope);
  } catch (err) {
    return failure(defaultValue, 'GENERAL', `evaluation failed: ${String(err)}`, flag);
  }
  return scope.failure === undefined ? result : failure(defaultValue, 'PARSE_ERROR', scope.failure, flag);
}
