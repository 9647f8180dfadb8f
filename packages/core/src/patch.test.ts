import { describe, expect, it } from 'vitest';
import { boolFlag, ruleset } from './builders.fixture.js';
import { compile } from './evaluator.js';
import { patchIsValid, patchProblem } from './patch.js';
import type { Patch } from './types.js';

const flag = boolFlag('a', { version: 2 });

describe('patchProblem', () => {
  it('accepts an upsert of the flag or segment the patch names, and a deletion', () => {
    expect(patchProblem({ kind: 'flag', key: 'a', version: 2, value: flag })).toBeUndefined();
    expect(patchProblem({ kind: 'segment', key: 's', version: 0, value: { key: 's', version: 0 } })).toBeUndefined();
    expect(patchProblem({ kind: 'flag', key: 'a', version: 3, value: null })).toBeUndefined();
  });

  it('names the part that makes a patch unusable', () => {
    const good = { kind: 'flag', key: 'a', version: 2, value: flag };
    expect(patchProblem(null)).toBe('patch');
    expect(patchProblem('{"kind":"flag"}')).toBe('patch');
    expect(patchProblem({ ...good, kind: 'variant' })).toBe('kind');
    expect(patchProblem({ ...good, key: '' })).toBe('key');
    expect(patchProblem({ ...good, key: 7 })).toBe('key');
    for (const version of [-1, 1.5, Number.NaN, 2 ** 53, '2', undefined]) {
      expect(patchProblem({ ...good, version }), String(version)).toBe('version');
    }
    expect(patchProblem({ ...good, value: boolFlag('b') })).toBe('value');
    expect(patchProblem({ ...good, value: 'a' })).toBe('value');
    expect(patchProblem({ ...good, value: undefined })).toBe('value');
  });

  it('is what the evaluator checks before it looks at versions', () => {
    const evaluator = compile(ruleset([flag], [], 2));
    const unusable = { kind: 'rule', key: 'a', version: 9, value: null } as unknown as Patch;
    expect(patchIsValid(unusable)).toBe(false);
    expect(evaluator.applyPatch(unusable)).toBe(false);
    expect(evaluator.flagKeys()).toEqual(['a']);
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 9, value: null })).toBe(true);
    expect(evaluator.flagKeys()).toEqual([]);
  });
});
