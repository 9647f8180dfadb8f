import { describe, expect, it } from 'vitest';
import { boolFlag, inSegment, onFor, ruleset, split } from './builders.fixture.js';
import { checkFlag } from './check.js';
import { SwitchyardError } from './errors.js';
import { compile } from './evaluator.js';
import type { Ruleset } from './types.js';

function rulesetError(input: unknown): SwitchyardError {
  try {
    compile(input as Ruleset);
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error('expected compile to throw');
}

describe('compile', () => {
  it('refuses a ruleset that is not an object with INVALID_RULESET', () => {
    for (const input of [null, undefined, 42, 'ruleset', true]) {
      expect(rulesetError(input).code).toBe('INVALID_RULESET');
    }
  });

  it('refuses an array as a ruleset', () => {
    expect(rulesetError([])).toBeInstanceOf(SwitchyardError);
  });

  it('refuses a schema version it does not know with UNSUPPORTED_SCHEMA_VERSION', () => {
    for (const schemaVersion of [2, 0, '1', undefined]) {
      const err = rulesetError({ ...ruleset([]), schemaVersion });
      expect(err.code).toBe('UNSUPPORTED_SCHEMA_VERSION');
      expect(err.message).toContain('this engine reads 1');
    }
  });

  it.each([
    ['flags is missing', { flags: undefined }],
    ['flags is not an array', { flags: {} }],
    ['segments is missing', { segments: undefined }],
    ['segments is not an array', { segments: 'none' }],
    ['environment is not a string', { environment: 3 }],
    ['version is negative', { version: -1 }],
    ['version is not an integer', { version: 1.5 }],
    ['version is a string', { version: '10' }],
    ['a flag has no key', { flags: [{ ...boolFlag('x'), key: undefined }] }],
    ['a flag is null', { flags: [null] }],
    ['a segment has an empty key', { segments: [{ key: '', version: 1 }] }],
  ])('refuses a ruleset with INVALID_RULESET when %s', (_what, fields) => {
    const err = rulesetError({ ...ruleset([]), ...fields });
    expect(err.code).toBe('INVALID_RULESET');
    expect(err.name).toBe('SwitchyardError');
  });

  it('reports the environment and version it was compiled from', () => {
    const evaluator = compile(ruleset([boolFlag('a')], [], 42));
    expect(evaluator.environment).toBe('production');
    expect(evaluator.version).toBe(42);
    expect(evaluator.flagKeys()).toEqual(['a']);
  });

  it('does not freeze or change the caller’s ruleset', () => {
    const input = ruleset(
      [
        {
          ...boolFlag('a'),
          type: 'json',
          variants: [{ key: 'on', value: { list: [1] } }],
          defaultServe: { variant: 'on' },
        },
      ],
      [{ key: 's', included: ['ann'], version: 1 }],
    );
    const before = JSON.stringify(input);
    compile(input).evaluate('a', {}, null);
    expect(JSON.stringify(input)).toBe(before);
    expect(Object.isFrozen(input)).toBe(false);
    expect(Object.isFrozen(input.flags[0])).toBe(false);
    expect(Object.isFrozen(input.flags[0]?.variants[0]?.value)).toBe(false);
    expect(Object.isFrozen(input.segments[0])).toBe(false);
  });

  it('is not affected by later changes to the caller’s ruleset objects', () => {
    const flag = boolFlag('a', {
      defaultServe: { variant: 'off' },
      targets: [{ variant: 'on', values: ['ann'] }],
      rules: [onFor('gold', [{ attribute: 'plan', op: 'in', values: ['gold'] }])],
    });
    const evaluator = compile(ruleset([flag]));
    flag.targets?.[0]?.values.push('bob');
    flag.rules?.[0]?.clauses[0]?.values.push('silver');
    flag.variants[0] = { key: 'on', value: false };
    expect(evaluator.evaluate('a', { key: 'bob' }, null).variant).toBe('off');
    expect(evaluator.evaluate('a', { key: 'x', plan: 'silver' }, null).variant).toBe('off');
    expect(evaluator.evaluate('a', { key: 'ann' }, null).value).toBe(true);
  });
});

describe('evaluate: order and reasons', () => {
  const evaluator = compile(
    ruleset(
      [
        boolFlag('static'),
        boolFlag('killed', { enabled: false, offVariant: 'off', targets: [{ variant: 'on', values: ['ann'] }] }),
        boolFlag('killed-no-off', { enabled: false }),
        boolFlag('gated', { offVariant: 'off', prerequisites: [{ flag: 'by-plan', variants: ['on'] }] }),
        boolFlag('by-plan', {
          defaultServe: { variant: 'off' },
          targets: [{ variant: 'on', values: ['ann'] }],
          rules: [onFor('pro', [{ attribute: 'plan', op: 'in', values: ['pro'] }])],
        }),
        boolFlag('split', { defaultServe: { rollout: { weights: split(['on', 50_000], ['off', 50_000]) } } }),
        { ...boolFlag('broken'), defaultServe: { variant: 'maybe' } },
        {
          ...boolFlag('typed', { metadata: { owner: 'growth' } }),
          type: 'string',
          variants: [{ key: 'on', value: 'yes' }],
        },
      ],
      [],
    ),
  );

  it('serves the caller’s default with FLAG_NOT_FOUND for an unknown flag', () => {
    expect(evaluator.evaluate('nope', { key: 'ann' }, 'dflt')).toEqual({
      value: 'dflt',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
      errorMessage: 'flag "nope" not found',
    });
  });

  it('serves the caller’s default with PARSE_ERROR for a flag it cannot evaluate, naming the flag', () => {
    const result = evaluator.evaluate('broken', {}, false);
    expect(result).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'PARSE_ERROR' });
    expect(result.errorMessage).toBe('flag "broken" is invalid; checkFlag() tells why');
    expect(checkFlag({ ...boolFlag('broken'), defaultServe: { variant: 'maybe' } })?.path).toBe('defaultServe.variant');
    expect(result).not.toHaveProperty('variant');
  });

  it('keeps serving the neighbours of a broken flag', () => {
    expect(evaluator.evaluate('static', {}, false)).toEqual({ value: true, variant: 'on', reason: 'STATIC' });
  });

  it('serves the caller’s default with TYPE_MISMATCH when the flag is of another type', () => {
    expect(evaluator.evaluate('typed', {}, false, 'boolean')).toEqual({
      value: false,
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
      errorMessage: 'flag "typed" is string, not boolean',
      flagMetadata: { owner: 'growth' },
    });
    expect(evaluator.evaluate('typed', {}, 'x', 'string').value).toBe('yes');
    expect(evaluator.evaluate('typed', {}, 'x').value).toBe('yes');
  });

  it('reports PARSE_ERROR before TYPE_MISMATCH, and TYPE_MISMATCH before DISABLED', () => {
    expect(evaluator.evaluate('broken', {}, 0, 'number').errorCode).toBe('PARSE_ERROR');
    expect(evaluator.evaluate('killed', {}, 0, 'number').errorCode).toBe('TYPE_MISMATCH');
  });

  it('serves the off variant when the flag is killed, even to an individual target', () => {
    expect(evaluator.evaluate('killed', { key: 'ann' }, true)).toEqual({
      value: false,
      variant: 'off',
      reason: 'DISABLED',
    });
  });

  it('serves the caller’s default when a killed flag has no off variant', () => {
    expect(evaluator.evaluate('killed-no-off', {}, 'dflt')).toEqual({ value: 'dflt', reason: 'DISABLED' });
  });

  it('serves the off variant with PREREQUISITE_FAILED when a prerequisite serves another variant', () => {
    expect(evaluator.evaluate('gated', { key: 'zed' }, true)).toEqual({
      value: false,
      variant: 'off',
      reason: 'PREREQUISITE_FAILED',
    });
  });

  it('evaluates the flag itself once its prerequisites are met', () => {
    expect(evaluator.evaluate('gated', { key: 'ann' }, false)).toEqual({
      value: true,
      variant: 'on',
      reason: 'DEFAULT',
    });
    expect(evaluator.evaluate('gated', { key: 'zed', plan: 'pro' }, false).value).toBe(true);
  });

  it('serves an individual target with TARGETING_MATCH and no rule id', () => {
    expect(evaluator.evaluate('by-plan', { key: 'ann' }, false)).toEqual({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
    });
  });

  it('serves a matching rule with TARGETING_MATCH and its id', () => {
    expect(evaluator.evaluate('by-plan', { key: 'zed', plan: 'pro' }, false)).toEqual({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      ruleId: 'pro',
    });
  });

  it('serves the default with DEFAULT when targets and rules did not decide', () => {
    expect(evaluator.evaluate('by-plan', { key: 'zed' }, true)).toEqual({
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
    });
  });

  it('serves a rollout with SPLIT', () => {
    expect(evaluator.evaluate('split', { key: 'ann' }, false).reason).toBe('SPLIT');
  });

  it('serves the default with STATIC when the flag has no prerequisites, targets or rules', () => {
    expect(evaluator.evaluate('static', { key: 'anyone', plan: 'pro' }, false).reason).toBe('STATIC');
  });
});

describe('evaluate: segments', () => {
  const evaluator = compile(
    ruleset(
      [
        boolFlag('beta', { defaultServe: { variant: 'off' }, rules: [onFor('in-beta', [inSegment('beta-users')])] }),
        boolFlag('not-beta', {
          defaultServe: { variant: 'off' },
          rules: [onFor('outside', [{ ...inSegment('beta-users'), negate: true }])],
        }),
        boolFlag('ghost', { defaultServe: { variant: 'off' }, rules: [onFor('r', [inSegment('deleted')])] }),
        boolFlag('nested', { defaultServe: { variant: 'off' }, rules: [onFor('r', [inSegment('staff-or-beta')])] }),
      ],
      [
        {
          key: 'beta-users',
          included: ['ann'],
          excluded: ['eve'],
          rules: [{ id: 'r', clauses: [{ attribute: 'email', op: 'endsWith', values: ['@beta.io'] }] }],
          version: 1,
        },
        {
          key: 'staff-or-beta',
          rules: [
            { id: 'staff', clauses: [{ attribute: 'staff', op: 'in', values: [true] }] },
            { id: 'beta', clauses: [inSegment('beta-users')] },
          ],
          version: 1,
        },
      ],
    ),
  );

  it('serves a rule on a segment to its members', () => {
    expect(evaluator.evaluate('beta', { key: 'ann' }, false).value).toBe(true);
    expect(evaluator.evaluate('beta', { key: 'cy', email: 'cy@beta.io' }, false).value).toBe(true);
    expect(evaluator.evaluate('beta', { key: 'eve', email: 'eve@beta.io' }, false).value).toBe(false);
    expect(evaluator.evaluate('beta', { key: 'zed' }, false).value).toBe(false);
  });

  it('negates segment membership', () => {
    expect(evaluator.evaluate('not-beta', { key: 'ann' }, false).value).toBe(false);
    expect(evaluator.evaluate('not-beta', { key: 'zed' }, false).value).toBe(true);
  });

  it('treats an unknown segment as matching nobody', () => {
    expect(evaluator.evaluate('ghost', { key: 'ann' }, true)).toEqual({
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
    });
  });

  it('follows segments that use other segments', () => {
    expect(evaluator.evaluate('nested', { key: 'ann' }, false).value).toBe(true);
    expect(evaluator.evaluate('nested', { key: 'zed', staff: true }, false).value).toBe(true);
    expect(evaluator.evaluate('nested', { key: 'zed' }, false).value).toBe(false);
  });
});

describe('results', () => {
  const evaluator = compile(
    ruleset([
      {
        ...boolFlag('layout'),
        type: 'json',
        variants: [{ key: 'grid', value: { columns: [{ w: 1 }], dense: true } }],
        defaultServe: { variant: 'grid' },
      },
      boolFlag('killed', { enabled: false }),
    ]),
  );

  it('shares one frozen result between callers', () => {
    const first = evaluator.evaluate('layout', { key: 'a' }, null);
    expect(Object.isFrozen(first)).toBe(true);
    expect(evaluator.evaluate('layout', { key: 'b' }, null)).toBe(first);
  });

  it('serves a JSON value that no caller can change for the next one', () => {
    const value = evaluator.evaluate<unknown>('layout', {}, null).value as { columns: { w: number }[]; dense: boolean };
    expect(() => {
      value.dense = false;
    }).toThrow(TypeError);
    expect(() => {
      (value.columns[0] as { w: number }).w = 2;
    }).toThrow(TypeError);
    expect(evaluator.evaluate('layout', {}, null).value).toEqual({ columns: [{ w: 1 }], dense: true });
  });

  it('builds a fresh result when it serves the caller’s default', () => {
    const a = evaluator.evaluate('killed', {}, 1);
    const b = evaluator.evaluate('killed', {}, 2);
    expect([a.value, b.value]).toEqual([1, 2]);
  });
});

describe('definitions', () => {
  const flags = [boolFlag('public-flag', { clientSide: true }), boolFlag('server-flag')];

  it('keeps no definitions unless asked, and says so when they are asked for', () => {
    expect(() => compile(ruleset(flags)).toRuleset()).toThrow(/keepDefinitions/);
  });

  it('gives back the definitions as they stand after patches when asked to keep them', () => {
    const evaluator = compile(ruleset(flags, [], 10), { keepDefinitions: true });
    const changed = boolFlag('server-flag', { version: 11, enabled: false });
    evaluator.applyPatch({ kind: 'flag', key: 'server-flag', version: 11, value: changed });
    evaluator.applyPatch({ kind: 'flag', key: 'public-flag', version: 12, value: null });
    expect(evaluator.toRuleset()).toEqual(ruleset([changed], [], 12));
  });

  it('tells client-side flags from server-only and unknown ones', () => {
    const evaluator = compile(ruleset(flags));
    expect(['public-flag', 'server-flag', 'nope'].map((k) => evaluator.isClientSide(k))).toEqual([true, false, false]);
  });
});

describe('constant results', () => {
  const evaluator = compile(
    ruleset([
      boolFlag('static'),
      boolFlag('killed-with-off', { enabled: false, offVariant: 'off' }),
      boolFlag('targeted', { targets: [{ variant: 'off', values: ['ann'] }] }),
    ]),
  );

  it('serves a flag that depends on nothing the same frozen result for any context', () => {
    for (const key of ['static', 'killed-with-off']) {
      const first = evaluator.evaluate(key, { key: 'ann' }, false);
      expect(evaluator.evaluate(key, null as never, true)).toBe(first);
    }
  });

  it('still checks the expected type first', () => {
    expect(evaluator.evaluate('static', {}, 'x', 'string')).toMatchObject({
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    });
  });

  it('runs a flag with targeting for every context', () => {
    expect(evaluator.evaluate('targeted', { key: 'ann' }, true).variant).toBe('off');
    expect(evaluator.evaluate('targeted', { key: 'bob' }, true).variant).toBe('on');
  });
});

describe('sparse arrays', () => {
  it('reads holes as missing values, refused like undefined, instead of skipping them', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what this test is about
    const values = ['NL', , 'BE'] as string[];
    const flag = boolFlag('holey', { rules: [onFor('r', [{ attribute: 'country', op: 'in', values }])] });
    expect(compile(ruleset([flag])).evaluate('holey', { country: 'NL' }, false)).toMatchObject({
      errorCode: 'PARSE_ERROR',
    });
    expect(checkFlag(flag)?.message).toBe(
      'rules[0].clauses[0].values[1]: must be a string, a finite number or a boolean',
    );
  });
});
