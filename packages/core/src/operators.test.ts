import { describe, expect, it } from 'vitest';
import { Murmur3Utf8 } from './bucket.js';
import { checkoutFlag, clauseMatches, scopeWithSegments } from './builders.fixture.js';
import { type ConfigProblem, checkFlag } from './check.js';
import { compileFlag } from './compile-flag.js';
import { toInstant } from './instant.js';
import { compileClause, MAX_REGEX_LENGTH } from './operators.js';
import { type Clause, type ClauseValue, type EvaluationContext, OPERATORS, type Operator } from './types.js';

function clause(op: Operator, values: unknown[], extra: Partial<Clause> = {}): Clause {
  return { attribute: 'attr', op, values: values as ClauseValue[], ...extra };
}

/** Whether a clause on `attr` matches a context whose `attr` is `value`. */
function matches(c: Clause, value: unknown): boolean {
  const context = { attr: value } as EvaluationContext;
  return clauseMatches(c, context);
}

/** Why a flag whose `rules[0].clauses[1]` is `c` is refused, once the engine has refused it too. */
function compileError(c: unknown): ConfigProblem {
  const clauses = [clause('in', ['x']), c];
  const flag = checkoutFlag({ rules: [{ id: 'r', clauses, serve: { variant: 'on' } }] as never });
  expect(compileFlag(flag, flag.key, new Murmur3Utf8()).invalid).toBe(true);
  const problem = checkFlag(flag);
  if (problem === undefined) throw new Error('expected the clause to be refused');
  return problem;
}

const utc = (...parts: [number, number, number, number?, number?, number?, number?]) =>
  Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3] ?? 0, parts[4] ?? 0, parts[5] ?? 0, parts[6] ?? 0);

describe('compileClause', () => {
  it('refuses a clause that is not an object', () => {
    expect(compileError(null).path).toBe('rules[0].clauses[1]');
    expect(compileError('in').path).toBe('rules[0].clauses[1]');
  });

  it('refuses an unknown operator, naming it', () => {
    const err = compileError({ attribute: 'a', op: 'equals', values: [] });
    expect(err.path).toBe('rules[0].clauses[1].op');
    expect(err.message).toContain('"equals"');
  });

  it('refuses values that are not an array', () => {
    expect(compileError({ attribute: 'a', op: 'in', values: 'x' }).path).toBe('rules[0].clauses[1].values');
  });

  it('refuses a missing or empty attribute for every operator but inSegment', () => {
    expect(compileError({ attribute: '', op: 'in', values: ['x'] }).path).toBe('rules[0].clauses[1].attribute');
    expect(compileError({ op: 'lt', values: [1] }).path).toBe('rules[0].clauses[1].attribute');
    expect(() => compileClause({ op: 'inSegment', values: ['beta'] })).not.toThrow();
  });

  it('knows every operator of the schema', () => {
    expect([...OPERATORS].sort()).toEqual(
      [
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
      ].sort(),
    );
  });
});

describe('attribute values', () => {
  const inX = clause('in', ['x']);

  it('does not match an absent attribute: missing, undefined, null or an object', () => {
    expect(clauseMatches(inX, {})).toBe(false);
    expect(matches(inX, undefined)).toBe(false);
    expect(matches(inX, null)).toBe(false);
    expect(matches(inX, { x: 'x' })).toBe(false);
    expect(matches(inX, () => 'x')).toBe(false);
  });

  it('matches a negated clause on an absent attribute', () => {
    const notX = clause('in', ['x'], { negate: true });
    expect(clauseMatches(notX, {})).toBe(true);
    expect(matches(notX, null)).toBe(true);
    expect(matches(notX, { x: 'x' })).toBe(true);
  });

  it('inverts the outcome with negate, and only with negate: true', () => {
    expect(matches(clause('in', ['x'], { negate: true }), 'x')).toBe(false);
    expect(matches(clause('in', ['x'], { negate: true }), 'y')).toBe(true);
    expect(matches(clause('in', ['x'], { negate: false }), 'x')).toBe(true);
    expect(matches(clause('in', ['x'], { negate: 'yes' as unknown as boolean }), 'x')).toBe(true);
  });

  it('matches a list attribute when any element matches', () => {
    expect(matches(inX, ['a', 'x', 'b'])).toBe(true);
    expect(matches(inX, ['a', 'b'])).toBe(false);
    expect(matches(inX, [])).toBe(false);
  });

  it('skips list elements that are not scalars', () => {
    expect(matches(inX, [null, ['x'], { x: 1 }])).toBe(false);
    expect(matches(inX, [null, ['x'], 'x'])).toBe(true);
  });

  it('negates a list attribute as a whole', () => {
    const notX = clause('in', ['x'], { negate: true });
    expect(matches(notX, ['a', 'x'])).toBe(false);
    expect(matches(notX, ['a', 'b'])).toBe(true);
    expect(matches(notX, [])).toBe(true);
  });

  it('does not read attributes inherited from Object.prototype', () => {
    for (const attribute of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const c: Clause = { attribute, op: 'in', values: ['x'] };
      expect(clauseMatches(c, {})).toBe(false);
    }
  });
});

describe('in', () => {
  it('matches equal strings, numbers and booleans', () => {
    expect(matches(clause('in', ['gold']), 'gold')).toBe(true);
    expect(matches(clause('in', [42]), 42)).toBe(true);
    expect(matches(clause('in', [false]), false)).toBe(true);
  });

  it('does not match across types: "5" is not 5 and "true" is not true', () => {
    expect(matches(clause('in', [5]), '5')).toBe(false);
    expect(matches(clause('in', ['5']), 5)).toBe(false);
    expect(matches(clause('in', [true]), 'true')).toBe(false);
    expect(matches(clause('in', [1]), true)).toBe(false);
  });

  it('matches any of many values, of mixed types', () => {
    const many = clause('in', ['a', 'b', 3, true, ...Array.from({ length: 500 }, (_, i) => `user-${i}`)]);
    expect(matches(many, 'user-499')).toBe(true);
    expect(matches(many, 3)).toBe(true);
    expect(matches(many, true)).toBe(true);
    expect(matches(many, '3')).toBe(false);
    expect(matches(many, 'user-500')).toBe(false);
  });

  it('is case-sensitive', () => {
    expect(matches(clause('in', ['Gold']), 'gold')).toBe(false);
  });

  it('matches nobody with no values', () => {
    expect(matches(clause('in', []), 'x')).toBe(false);
  });

  it('refuses values that are not finite scalars, naming the value', () => {
    expect(compileError(clause('in', ['a', null])).path).toBe('rules[0].clauses[1].values[1]');
    expect(compileError(clause('in', [Number.NaN])).path).toBe('rules[0].clauses[1].values[0]');
    expect(compileError(clause('in', [Number.POSITIVE_INFINITY])).path).toBe('rules[0].clauses[1].values[0]');
    expect(compileError(clause('in', [['a']])).path).toBe('rules[0].clauses[1].values[0]');
  });
});

describe('startsWith, endsWith, contains', () => {
  it('tests strings case-sensitively', () => {
    expect(matches(clause('startsWith', ['admin-']), 'admin-7')).toBe(true);
    expect(matches(clause('startsWith', ['admin-']), 'Admin-7')).toBe(false);
    expect(matches(clause('endsWith', ['@acme.com']), 'jo@acme.com')).toBe(true);
    expect(matches(clause('endsWith', ['@acme.com']), 'jo@acme.com.evil')).toBe(false);
    expect(matches(clause('contains', ['beta']), 'app-beta-3')).toBe(true);
    expect(matches(clause('contains', ['beta']), 'app-BETA-3')).toBe(false);
  });

  it('matches when any value matches', () => {
    expect(matches(clause('endsWith', ['.de', '.fr']), 'example.fr')).toBe(true);
    expect(matches(clause('startsWith', ['a', 'b']), 'cat')).toBe(false);
  });

  it('does not match numbers or booleans', () => {
    expect(matches(clause('startsWith', ['4']), 42)).toBe(false);
    expect(matches(clause('contains', ['ru']), true)).toBe(false);
  });

  it('refuses values that are not strings', () => {
    for (const op of ['startsWith', 'endsWith', 'contains'] as const) {
      expect(compileError(clause(op, ['a', 4])).path).toBe('rules[0].clauses[1].values[1]');
    }
  });
});

describe('matches', () => {
  it('finds the pattern anywhere unless it is anchored', () => {
    expect(matches(clause('matches', ['b+']), 'abbbc')).toBe(true);
    expect(matches(clause('matches', ['^b+$']), 'abbbc')).toBe(false);
  });

  it('compiles with the u flag, so a code point is one character', () => {
    expect(matches(clause('matches', ['^.$']), '😀')).toBe(true);
    expect(matches(clause('matches', ['^\\p{Lu}']), 'Élan')).toBe(true);
  });

  it('gives the same answer on every call', () => {
    const c = clause('matches', ['\\d{3}']);
    const context = { attr: 'id-123' };
    expect([clauseMatches(c, context), clauseMatches(c, context), clauseMatches(c, context)]).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('does not match numbers or booleans', () => {
    expect(matches(clause('matches', ['4']), 42)).toBe(false);
  });

  it('refuses an invalid regular expression, with the engine’s reason', () => {
    const err = compileError(clause('matches', ['ok', '(unclosed']));
    expect(err.path).toBe('rules[0].clauses[1].values[1]');
    expect(err.message).toContain('not a valid regular expression');
  });

  it('refuses an escape the u flag forbids', () => {
    expect(compileError(clause('matches', ['\\-'])).path).toBe('rules[0].clauses[1].values[0]');
  });

  it(`accepts a pattern of ${MAX_REGEX_LENGTH} characters and refuses a longer one`, () => {
    expect(matches(clause('matches', ['a'.repeat(MAX_REGEX_LENGTH)]), 'a'.repeat(MAX_REGEX_LENGTH))).toBe(true);
    const err = compileError(clause('matches', ['a'.repeat(MAX_REGEX_LENGTH + 1)]));
    expect(err.message).toContain(`longer than ${MAX_REGEX_LENGTH}`);
  });

  it('refuses values that are not strings', () => {
    expect(compileError(clause('matches', [1])).path).toBe('rules[0].clauses[1].values[0]');
  });
});

describe('lt, lte, gt, gte', () => {
  it('compares numbers, with the bound itself included only by lte and gte', () => {
    expect([matches(clause('lt', [10]), 9), matches(clause('lt', [10]), 10)]).toEqual([true, false]);
    expect([matches(clause('lte', [10]), 10), matches(clause('lte', [10]), 10.5)]).toEqual([true, false]);
    expect([matches(clause('gt', [10]), 11), matches(clause('gt', [10]), 10)]).toEqual([true, false]);
    expect([matches(clause('gte', [10]), 10), matches(clause('gte', [10]), 9.99)]).toEqual([true, false]);
  });

  it('matches when the attribute compares true with any value', () => {
    expect(matches(clause('lt', [1, 100]), 50)).toBe(true);
    expect(matches(clause('gt', [100, 200]), 50)).toBe(false);
  });

  it('does not coerce numeric strings or booleans', () => {
    expect(matches(clause('lt', [10]), '5')).toBe(false);
    expect(matches(clause('gt', [0]), true)).toBe(false);
  });

  it('never matches NaN and compares infinities', () => {
    expect(matches(clause('lt', [10]), Number.NaN)).toBe(false);
    expect(matches(clause('gte', [10]), Number.NaN)).toBe(false);
    expect(matches(clause('gt', [10]), Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('refuses values that are not finite numbers', () => {
    expect(compileError(clause('lt', ['10'])).path).toBe('rules[0].clauses[1].values[0]');
    expect(compileError(clause('gte', [1, Number.NaN])).path).toBe('rules[0].clauses[1].values[1]');
    expect(compileError(clause('gt', [Number.NEGATIVE_INFINITY])).path).toBe('rules[0].clauses[1].values[0]');
  });
});

describe('toInstant', () => {
  it('reads a calendar date as midnight UTC', () => {
    expect(toInstant('2025-03-01')).toBe(utc(2025, 3, 1));
    expect(toInstant('2024-02-29')).toBe(utc(2024, 2, 29));
    expect(toInstant('2000-02-29')).toBe(utc(2000, 2, 29));
  });

  it('reads a date-time with Z or an explicit offset as that instant', () => {
    expect(toInstant('2025-03-01T12:00:00Z')).toBe(utc(2025, 3, 1, 12));
    expect(toInstant('2025-03-01T12:00:00+02:00')).toBe(utc(2025, 3, 1, 10));
    expect(toInstant('2025-03-01T12:00-05:30')).toBe(utc(2025, 3, 1, 17, 30));
    expect(toInstant('2025-01-01T00:30:00+01:00')).toBe(utc(2024, 12, 31, 23, 30));
  });

  it('reads fractions of a second, to the millisecond', () => {
    expect(toInstant('2025-03-01T12:00:00.5Z')).toBe(utc(2025, 3, 1, 12, 0, 0, 500));
    expect(toInstant('2025-03-01T12:00:00.123Z')).toBe(utc(2025, 3, 1, 12, 0, 0, 123));
    expect(toInstant('2025-03-01T12:00:00.123999999Z')).toBe(utc(2025, 3, 1, 12, 0, 0, 123));
  });

  it('reads years before 100 as themselves, not as 19xx', () => {
    const year99 = new Date(0);
    year99.setUTCFullYear(99, 0, 1);
    expect(toInstant('0099-01-01')).toBe(year99.getTime());
    // Year 0 is a leap year in the proleptic Gregorian calendar.
    expect(toInstant('0000-02-29')).toBe((toInstant('0000-03-01') as number) - 86_400_000);
  });

  it('passes finite epoch milliseconds through', () => {
    expect(toInstant(1_740_830_400_000)).toBe(1_740_830_400_000);
    expect(toInstant(-1)).toBe(-1);
  });

  it.each([
    ['a date-time without an offset', '2025-03-01T12:00:00'],
    ['a date-time with minutes only and no offset', '2025-03-01T12:00'],
    ['a space instead of T', '2025-03-01 12:00:00Z'],
    ['a basic-format date', '20250301'],
    ['single-digit month and day', '2025-3-1'],
    ['February 29 in a common year', '2025-02-29'],
    ['February 29 in a century that is not a leap year', '1900-02-29'],
    ['April 31', '2025-04-31'],
    ['month 13', '2025-13-01'],
    ['month 0', '2025-00-10'],
    ['day 0', '2025-01-00'],
    ['day 32', '2025-01-32'],
    ['hour 24', '2025-03-01T24:00:00Z'],
    ['minute 60', '2025-03-01T23:60:00Z'],
    ['second 60', '2025-03-01T23:59:60Z'],
    ['an offset of 24 hours', '2025-03-01T12:00:00+24:00'],
    ['an offset of 60 minutes', '2025-03-01T12:00:00-01:60'],
    ['an offset without a colon', '2025-03-01T12:00:00+0200'],
    ['more than nine fraction digits', '2025-03-01T12:00:00.1234567890Z'],
    ['a human date', 'March 1, 2025'],
    ['an epoch in a string', '1740830400000'],
  ])('refuses %s', (_what, input) => {
    expect(toInstant(input)).toBeUndefined();
  });

  it('refuses non-finite numbers, booleans and other types', () => {
    expect(toInstant(Number.NaN)).toBeUndefined();
    expect(toInstant(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(toInstant(true)).toBeUndefined();
    expect(toInstant(null)).toBeUndefined();
    expect(toInstant({})).toBeUndefined();
  });
});

describe('before, after', () => {
  it('compares date strings and epoch milliseconds as instants', () => {
    expect(matches(clause('before', ['2025-03-01']), '2025-02-28T23:59:59Z')).toBe(true);
    expect(matches(clause('before', ['2025-03-01']), '2025-03-01T00:00:00+01:00')).toBe(true);
    expect(matches(clause('before', ['2025-03-01']), '2025-03-01T00:00:00-01:00')).toBe(false);
    expect(matches(clause('after', [utc(2025, 3, 1)]), '2025-03-01T00:00:00.001Z')).toBe(true);
    expect(matches(clause('after', ['2025-03-01T00:00:00Z']), utc(2025, 3, 1) + 1)).toBe(true);
  });

  it('treats the same instant as neither before nor after', () => {
    expect(matches(clause('before', ['2025-03-01']), utc(2025, 3, 1))).toBe(false);
    expect(matches(clause('after', ['2025-03-01']), '2025-03-01T02:00:00+02:00')).toBe(false);
  });

  it('matches when the attribute is before or after any value', () => {
    expect(matches(clause('before', ['2020-01-01', '2030-01-01']), '2025-06-01')).toBe(true);
    expect(matches(clause('after', ['2026-01-01', '2030-01-01']), '2025-06-01')).toBe(false);
  });

  it('does not match an attribute that is not a date, unless negated', () => {
    expect(matches(clause('before', ['2025-03-01']), '2025-02-01T12:00:00')).toBe(false);
    expect(matches(clause('after', ['2025-03-01']), 'tomorrow')).toBe(false);
    expect(matches(clause('after', ['2025-03-01']), true)).toBe(false);
    expect(matches(clause('after', ['2025-03-01'], { negate: true }), 'tomorrow')).toBe(true);
  });

  it('refuses a date-time without an offset and other non-dates as values', () => {
    const err = compileError(clause('before', ['2025-03-01', '2025-03-01T12:00:00']));
    expect(err.path).toBe('rules[0].clauses[1].values[1]');
    expect(compileError(clause('after', [true])).path).toBe('rules[0].clauses[1].values[0]');
    expect(compileError(clause('after', [Number.NaN])).path).toBe('rules[0].clauses[1].values[0]');
    expect(compileError(clause('after', ['2025-02-30'])).path).toBe('rules[0].clauses[1].values[0]');
  });
});

describe('semverEq, semverLt, semverGt', () => {
  it('compares by semver precedence, not as strings', () => {
    expect(matches(clause('semverGt', ['1.9.0']), '1.10.0')).toBe(true);
    expect(matches(clause('semverLt', ['2.0.0']), '2.0.0-rc.1')).toBe(true);
    expect(matches(clause('semverGt', ['2.0.0-rc.1']), '2.0.0')).toBe(true);
    expect(matches(clause('semverLt', ['1.0.0']), '1.0.0')).toBe(false);
    expect(matches(clause('semverGt', ['1.0.0']), '1.0.0')).toBe(false);
  });

  it('treats versions that differ only in build metadata or a leading v as equal', () => {
    expect(matches(clause('semverEq', ['1.2.3']), 'v1.2.3+build.9')).toBe(true);
    expect(matches(clause('semverEq', ['1.2.3']), '1.2.3-rc.1')).toBe(false);
  });

  it('matches when the attribute compares true with any value', () => {
    expect(matches(clause('semverEq', ['1.0.0', '2.0.0']), '2.0.0')).toBe(true);
  });

  it('does not match an attribute that is not a semver, unless negated', () => {
    expect(matches(clause('semverLt', ['2.0.0']), '1.2')).toBe(false);
    expect(matches(clause('semverLt', ['2.0.0']), 1)).toBe(false);
    expect(matches(clause('semverLt', ['2.0.0'], { negate: true }), '1.2')).toBe(true);
  });

  it('answers the same for a version seen many times and among many others', () => {
    const c = clause('semverGt', ['1.5.0']);
    const scope = scopeWithSegments([]);
    for (let i = 0; i < 2000; i++) {
      expect(clauseMatches(c, { attr: `1.${i % 1000}.0` }, scope)).toBe(i % 1000 > 5);
      expect(clauseMatches(c, { attr: 'not-a-version' }, scope)).toBe(false);
    }
  });

  it('refuses values that are not semvers', () => {
    expect(compileError(clause('semverEq', ['1.2'])).path).toBe('rules[0].clauses[1].values[0]');
    expect(compileError(clause('semverGt', ['1.0.0', 2])).path).toBe('rules[0].clauses[1].values[1]');
  });
});

describe('inSegment', () => {
  const segmentClause = (values: string[], negate = false): Clause => ({
    attribute: 'key',
    op: 'inSegment',
    values,
    negate,
  });

  it('matches a context in any of the named segments', () => {
    const scope = scopeWithSegments([
      { key: 'a', version: 1 },
      { key: 'b', included: ['in'], version: 1 },
    ]);
    const c = segmentClause(['a', 'b']);
    expect(clauseMatches(c, { key: 'in' }, scope)).toBe(true);
    expect(clauseMatches(c, { key: 'out' }, scope)).toBe(false);
  });

  it('matches nobody for an unknown segment, and everybody when negated', () => {
    expect(clauseMatches(segmentClause(['gone']), { key: 'in' })).toBe(false);
    expect(clauseMatches(segmentClause(['gone'], true), { key: 'in' })).toBe(true);
  });

  it('refuses segment keys that are not strings', () => {
    expect(compileError({ op: 'inSegment', values: ['a', 1] }).path).toBe('rules[0].clauses[1].values[1]');
  });

  it('records a cycle instead of recursing when a segment refers to itself', () => {
    const scope = scopeWithSegments([
      { key: 'loop', rules: [{ id: 'r', clauses: [segmentClause(['loop'])] }], version: 1 },
    ]);
    expect(clauseMatches(segmentClause(['loop']), { key: 'k' }, scope)).toBe(false);
    expect(scope.failure).toBe('cycle through segment:loop -> segment:loop');
    expect(scope.stack).toEqual([]);
  });
});
