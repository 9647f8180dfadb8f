import { describe, expect, it } from 'vitest';
import { isMember as member, newEvalScope } from './builders.fixture.js';
import { checkSegment } from './check.js';
import { clauses, compileSegment } from './compile-segment.js';
import { allMatch } from './operators.js';
import type { EvaluationContext, Segment } from './types.js';

const betaTesters: Segment = {
  key: 'beta-testers',
  included: ['ann', 'bob'],
  excluded: ['bob', 'eve'],
  rules: [
    { id: 'staff', clauses: [{ attribute: 'email', op: 'endsWith', values: ['@acme.com'] }] },
    {
      id: 'paying-in-france',
      clauses: [
        { attribute: 'plan', op: 'in', values: ['pro'] },
        { attribute: 'country', op: 'in', values: ['FR'] },
      ],
    },
  ],
  version: 3,
};

describe('compileSegment', () => {
  const segment = compileSegment(betaTesters, 'fallback');

  it('keeps the segment’s key and version', () => {
    expect(segment.key).toBe('beta-testers');
    expect(segment.version).toBe(3);
    expect(segment.invalid).toBe(false);
  });

  it('includes a context whose key is listed in included', () => {
    expect(member(segment, { key: 'ann' })).toBe(true);
  });

  it('excludes a context whose key is in excluded, even when included or matching a rule', () => {
    expect(member(segment, { key: 'bob' })).toBe(false);
    expect(member(segment, { key: 'eve', email: 'eve@acme.com' })).toBe(false);
  });

  it('includes a context that matches any rule', () => {
    expect(member(segment, { key: 'cy', email: 'cy@acme.com' })).toBe(true);
    expect(member(segment, { key: 'di', plan: 'pro', country: 'FR' })).toBe(true);
  });

  it('requires every clause of a rule to match', () => {
    expect(member(segment, { key: 'di', plan: 'pro', country: 'DE' })).toBe(false);
  });

  it('leaves out a context that is in no list and matches no rule', () => {
    expect(member(segment, { key: 'zed', email: 'zed@example.com' })).toBe(false);
  });

  it('matches on the key only when it is a string, but still tries the rules', () => {
    expect(member(segment, { key: ['ann'] } as unknown as EvaluationContext)).toBe(false);
    expect(member(segment, { email: 'anon@acme.com' })).toBe(true);
  });

  it('falls back to the given key and version 0 when the segment has none', () => {
    const bare = compileSegment({ rules: [] }, 'from-the-map');
    expect([bare.key, bare.version, bare.invalid]).toEqual(['from-the-map', 0, false]);
  });

  it('treats an empty segment as matching nobody', () => {
    expect(member(compileSegment({ key: 'empty', version: 1 }, 'empty'), { key: 'ann' })).toBe(false);
  });

  it('treats a rule without clauses as matching everyone', () => {
    const everyone = compileSegment({ key: 'all', rules: [{ id: 'r', clauses: [] }], version: 1 }, 'all');
    expect(member(everyone, {})).toBe(true);
  });

  it.each([
    ['included is not an array', { included: 'ann' }, 'included'],
    ['an included key is not a string', { included: ['ann', 7] }, 'included[1]'],
    ['excluded is not an array', { excluded: {} }, 'excluded'],
    ['rules is not an array', { rules: {} }, 'rules'],
    ['a rule has no clauses', { rules: [{ id: 'r' }] }, 'rules[0].clauses'],
    [
      'a clause has a bad regex',
      { rules: [{ id: 'r', clauses: [{ attribute: 'a', op: 'matches', values: ['('] }] }] },
      'rules[0].clauses[0].values[0]',
    ],
  ])('matches nobody and reports why when %s', (_what, fields, path) => {
    const broken = compileSegment({ key: 'broken', version: 1, ...fields }, 'broken');
    expect(broken.invalid).toBe(true);
    expect(checkSegment({ key: 'broken', version: 1, ...fields } as Segment)?.message).toMatch(
      new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: `),
    );
    expect(member(broken, { key: 'ann', a: '(' })).toBe(false);
  });

  it('does not throw on a segment that is not an object', () => {
    for (const input of [null, 42, 'segment', []]) {
      const s = compileSegment(input, 'odd');
      expect(s.key).toBe('odd');
      expect(member(s, { key: 'ann' })).toBe(false);
    }
  });
});

describe('clauses', () => {
  it('refuses clauses that are not an array; checkSegment names the rule', () => {
    expect(() => clauses(undefined)).toThrow();
    const rules = [...Array.from({ length: 4 }, () => ({ id: 'r', clauses: [] })), { id: 'r' }];
    expect(checkSegment({ key: 's', version: 1, rules } as Segment)).toEqual({
      message: 'rules[4].clauses: must be an array',
      path: 'rules[4].clauses',
    });
  });

  it('refuses a bad clause; checkSegment names it by its index', () => {
    const items = [
      { attribute: 'a', op: 'in', values: [] },
      { op: 'nope', values: [] },
    ];
    expect(() => clauses(items)).toThrow();
    expect(checkSegment({ key: 's', version: 1, rules: [{ id: 'r', clauses: items }] } as Segment)?.path).toBe(
      'rules[0].clauses[1].op',
    );
  });

  it('stops at the first clause that does not match', () => {
    let secondCalls = 0;
    const rule = clauses([
      { attribute: 'a', op: 'in', values: ['x'] },
      { attribute: 'b', op: 'in', values: ['y'] },
    ]);
    const context = {
      a: 'no',
      get b() {
        secondCalls++;
        return 'y';
      },
    } as EvaluationContext;
    expect(allMatch(rule, context, newEvalScope())).toBe(false);
    expect(secondCalls).toBe(0);
  });
});
