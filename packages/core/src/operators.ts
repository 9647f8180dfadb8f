import { bad, list, nonEmpty, obj, str } from './config-error.js';
import { type CompiledSegment, type EvalScope, enter, invalidSegment, leave } from './scope.js';
import { compareSemver, parseSemver, type SemVer } from './semver.js';
import type { EvaluationContext, Operator } from './types.js';

type Scalar = string | number | boolean;

/** Listed in the order of their codes: a compiled clause keeps the index, which a switch jumps on. */
export const OPERATORS: readonly Operator[] = [
  'in',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'before',
  'after',
  'semverEq',
  'semverLt',
  'semverGt',
  'inSegment',
];

const IN = 0;
const MATCHES = 4;
const LT = 5;
const BEFORE = 9;
const AFTER = 10;
const SEMVER_EQ = 11;
export const IN_SEGMENT = 14;

/** Longest regex source a clause may carry; the server refuses longer ones too. */
export const MAX_REGEX_LENGTH = 1024;

/** A long `in` list is looked up in a Set; a short one is scanned, as fast at a fraction of the memory. */
const SET_FROM = 9;

/**
 * A clause as data, its values parsed once: strings, finite numbers, instants, regexes, semvers,
 * a Set for a long `in` list, or segment keys. Plain data rather than a closure per clause keeps
 * a compiled ruleset small: thousands of flags stay within an SDK's memory budget.
 */
export interface CompiledClause {
  readonly attribute: string;
  readonly op: number;
  readonly values: readonly unknown[] | ReadonlySet<unknown>;
  readonly negate: boolean;
}

/** Compiles a clause: all parsing and validation happen here, once. */
export function compileClause(clause: unknown): CompiledClause {
  const { attribute, op, values, negate } = obj(clause);
  const code = OPERATORS.indexOf(op as Operator);
  if (code < 0) bad();
  const parsed = list(values).map((v) => parseValue(code, v));
  return {
    attribute: code === IN_SEGMENT ? '' : nonEmpty(attribute),
    op: code,
    values: code === IN && parsed.length >= SET_FROM ? new Set(parsed) : parsed,
    negate: negate === true,
  };
}

/** A clause value parsed for its operator; `validate.ts` says why one is refused. */
function parseValue(code: number, v: unknown): unknown {
  if (code === IN) return typeof v === 'string' || typeof v === 'boolean' || Number.isFinite(v) ? v : bad();
  if (code >= LT && code < BEFORE) return Number.isFinite(v) ? v : bad();
  if (code === BEFORE || code === AFTER) return toInstant(v) ?? bad();
  const s = str(v);
  if (code === MATCHES) {
    if (s.length > MAX_REGEX_LENGTH) bad();
    try {
      return new RegExp(s, 'u');
    } catch {
      return bad();
    }
  }
  if (code >= SEMVER_EQ && code < IN_SEGMENT) return parseSemver(s) ?? bad();
  return s;
}

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
  const op = clause.op;
  const values = clause.values;
  if (op === IN) return values instanceof Set ? values.has(v) : (values as readonly unknown[]).includes(v);
  let subject: unknown;
  if (op < LT) subject = typeof v === 'string' ? v : undefined;
  // Only numbers compare: a numeric string in the context is not coerced.
  else if (op < BEFORE) subject = typeof v === 'number' ? v : undefined;
  else if (op < SEMVER_EQ) subject = toInstant(v);
  else subject = typeof v === 'string' ? scope.semver(v) : undefined;
  if (subject === undefined) return false;
  for (const b of values as readonly unknown[]) if (holds(op, subject, b)) return true;
  return false;
}

/** The sign `compareSemver` must give for semverEq, semverLt and semverGt. */
const SEMVER_SIGN = [0, -1, 1];

function holds(op: number, a: unknown, b: unknown): boolean {
  switch (op) {
    case 1:
      return (a as string).startsWith(b as string);
    case 2:
      return (a as string).endsWith(b as string);
    case 3:
      return (a as string).includes(b as string);
    case MATCHES:
      return (b as RegExp).test(a as string);
    case LT:
    case BEFORE:
      return (a as number) < (b as number);
    case 6:
      return (a as number) <= (b as number);
    case 7:
    case AFTER:
      return (a as number) > (b as number);
    case 8:
      return (a as number) >= (b as number);
    default:
      return Math.sign(compareSemver(a as SemVer, b as SemVer)) === SEMVER_SIGN[op - SEMVER_EQ];
  }
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

// Dates: an ISO-8601 calendar date (UTC) or a date-time with an explicit offset. A local
// date-time without an offset would mean a different instant in every SDK's time zone. Hours,
// minutes and seconds are bounded here; month and day by the calendar, below.
const ISO_DATE =
  /^(\d{4})-(\d\d)-(\d\d)(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?(?:Z|([+-])([01]\d|2[0-3]):([0-5]\d)))?$/;

/** Epoch milliseconds of a date clause or attribute value, or `undefined` when it is not a date. */
export function toInstant(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.length > 40) return undefined;
  const m = ISO_DATE.exec(v);
  if (m === null) return undefined;
  // Parsed by hand rather than by Date.parse, which engines answer differently outside the
  // strict ECMAScript format (2025-02-30, 24:00, more or fewer than three fraction digits).
  // setUTCFullYear, unlike Date.UTC, takes years 0-99 as they are. A month or day out of range
  // rolls the date over into another month or day, which is how it is caught.
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours, offsetMinutes] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  const local = date.setUTCHours(
    Number(hour ?? 0),
    Number(minute ?? 0),
    Number(second ?? 0),
    Number(`${fraction}00`.slice(0, 3)),
  );
  const offset = (Number(offsetHours ?? 0) * 60 + Number(offsetMinutes ?? 0)) * 60_000;
  return sign === '-' ? local + offset : local - offset;
}
