import type { Hasher, SaltState } from './bucket.js';
import { allMatch, type CompiledClause } from './operators.js';
import type { EvaluationResult, Reason } from './reasons.js';
import { type EvalScope, enter, leave } from './scope.js';
import type { EvaluationContext, FlagMetadata, FlagType } from './types.js';

export interface FlagScope extends EvalScope {
  readonly flags: Map<string, CompiledFlag>;
  readonly hasher: Hasher;
}

export type Result = EvaluationResult<unknown>;

/**
 * A flag as plain data, ready for {@link runFlag}. Every result that
 * does not involve the caller's default is built when the flag is loaded, frozen and shared, so
 * an evaluation allocates nothing on its usual paths. No closures and no copy of the definition
 * are kept: a thousand flags must fit an SDK's memory budget.
 */
export interface CompiledFlag {
  readonly key: string;
  readonly type: FlagType | undefined;
  readonly version: number;
  readonly clientSide: boolean;
  readonly metadata: Readonly<FlagMetadata> | undefined;
  /** The configuration cannot be evaluated: the flag always answers `PARSE_ERROR`. */
  readonly invalid: boolean;
  readonly enabled: boolean;
  /** The off variant, reason `DISABLED`; without one a killed flag serves the caller's default. */
  readonly off: Result | undefined;
  readonly prerequisiteFailed: Result | undefined;
  readonly prerequisites: readonly { readonly flag: string; readonly variants: readonly string[] }[] | undefined;
  readonly targets: ReadonlyMap<string, Result> | undefined;
  /**
   * The rules, flattened: each rule's clauses followed by what it serves. One array per flag
   * rather than an object per rule keeps a compiled flag small.
   */
  readonly rules: readonly (readonly CompiledClause[] | Serve)[];
  /** What `defaultServe` serves. */
  readonly fallthrough: Serve | undefined;
  /**
   * The result every context gets, when nothing about the context or the caller's default
   * matters: a killed flag with an off variant, or one serving a fixed variant with no targeting.
   * The evaluator answers these without running the flag.
   */
  readonly constant: Result | undefined;
}

/** What a rule or the default serves: a fixed result, or a rollout. */
export type Serve = Result | Rollout;

/** A rollout: told apart from a fixed result by its class. */
export class Rollout implements SaltState {
  // The salt's state is held inline rather than as an object of its own: one load less per bucketing.
  readonly prefix: string;
  readonly seed: number;
  readonly tail: number;
  readonly saltLength: number;

  constructor(
    /** The context attribute hashed. */
    readonly by: string,
    /** Cumulative bounds, each followed by the result served below it. */
    readonly buckets: readonly (number | Result)[],
    /** What a context without the attribute gets: the largest weight, the first on a tie. */
    readonly unbucketed: Result,
    salt: SaltState,
  ) {
    this.prefix = salt.prefix;
    this.seed = salt.seed;
    this.tail = salt.tail;
    this.saltLength = salt.saltLength;
  }
}

/**
 * The flag walk: off → prerequisites → individual targets → the first matching rule → the
 * default, bucketing through the scope's hasher when what is served rolls out. Type
 * checks, cycle reporting and exception safety belong to the evaluator that calls it; a flag
 * holding an error is never run.
 *
 * It stays one function for the inliner's sake: see `v8-keep-out-of-inliner.ts`.
 */
export function runFlag(
  flag: CompiledFlag,
  context: EvaluationContext,
  defaultValue: unknown,
  scope: FlagScope,
): Result {
  if (!flag.enabled) return flag.off ?? withDefault(defaultValue, 'DISABLED', flag.metadata);
  const prerequisites = flag.prerequisites;
  if (prerequisites !== undefined) {
    for (let i = 0; i < prerequisites.length; i++) {
      const p = prerequisites[i] as (typeof prerequisites)[number];
      const prerequisite = scope.flags.get(p.flag);
      let result: Result | undefined;
      if (prerequisite !== undefined && enter(scope, p.flag)) {
        result = !prerequisite.invalid ? runFlag(prerequisite, context, undefined, scope) : undefined;
        leave(scope);
      }
      // A prerequisite that is missing, killed, failed its own prerequisites or errored is not
      // met, whatever value it fell back to.
      if (
        result === undefined ||
        result.reason === 'DISABLED' ||
        result.reason === 'PREREQUISITE_FAILED' ||
        result.variant === undefined ||
        !p.variants.includes(result.variant)
      ) {
        return flag.prerequisiteFailed ?? withDefault(defaultValue, 'PREREQUISITE_FAILED', flag.metadata);
      }
    }
  }
  if (flag.targets !== undefined) {
    const key = context.key;
    const targeted = typeof key === 'string' ? flag.targets.get(key) : undefined;
    if (targeted !== undefined) return targeted;
  }
  let served = flag.fallthrough as Serve;
  const rules = flag.rules;
  for (let i = 0; i < rules.length; i += 2) {
    if (allMatch(rules[i] as readonly CompiledClause[], context, scope)) {
      served = rules[i + 1] as Serve;
      break;
    }
  }
  if (!(served instanceof Rollout)) return served;
  const value = context[served.by];
  let input: string;
  if (typeof value === 'string') input = value;
  else if (typeof value === 'number' || typeof value === 'boolean') input = String(value);
  // Without the attribute a context cannot be bucketed; it gets what most contexts get.
  else return served.unbucketed;
  const point = scope.hasher.point(served, input);
  const buckets = served.buckets;
  for (let i = 0; i < buckets.length; i += 2) if ((buckets[i] as number) > point) return buckets[i + 1] as Result;
  return served.unbucketed;
}

function withDefault(value: unknown, reason: Reason, metadata: Readonly<FlagMetadata> | undefined): Result {
  return metadata === undefined ? { value, reason } : { value, reason, flagMetadata: metadata };
}
