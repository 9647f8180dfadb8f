import { describe, expect, it } from 'vitest';
import { checkoutFlag } from './builders.fixture.js';
import { checkFlag, checkSegment } from './check.js';
import type { Flag, Segment } from './types.js';

const flag: Flag = checkoutFlag();

describe('checkFlag', () => {
  it('finds nothing wrong with a flag compile can evaluate', () => {
    expect(checkFlag(flag)).toBeUndefined();
  });

  it('names the problem and where it is', () => {
    const problem = checkFlag({
      ...flag,
      rules: [{ id: 'r', clauses: [{ attribute: 'email', op: 'matches', values: ['('] }], serve: { variant: 'on' } }],
    });
    expect(problem?.path).toBe('rules[0].clauses[0].values[0]');
    expect(problem?.message).toContain('not a valid regular expression');
  });

  it('does not look up prerequisites or segments, which may arrive later', () => {
    expect(
      checkFlag({
        ...flag,
        prerequisites: [{ flag: 'not-yet-created', variants: ['on'] }],
        rules: [
          { id: 'r', clauses: [{ attribute: 'key', op: 'inSegment', values: ['nowhere'] }], serve: { variant: 'on' } },
        ],
      }),
    ).toBeUndefined();
  });
});

describe('checkSegment', () => {
  const segment: Segment = { key: 'beta', included: ['ann'], version: 1 };

  it('finds nothing wrong with a segment compile can evaluate', () => {
    expect(checkSegment(segment)).toBeUndefined();
  });

  it('names the problem and where it is', () => {
    const problem = checkSegment({ ...segment, excluded: ['bob', 7 as unknown as string] });
    expect(problem?.path).toBe('excluded[1]');
    expect(problem?.message).toContain('must be a string');
  });
});
