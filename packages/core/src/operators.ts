import { ConfigError } from './config-error.js';
import { type EvalScope, enter, leave, type Matcher } from './scope.js';
import { compareSemver, parseSemver, type SemVer } from './semver.js';
import type { Clause, ClauseValue, EvaluationContext, Operator } from './types.js';

type Scalar = string | number | boolean;
/** Tests one scalar attribute value against a clause's pre-parsed values. */
type ValueTest = (value: Scalar) => boolean;

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

/** Longest regex source a clause may carry; the server refuses longer ones too. */
export const MAX_REGEX_LENGTH = 1024;

/** Compiles a clause into a matcher: all parsing and validation happen here, once. */
export function compileClause(clause: Clause, path: string): Matcher {
  if (typeof clause !== 'object' || clause === null) throw new ConfigError('must be an object', path);
  const { attribute, op, values } = clause;
  const negate = clause.negate === true;
  if (!OPERATORS.includes(op)) throw new ConfigError(`unknown operator ${JSON.stringify(op)}`, `${path}.op`);
  if (!Array.isArray(values)) throw new ConfigError('must be an array', `${path}.values`);
  if (op === 'inSegment') return segmentMatcher(values, negate, `${path}.values`);
  if (typeof attribute !== 'string' || attribute === '') {
    throw new ConfigError('must be a non-empty string', `${path}.attribute`);
  }
  const test = valueTest(op, values, `${path}.values`);
  return (context) => {
    const value = context[attribute];
    let matched = false;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      matched = test(value);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length && !matched; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') matched = test(item);
      }
    }
    // An absent attribute (missing, null, or not a scalar or list) matches nothing, unless negated.
    return matched !== negate;
  };
}

function valueTest(op: Exclude<Operator, 'inSegment'>, values: ClauseValue[], path: string): ValueTest {
  switch (op) {
    case 'in': {
      for (const [i, v] of values.entries()) scalar(v, `${path}[${i}]`);
      if (values.length === 1) {
        const only = values[0];
        return (v) => v === only;
      }
      // A short list is scanned: as fast as a Set's lookup, at a fraction of its memory.
      if (values.length <= 8) {
        const list = values.slice();
        return (v) => list.includes(v);
      }
      const set = new Set<Scalar>(values);
      return (v) => set.has(v);
    }
    case 'startsWith':
    case 'endsWith':
    case 'contains':
      return stringTest(op, strings(values, path));
    case 'matches': {
      const patterns = strings(values, path).map((source, i) => regex(source, `${path}[${i}]`));
      return (v) => {
        if (typeof v !== 'string') return false;
        for (const re of patterns) if (re.test(v)) return true;
        return false;
      };
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      const bounds = values.map((v, i) => finite(v, `${path}[${i}]`));
      return numberTest(op, bounds);
    }
    case 'before':
    case 'after': {
      const instants = values.map((v, i) => {
        const t = toInstant(v);
        if (t === undefined) throw new ConfigError('must be an ISO-8601 date or epoch milliseconds', `${path}[${i}]`);
        return t;
      });
      const test = numberTest(op === 'before' ? 'lt' : 'gt', instants);
      return (v) => {
        const t = toInstant(v);
        return t !== undefined && test(t);
      };
    }
    case 'semverEq':
    case 'semverLt':
    case 'semverGt': {
      const versions = strings(values, path).map((s, i) => {
        const parsed = parseSemver(s);
        if (parsed === undefined)
          throw new ConfigError(`${JSON.stringify(s)} is not a semantic version`, `${path}[${i}]`);
        return parsed;
      });
      const wanted = op === 'semverEq' ? 0 : op === 'semverLt' ? -1 : 1;
      const parse = semverMemo();
      return (v) => {
        if (typeof v !== 'string') return false;
        const parsed = parse(v);
        if (parsed === undefined) return false;
        for (const bound of versions) if (Math.sign(compareSemver(parsed, bound)) === wanted) return true;
        return false;
      };
    }
  }
}

function stringTest(op: 'startsWith' | 'endsWith' | 'contains', needles: string[]): ValueTest {
  if (op === 'startsWith') {
    return (v) => {
      if (typeof v !== 'string') return false;
      for (const n of needles) if (v.startsWith(n)) return true;
      return false;
    };
  }
  if (op === 'endsWith') {
    return (v) => {
      if (typeof v !== 'string') return false;
      for (const n of needles) if (v.endsWith(n)) return true;
      return false;
    };
  }
  return (v) => {
    if (typeof v !== 'string') return false;
    for (const n of needles) if (v.includes(n)) return true;
    return false;
  };
}

/** Only numbers compare: a numeric string in the context is not coerced. */
function numberTest(op: 'lt' | 'lte' | 'gt' | 'gte', bounds: number[]): (v: Scalar) => boolean {
  const holds = COMPARISONS[op];
  return (v) => {
    if (typeof v !== 'number') return false;
    for (const b of bounds) if (holds(v, b)) return true;
    return false;
  };
}

const COMPARISONS = {
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
};

function segmentMatcher(values: ClauseValue[], negate: boolean, path: string): Matcher {
  const keys = strings(values, path);
  return (context, scope) => {
    let matched = false;
    for (let i = 0; i < keys.length && !matched; i++) matched = inSegment(keys[i] as string, context, scope);
    return matched !== negate;
  };
}

/** An unknown segment matches nobody: a segment deleted before the flags that name it. */
function inSegment(key: string, context: EvaluationContext, scope: EvalScope): boolean {
  const segment = scope.segments.get(key);
  if (segment === undefined) return false;
  // A broken segment must not silently match nobody: negated, that would match everybody.
  if (segment.error !== undefined) {
    scope.failure = `segment ${JSON.stringify(key)} cannot be evaluated: ${segment.error}`;
    return false;
  }
  if (!enter(scope, `segment:${key}`)) return false;
  const matched = segment.matches(context, scope);
  leave(scope);
  return matched;
}

// Dates: an ISO-8601 calendar date (UTC) or a date-time with an explicit offset. A local
// date-time without an offset would mean a different instant in every SDK's time zone.
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2})))?$/;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** 400 Gregorian years are exactly 146 097 days. */
const FOUR_CENTURIES_MS = 146_097 * DAY_MS;

/** Epoch milliseconds of a date clause or attribute value, or `undefined` when it is not a date. */
export function toInstant(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.length > 40) return undefined;
  const m = ISO_DATE.exec(v);
  if (m === null) return undefined;
  // Parsed by hand rather than by Date.parse, which engines answer differently outside the
  // strict ECMAScript format (2025-02-30, 24:00, more or fewer than three fraction digits).
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  // Date.UTC reads years 0-99 as 1900-1999; four centuries later the calendar repeats exactly.
  const local = Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - FOUR_CENTURIES_MS;
  const offset = (offsetHours * 60 + offsetMinutes) * MINUTE_MS;
  return m[8] === '-' ? local + offset : local - offset;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses semvers through a small per-clause memo: the versions seen in a context are few
 * (the app versions in the field), so most evaluations skip the regex.
 */
function semverMemo(): (v: string) => SemVer | undefined {
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

function regex(source: string, path: string): RegExp {
  if (source.length > MAX_REGEX_LENGTH) throw new ConfigError(`longer than ${MAX_REGEX_LENGTH} characters`, path);
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new ConfigError(`not a valid regular expression: ${(err as Error).message}`, path);
  }
}

function scalar(v: unknown, path: string): Scalar {
  if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
  throw new ConfigError('must be a string, a finite number or a boolean', path);
}

function strings(values: ClauseValue[], path: string): string[] {
  return values.map((v, i) => {
    if (typeof v !== 'string') throw new ConfigError('must be a string', `${path}[${i}]`);
    return v;
  });
}

function finite(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError('must be a finite number', path);
  return v;
}
