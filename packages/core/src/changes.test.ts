import { describe, expect, it } from 'vitest';
import { boolFlag, inSegment, onFor, ruleset } from './builders.fixture.js';
import { affectedFlags, changedFlags } from './changes.js';
import { compile } from './evaluator.js';
import type { Segment } from './types.js';

const segment = (key: string, version: number, fields: Partial<Segment> = {}): Segment => ({ key, version, ...fields });

const base = () =>
  ruleset(
    [
      boolFlag('plain', { version: 1 }),
      boolFlag('on-outer', { version: 1, rules: [onFor('r', [inSegment('outer')])] }),
      boolFlag('needs-on-outer', { version: 1, prerequisites: [{ flag: 'on-outer', variants: ['on'] }] }),
      boolFlag('unrelated', { version: 1, rules: [onFor('r', [inSegment('other')])] }),
    ],
    [
      segment('inner', 1, { included: ['ann'] }),
      segment('outer', 1, { rules: [{ id: 'r', clauses: [inSegment('inner')] }] }),
      segment('other', 1),
    ],
  );

describe('affectedFlags', () => {
  it('follows a segment change through nesting segments, rules and prerequisites', () => {
    expect(affectedFlags(compile(base()), [], ['inner'])).toEqual(['needs-on-outer', 'on-outer']);
  });

  it('follows a flag change to the flags that need it, and no further', () => {
    expect(affectedFlags(compile(base()), ['on-outer'], [])).toEqual(['needs-on-outer', 'on-outer']);
    expect(affectedFlags(compile(base()), ['plain'], [])).toEqual(['plain']);
  });
});

describe('changedFlags', () => {
  it('names added, removed and re-versioned flags, and what reaches a changed segment', () => {
    const before = base();
    const after = {
      ...before,
      flags: [...before.flags.filter((f) => f.key !== 'plain'), boolFlag('added', { version: 2 })],
      segments: before.segments.map((s) => (s.key === 'inner' ? { ...s, version: 2 } : s)),
    };
    expect(changedFlags(compile(before), compile(after))).toEqual(['added', 'needs-on-outer', 'on-outer', 'plain']);
  });

  it('names nothing between two compilations of the same ruleset', () => {
    expect(changedFlags(compile(base()), compile(base()))).toEqual([]);
  });
});
