import { describe, expect, it } from 'vitest';
import { boolFlag, inSegment, onFor, ruleset, split } from './builders.fixture.js';
import { compile } from './evaluator.js';
import type { EvaluationContext, Segment } from './types.js';

describe('evaluate: cycles', () => {
  const prerequisiteOn = (flag: string) => ({ prerequisites: [{ flag, variants: ['on'] }] });
  const evaluator = compile(
    ruleset(
      [
        boolFlag('self', prerequisiteOn('self')),
        boolFlag('ping', prerequisiteOn('pong')),
        boolFlag('pong', prerequisiteOn('ping')),
        boolFlag('a', prerequisiteOn('b')),
        boolFlag('b', prerequisiteOn('c')),
        boolFlag('c', prerequisiteOn('a')),
        boolFlag('downstream', { offVariant: 'off', ...prerequisiteOn('ping') }),
        boolFlag('loop-user', { defaultServe: { variant: 'off' }, rules: [onFor('r', [inSegment('loop-1')])] }),
        boolFlag('self-seg-user', { defaultServe: { variant: 'off' }, rules: [onFor('r', [inSegment('mirror')])] }),
        boolFlag('fine', { defaultServe: { variant: 'off' }, targets: [{ variant: 'on', values: ['ann'] }] }),
      ],
      [
        { key: 'loop-1', rules: [{ id: 'r', clauses: [inSegment('loop-2')] }], version: 1 },
        { key: 'loop-2', rules: [{ id: 'r', clauses: [inSegment('loop-1')] }], version: 1 },
        { key: 'mirror', included: ['ann'], rules: [{ id: 'r', clauses: [inSegment('mirror')] }], version: 1 },
      ],
    ),
  );

  it('answers a flag that is its own prerequisite with PARSE_ERROR naming the cycle', () => {
    expect(evaluator.evaluate('self', {}, 'dflt')).toEqual({
      value: 'dflt',
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
      errorMessage: 'cycle through self -> self',
    });
  });

  it('answers a cycle through several flags with PARSE_ERROR from wherever it is entered', () => {
    expect(evaluator.evaluate('ping', {}, 'dflt').errorMessage).toBe('cycle through ping -> pong -> ping');
    expect(evaluator.evaluate('pong', {}, 'dflt').errorMessage).toBe('cycle through pong -> ping -> pong');
    expect(evaluator.evaluate('b', {}, 'dflt')).toMatchObject({
      value: 'dflt',
      errorCode: 'PARSE_ERROR',
      errorMessage: 'cycle through b -> c -> a -> b',
    });
  });

  it('answers a flag that depends on a cycle with PARSE_ERROR too', () => {
    expect(evaluator.evaluate('downstream', {}, 'dflt')).toMatchObject({ value: 'dflt', errorCode: 'PARSE_ERROR' });
  });

  it('answers a cycle through segments with PARSE_ERROR naming the segments', () => {
    expect(evaluator.evaluate('loop-user', { key: 'zed' }, 'dflt')).toEqual({
      value: 'dflt',
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
      errorMessage: 'cycle through loop-user -> segment:loop-1 -> segment:loop-2 -> segment:loop-1',
    });
  });

  it('finds a segment cycle only on the paths that reach it', () => {
    expect(evaluator.evaluate('self-seg-user', { key: 'ann' }, 'dflt')).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    expect(evaluator.evaluate('self-seg-user', { key: 'zed' }, 'dflt')).toMatchObject({
      value: 'dflt',
      errorCode: 'PARSE_ERROR',
    });
  });

  it('evaluates normally on the next call after a cycle', () => {
    for (let i = 0; i < 3; i++) {
      expect(evaluator.evaluate('ping', {}, 'dflt').errorCode).toBe('PARSE_ERROR');
      expect(evaluator.evaluate('fine', { key: 'ann' }, false)).toEqual({
        value: true,
        variant: 'on',
        reason: 'TARGETING_MATCH',
      });
      expect(evaluator.evaluate('fine', { key: 'zed' }, true)).toEqual({
        value: false,
        variant: 'off',
        reason: 'DEFAULT',
      });
    }
  });

  it('does not mistake a diamond of prerequisites for a cycle', () => {
    const diamond = compile(
      ruleset([
        boolFlag('top', {
          prerequisites: [
            { flag: 'left', variants: ['on'] },
            { flag: 'right', variants: ['on'] },
          ],
        }),
        boolFlag('left', prerequisiteOn('bottom')),
        boolFlag('right', prerequisiteOn('bottom')),
        boolFlag('bottom'),
      ]),
    );
    expect(diamond.evaluate('top', {}, false)).toEqual({ value: true, variant: 'on', reason: 'DEFAULT' });
  });

  it('answers PARSE_ERROR past 64 levels of prerequisites, the same in every engine, and evaluates shorter chains', () => {
    const flags = Array.from({ length: 3000 }, (_, i) =>
      boolFlag(`f${i}`, i < 2999 ? prerequisiteOn(`f${i + 1}`) : {}),
    );
    const chain = compile(ruleset(flags));
    const deep = chain.evaluate('f0', {}, 'dflt');
    expect(deep).toMatchObject({ value: 'dflt', reason: 'ERROR', errorCode: 'PARSE_ERROR' });
    expect(deep.errorMessage).toContain('64');
    // f2936 has 63 flags below it: 64 on the stack with itself, the most allowed.
    expect(chain.evaluate('f2936', {}, 'dflt')).toEqual({ value: true, variant: 'on', reason: 'DEFAULT' });
    expect(chain.evaluate('f2935', {}, 'dflt')).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR' });
  });
});

describe('evaluate: hostile contexts', () => {
  const evaluator = compile(
    ruleset([
      boolFlag('targeted', {
        defaultServe: { variant: 'off' },
        targets: [{ variant: 'on', values: ['ann'] }],
        rules: [onFor('ctor', [{ attribute: 'constructor', op: 'in', values: ['x'] }])],
      }),
      boolFlag('split', { defaultServe: { rollout: { weights: split(['on', 50_000], ['off', 50_000]) } } }),
    ]),
  );

  it('evaluates a context that is not an object as an empty context', () => {
    for (const context of [null, undefined, 42, 'ann', true, () => ({ key: 'ann' })]) {
      expect(evaluator.evaluate('targeted', context as unknown as EvaluationContext, true)).toEqual({
        value: false,
        variant: 'off',
        reason: 'DEFAULT',
      });
    }
  });

  it('does not read __proto__ keys of a parsed context as attributes', () => {
    const context = JSON.parse('{"__proto__": {"key": "ann", "constructor": "x"}, "plan": "pro"}');
    expect(evaluator.evaluate('targeted', context, true).variant).toBe('off');
    expect(({} as Record<string, unknown>).key).toBeUndefined();
  });

  it('reads an own constructor attribute like any other', () => {
    const context = JSON.parse('{"key": "zed", "constructor": "x"}');
    expect(evaluator.evaluate('targeted', context, false)).toMatchObject({ value: true, ruleId: 'ctor' });
  });

  it('serves GENERAL instead of throwing when reading the context throws', () => {
    const context = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    const result = evaluator.evaluate('targeted', context, 'dflt');
    expect(result).toMatchObject({ value: 'dflt', reason: 'ERROR', errorCode: 'GENERAL' });
    expect(result.errorMessage).toContain('boom');
    expect(evaluator.evaluate('targeted', { key: 'ann' }, false).value).toBe(true);
  });

  it('buckets a key of several megabytes like any other', () => {
    const key = '日本'.repeat(1_000_000);
    const first = evaluator.evaluate('split', { key }, null);
    expect(first.reason).toBe('SPLIT');
    expect(evaluator.evaluate('split', { key: `${key}` }, null)).toBe(first);
  });
});

describe('evaluate: broken segments and bad patches', () => {
  const broken: Segment = {
    key: 'bad',
    version: 1,
    rules: [{ id: 'x', clauses: [{ attribute: 'email', op: 'matches', values: ['('] }] }],
  };

  it('answers PARSE_ERROR when a rule reaches a segment that cannot be evaluated, negated or not', () => {
    const evaluator = compile(
      ruleset(
        [
          boolFlag('plain', { defaultServe: { variant: 'off' }, rules: [onFor('r', [inSegment('bad')])] }),
          boolFlag('negated', {
            defaultServe: { variant: 'off' },
            rules: [onFor('r', [{ ...inSegment('bad'), negate: true }])],
          }),
        ],
        [broken],
      ),
    );
    for (const key of ['plain', 'negated']) {
      expect(evaluator.evaluate(key, { key: 'u' }, 'dflt')).toMatchObject({
        value: 'dflt',
        reason: 'ERROR',
        errorCode: 'PARSE_ERROR',
      });
    }
  });

  it('ignores a patch with a version that is not a whole number, or a value under another key', () => {
    const evaluator = compile(ruleset([boolFlag('f')]));
    expect(evaluator.applyPatch({ kind: 'flag', key: 'f', version: Number.NaN, value: null })).toBe(false);
    expect(evaluator.applyPatch({ kind: 'flag', key: 'f', version: 11.5, value: null })).toBe(false);
    expect(evaluator.applyPatch({ kind: 'flag', key: 'f', version: 12, value: boolFlag('g') })).toBe(false);
    expect(evaluator.version).toBe(10);
    expect(evaluator.evaluate('f', {}, false).reason).toBe('STATIC');
  });
});
