import { pointOf } from './bucket.js';
import type { Viewed } from './client-view.js';
import { frozenCopy } from './compile-flag.js';
import { SwitchyardError } from './errors.js';
import { toInstant } from './instant.js';
import type { EvaluationResult, Reason } from './reasons.js';
import { failure, refusal } from './refusal.js';
import { enter, invalidSegment, leave } from './scope.js';
import { compareSemver, parseSemver, type SemVer } from './semver.js';
import {
  type Clause,
  type ClauseValue,
  type EvaluationContext,
  type Flag,
  type FlagType,
  OPERATORS,
  type Patch,
  type Ruleset,
  SCHEMA_VERSION,
  type Segment,
  type Variant,
} from './types.js';

type Result = EvaluationResult<unknown>;

/** What {@link viewEvaluator} gives: the part of {@link Evaluator}'s interface a browser client uses. */
export interface ViewEvaluator {
  readonly environment: string;
  /** The environment version this ruleset is at: the highest version loaded or patched in. */
  readonly version: number;
  evaluate<T>(
    flagKey: string,
    context: EvaluationContext,
    defaultValue: T,
    expectedType?: FlagType,
  ): EvaluationResult<T>;
  /** Applies a change to one flag or segment; `false`, changing nothing, when it is not newer than what is held. */
  applyPatch(patch: Patch): boolean;
  flagKeys(): string[];
  /** Whether the flag is marked `measured`: an SDK then records who was served which variant. */
  isMeasured(flagKey: string): boolean;
  /** Flags and segments as they stand, for a cache. */
  toRuleset(): Ruleset;
}

/**
 * Evaluates a client view (see {@link clientView}) as {@link compile} evaluates the ruleset it
 * came from, to the byte, in a fraction of the code: the view's flags are valid or marked
 * invalid, so nothing is checked here, and the rules are read as they are, with no compiled form
 * and no memo. This is the browser's engine, where bundle size is what counts; rollouts hash
 * through `encoder`, the platform's UTF-8 encoder (`TextEncoder`). Throws a {@link SwitchyardError}
 * (`INVALID_RULESET`) when the ruleset as a whole is unusable.
 */
export function viewEvaluator(ruleset: Ruleset, encoder: { encode(input: string): Uint8Array }): ViewEvaluator {
  // One check and one message, not the core's several: what reaches a browser is the server's
  // own view, or a cache or bootstrap made from it. The environment is only compared, never
  // used, so it is not checked.
  if (
    ruleset?.schemaVersion !== SCHEMA_VERSION ||
    !Number.isSafeInteger(ruleset.version) ||
    ruleset.version < 0 ||
    [...ruleset.flags, ...ruleset.segments].some((item) => typeof item?.key !== 'string' || !item.key)
  )
    throw new SwitchyardError('INVALID_RULESET', 'not a ruleset');
  let version = ruleset.version;
  const held = { flag: new Map<string, Viewed<Flag>>(), segment: new Map<string, Viewed<Segment>>() };
  /** Version of each deleted flag or segment, so a late, older upsert cannot resurrect it. */
  const tombstones = new Map<string, number>();
  const state: { stack: string[]; failure?: string | undefined } = { stack: [] };
  // The context of the evaluation under way: evaluation is synchronous, so one at a time.
  let context: EvaluationContext = {};
  // Held as frozen copies: served values are shared by every evaluation, and a caller's own
  // objects stay theirs.
  const put = (kind: Patch['kind'], key: string, value: Flag | Segment | null) =>
    value === null ? held[kind].delete(key) : held[kind].set(key, frozenCopy(value) as Flag & Segment);
  for (const s of ruleset.segments) put('segment', s.key, s);
  for (const f of ruleset.flags) put('flag', f.key, f);

  const inSegment = (key: string): boolean | undefined => {
    const segment = held.segment.get(key);
    if (!segment) return false;
    if (segment.invalid) {
      state.failure = invalidSegment(key);
      return false;
    }
    if (!enter(state, `segment:${key}`)) return false;
    const matched =
      !segment.excluded?.includes(context.key as string) &&
      (segment.included?.includes(context.key as string) || segment.rules?.some((rule) => allMatch(rule.clauses)));
    leave(state);
    return matched;
  };

  const allMatch = (clauses: readonly Clause[]): boolean =>
    clauses.every((clause) => {
      const op = OPERATORS.indexOf(clause.op);
      const value = context[clause.attribute];
      const matched =
        clause.op === 'inSegment'
          ? clause.values.some((key) => inSegment(key as string))
          : // A list matches when one of its items does. Clause values are scalars, and holds()
            // answers false for a null or an object, as for any value not of its operator's kind.
            [value].flat().some((v) => clause.values.some((b) => holds(op, v, b)));
      return matched !== (clause.negate === true);
    });

  const run = (flag: Viewed<Flag>, defaultValue: unknown): Result => {
    // Without a variant (a killed flag with no off variant) the caller's default is served.
    const made = (variant: string | undefined, reason: Reason, ruleId?: string) =>
      ({
        // A variant the flag lacks throws, and the evaluation fails: only outside a client view.
        value: variant === undefined ? defaultValue : (flag.variants.find((v) => v.key === variant) as Variant).value,
        variant,
        reason,
        ruleId,
        flagMetadata: flag.metadata,
      }) as Result;
    if (!flag.enabled) return made(flag.offVariant, 'DISABLED');
    for (const p of flag.prerequisites ?? []) {
      const prerequisite = held.flag.get(p.flag);
      if (!prerequisite || !enter(state, p.flag)) return made(flag.offVariant, 'PREREQUISITE_FAILED');
      const result = prerequisite.invalid ? undefined : run(prerequisite, undefined);
      leave(state);
      // A prerequisite that is killed, failed its own prerequisites or errored is not met,
      // whatever value it fell back to.
      if (
        !result ||
        result.reason === 'DISABLED' ||
        result.reason === 'PREREQUISITE_FAILED' ||
        !p.variants.includes(result.variant as string)
      )
        return made(flag.offVariant, 'PREREQUISITE_FAILED');
    }
    const target = flag.targets?.find((t) => t.values.includes(context.key as string));
    if (target) return made(target.variant, 'TARGETING_MATCH');
    const rule = flag.rules?.find((r) => allMatch(r.clauses));
    const ruleId = rule?.id;
    const what = rule ? rule.serve : flag.defaultServe;
    if ('variant' in what) {
      const dynamic = flag.prerequisites?.length || flag.targets?.length || flag.rules?.length;
      return made(what.variant, rule ? 'TARGETING_MATCH' : dynamic ? 'DEFAULT' : 'STATIC', ruleId);
    }
    const value = context[what.rollout.bucketBy ?? 'key'];
    // Without the attribute a context cannot be bucketed; it gets what most contexts get.
    let point: number | undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      point = pointOf(encoder.encode((flag.salt ?? flag.key) + value));
    }
    let bound = 0;
    let largest = 0;
    let most: string | undefined;
    for (const { key } of flag.variants) {
      const weight = what.rollout.weights.find((w) => w.variant === key)?.weight ?? 0;
      bound += weight;
      if ((point as number) < bound) return made(key, 'SPLIT', ruleId);
      if (weight > largest) {
        largest = weight;
        most = key;
      }
    }
    return made(most, 'SPLIT', ruleId);
  };

  return {
    environment: ruleset.environment,
    get version() {
      return version;
    },
    evaluate<T>(flagKey: string, input: EvaluationContext, defaultValue: T, expectedType?: FlagType) {
      const flag = held.flag.get(flagKey);
      if (!flag || flag.invalid || (expectedType !== undefined && flag.type !== expectedType))
        return refusal(flagKey, flag, defaultValue, expectedType);
      state.failure = undefined;
      state.stack = [flagKey];
      try {
        context = typeof input === 'object' && input !== null ? input : {};
        const result = run(flag, defaultValue);
        return (
          state.failure ? failure(defaultValue, 'PARSE_ERROR', state.failure, flag) : result
        ) as EvaluationResult<T>;
      } catch (err) {
        return failure(defaultValue, 'GENERAL', `evaluation failed: ${String(err)}`, flag);
      }
    },
    applyPatch({ kind, key, version: next, value }) {
      const id = `${kind}:${key}`;
      // -1 when nothing was held under that key: any version is newer.
      const last = held[kind].get(key)?.version ?? tombstones.get(id) ?? -1;
      // The version and value checks of the core's patchIsValid, written out: calling it would cost
      // this bundle 98 bytes, more than the 5 KB budget leaves (see docs/architecture.md).
      if (
        !Number.isSafeInteger(next) ||
        next < 0 ||
        (value !== null && (typeof value !== 'object' || value.key !== key)) ||
        next <= last
      )
        return false;
      if (value === null) tombstones.set(id, next);
      else tombstones.delete(id);
      put(kind, key, value);
      version = Math.max(version, next);
      return true;
    },
    flagKeys: () => [...held.flag.keys()],
    isMeasured: (flagKey) => held.flag.get(flagKey)?.measured === true,
    toRuleset: () => ({
      schemaVersion: SCHEMA_VERSION,
      environment: ruleset.environment,
      version,
      flags: [...held.flag.values()],
      segments: [...held.segment.values()],
    }),
  };
}

/**
 * Whether operator `op` holds between a context value and a clause value. Comparisons work on
 * the difference, which is NaN (holding nothing) when either side is not of the operator's kind.
 */
function holds(op: number, v: unknown, b: ClauseValue): boolean {
  if (op === 0) return v === b;
  if (op < 5) {
    // `matches` never tests a subject longer than MAX_MATCH_SUBJECT_LENGTH (1024), as the core
    // does. `RegExp()` without `new` builds the same object and keeps the bundle within budget.
    return (
      typeof v === 'string' &&
      (op === 1
        ? v.startsWith(b as string)
        : op === 2
          ? v.endsWith(b as string)
          : op === 3
            ? v.includes(b as string)
            : v.length <= 1024 && RegExp(b as string, 'u').test(v))
    );
  }
  let d = NaN;
  if (op < 9) {
    if (typeof v === 'number') d = v - (b as number);
  } else if (op < 11) d = (toInstant(v) as number) - (toInstant(b) as number);
  else if (typeof v === 'string') {
    const version = parseSemver(v);
    if (version) d = compareSemver(version, parseSemver(b as string) as SemVer);
  }
  return [d < 0, d <= 0, d > 0, d >= 0, d < 0, d > 0, d === 0, d < 0, d > 0][op - 5] as boolean;
}
