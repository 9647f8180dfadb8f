import { bad, list, nonEmpty, obj } from './config-error.js';
import { toInstant } from './instant.js';
import { type CompiledSegment, type EvalScope, enter, invalidSegment, leave } from './scope.js';
import { compareSemver, parseSemver, type SemVer } from './semver.js';
import type { EvaluationContext, Operator } from './types.js';

type Scalar = string | number | boolean;

/**
 * What an operator means: how a clause value is prepared when a ruleset is loaded or patched (so
 * that evaluating parses nothing), how a context value is read for it, and when the two match.
 */
export interface OperatorSemantics {
  /** The clause value made ready to match, or `undefined` when this operator cannot take it. */
  readonly prepare: (value: unknown) => unknown;
  /** The context value as the operator compares it, or `undefined` when no clause value can match it. */
  readonly read: (value: Scalar, scope: EvalScope) => unknown;
  /** Whether a read context value matches one prepared clause value. */
  readonly holds: (read: never, prepared: never) => boolean;
}

/** Longest regex source a clause may carry; the server refuses longer ones too. */
export const MAX_REGEX_LENGTH = 1024;

/**
 * Longest context value `matches` tests; a longer one matches no pattern. Offline SDKs load
 * rulesets the server never checked, so the engine itself bounds how long a pattern can run.
 */
export const MAX_MATCH_SUBJECT_LENGTH = 1024;

const scalar = (v: unknown) =>
  typeof v === 'string' || typeof v === 'boolean' || Number.isFinite(v) ? (v as Scalar) : undefined;
const string = (v: unknown) => (typeof v === 'string' ? v : undefined);
const finite = (v: unknown) => (Number.isFinite(v) ? (v as number) : undefined);
// Only numbers compare: a numeric string in the context is not coerced.
const number = (v: unknown) => (typeof v === 'number' ? v : undefined);
const semver = (v: unknown) => (typeof v === 'string' ? parseSemver(v) : undefined);
const contextSemver = (v: Scalar, scope: EvalScope) => (typeof v === 'string' ? scope.semver(v) : undefined);
const regex = (v: unknown) => {
  if (typeof v !== 'string' || v.length > MAX_REGEX_LENGTH) return undefined;
  try {
    return new RegExp(v, 'u');
  } catch {
    return undefined;
  }
};

const op = <R, P>(
  prepare: (value: unknown) => P | undefined,
  read: (value: Scalar, scope: EvalScope) => R | undefined,
  holds: (read: R, prepared: P) => boolean,
): OperatorSemantics => ({ prepare, read, holds: holds as OperatorSemantics['holds'] });

const text = (holds: (read: string, prepared: string) => boolean) => op(string, string, holds);
const numeric = (holds: (read: number, prepared: number) => boolean) => op(finite, number, holds);
const instant = (holds: (read: number, prepared: number) => boolean) => op(toInstant, toInstant, holds);
const version = (sign: number) =>
  op(semver, contextSemver, (a: SemVer, b: SemVer) => Math.sign(compareSemver(a, b)) === sign);

/**
 * Every operator of the schema, in one table: `compile` prepares and matches clauses with it and
 * `checkFlag` takes its verdict on clause values from it. (The browser's compact engine is a
 * second implementation, held to this one by tests: docs/architecture.md says why.) A clause
 * matches when the context attribute, or any item of a list attribute, matches any of its
 * values; an attribute the operator cannot read (missing, or of another kind: `lt` on a string)
 * matches nothing, before `negate` is applied.
 */
export const SEMANTICS: Readonly<Record<Operator, OperatorSemantics>> = {
  in: op(
    scalar,
    (v) => v,
    (a: Scalar, b: Scalar) => a === b,
  ),
  startsWith: text((a, b) => a.startsWith(b)),
  endsWith: text((a, b) => a.endsWith(b)),
  contains: text((a, b) => a.includes(b)),
  matches: op(regex, string, (a: string, b: RegExp) => a.length <= MAX_MATCH_SUBJECT_LENGTH && b.test(a)),
  lt: numeric((a, b) => a < b),
  lte: numeric((a, b) => a <= b),
  gt: numeric((a, b) => a > b),
  gte: numeric((a, b) => a >= b),
  before: instant((a, b) => a < b),
  after: instant((a, b) => a > b),
  semverEq: version(0),
  semverLt: version(-1),
  semverGt: version(1),
  // A segment is matched by its key (see inSegment below), not against a context attribute.
  inSegment: op(
    string,
    () => undefined,
    () => false,
  ),
};

const IN = SEMANTICS.in;
const IN_SEGMENT = SEMANTICS.inSegment;

/** A long `in` list is looked up in a Set; a short one is scanned, as fast at a fraction of the memory. */
const SET_FROM = 9;

/**
 * A clause as data, its values prepared once: strings, finite numbers, instants, regexes,
 * semvers, a Set for a long `in` list, or segment keys. Plain data rather than a closure per
 * clause keeps a compiled ruleset small: thousands of flags stay within an SDK's memory budget.
 */
export interface CompiledClause {
  readonly attribute: string;
  readonly op: OperatorSemantics;
  readonly values: readonly unknown[] | ReadonlySet<unknown>;
  readonly negate: boolean;
}

/** Compiles a clause, preparing its values; a value its operator cannot take makes the flag invalid. */
export function compileClause(clause: unknown): CompiledClause {
  const { attribute, op: name, values, negate } = obj(clause);
  const op = typeof name === 'string' && Object.hasOwn(SEMANTICS, name) ? SEMANTICS[name as Operator] : bad();
  const prepared = list(values).map((v) => op.prepare(v) ?? bad());
  return {
    attribute: op === IN_SEGMENT ? '' : nonEmpty(attribute),
    op,
    values: op === IN && prepared.length >= SET_FROM ? new Set(prepared) : prepared,
    negate: negate === true,
  };
}

/** The segment keys an `inSegment` clause names; none for another clause. */
export const segmentKeys = (clause: CompiledClause): readonly string[] =>
  clause.op === IN_SEGMENT ? (clause.values as readonly string[]) : [];

/** Whether every clause matches (a rule without clauses matches everyone). */
export function allMatch(clauses: readonly CompiledClause[], context: EvaluationContext, scope: EvalScope): boolean {
  for (let i = 0; i < clauses.length; i++) if (!matches(clauses[i] as CompiledClause, context, scope)) return false;
  return true;
}

function matches(clause: CompiledClause, context: EvaluationContext, scope: EvalScope): boolean {
  let matched = false;
  if (clause.op === IN_SEGMENT) {
    const keys = clause.values as readonly string[];
    for (let i = 0; i < keys.length && !matched; i++) matched = inSegment(keys[i] as string, context, scope);
  } else {
    const value = context[clause.attribute];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      matched = test(clause, value, scope);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length && !matched; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
          matched = test(clause, item, scope);
        }
      }
    }
  }
  // An absent attribute (missing, null, or not a scalar or list) matches nothing, unless negated.
  return matched !== clause.negate;
}

/** Whether one scalar attribute value matches any of the clause's values. */
function test(clause: CompiledClause, v: Scalar, scope: EvalScope): boolean {
  const values = clause.values;
  // Only a long `in` list is a Set.
  if (values instanceof Set) return values.has(v);
  const op = clause.op;
  const read = op.read(v, scope);
  if (read === undefined) return false;
  const prepared = values as readonly never[];
  for (let i = 0; i < prepared.length; i++) if (op.holds(read as never, prepared[i] as never)) return true;
  return false;
}

/** An unknown segment matches nobody: a segment deleted before the flags that name it. */
function inSegment(key: string, context: EvaluationContext, scope: EvalScope): boolean {
  const segment = scope.segments.get(key);
  if (segment === undefined) return false;
  // A broken segment must not silently match nobody: negated, that would match everybody.
  if (segment.invalid) {
    scope.failure = invalidSegment(key);
    return false;
  }
  if (!enter(scope, `segment:${key}`)) return false;
  const matched = segmentMatches(segment, context, scope);
  leave(scope);
  return matched;
}

/** Exclusion wins over inclusion, and inclusion over the rules. */
function segmentMatches(segment: CompiledSegment, context: EvaluationContext, scope: EvalScope): boolean {
  const key = context.key;
  if (typeof key === 'string') {
    if (segment.excluded?.has(key)) return false;
    if (segment.included?.has(key)) return true;
  }
  for (const rule of segment.rules) if (allMatch(rule, context, scope)) return true;
  return false;
}
