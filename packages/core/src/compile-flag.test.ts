import { describe, expect, it } from 'vitest';
import { boolFlag, checkoutFlag, compiled, newScope, ruleset, served, split } from './builders.fixture.js';
import { checkFlag } from './check.js';
import { valueHasType } from './compile-flag.js';
import { compile } from './evaluator.js';
import type { EvaluationContext, Flag, FlagMetadata } from './types.js';

/** What checkFlag finds wrong with a flag, or `undefined`; the engine must refuse exactly the same flags. */
function errorOf(fields: Record<string, unknown>): string | undefined {
  const flag = { ...checkoutFlag(), ...fields };
  const message = checkFlag(flag as Flag)?.message;
  expect(compiled(flag).invalid).toBe(message !== undefined);
  return message;
}

describe('compileFlag: configurations it cannot evaluate', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['the key is missing', { key: undefined }, 'key'],
    ['the key is empty', { key: '' }, 'key'],
    ['the type is unknown', { type: 'integer' }, 'type'],
    ['enabled is not a boolean', { enabled: 'true' }, 'enabled'],
    ['there are no variants', { variants: [] }, 'variants'],
    ['variants is not an array', { variants: { on: true } }, 'variants'],
    ['a variant has no key', { variants: [{ value: true }] }, 'variants[0]'],
    ['a variant is not an object', { variants: [{ key: 'on', value: true }, 'off'] }, 'variants[1]'],
    [
      'two variants share a key',
      {
        variants: [
          { key: 'on', value: true },
          { key: 'on', value: false },
        ],
      },
      'variants[1].key',
    ],
    ['a boolean flag has a string value', { variants: [{ key: 'on', value: 'true' }] }, 'variants[0].value'],
    ['the off variant is unknown', { offVariant: 'disabled' }, 'offVariant'],
    ['the salt is not a string', { salt: 42 }, 'salt'],
    ['the default serve is missing', { defaultServe: undefined }, 'defaultServe'],
    ['the default serve names an unknown variant', { defaultServe: { variant: 'maybe' } }, 'defaultServe.variant'],
    ['the default serve is neither a variant nor a rollout', { defaultServe: { percent: 5 } }, 'defaultServe'],
    ['rules is not an array', { rules: {} }, 'rules'],
    ['a rule is not an object', { rules: [null] }, 'rules[0]'],
    ['a rule has no id', { rules: [{ clauses: [], serve: { variant: 'on' } }] }, 'rules[0].id'],
    ['a rule has no clauses', { rules: [{ id: 'r', serve: { variant: 'on' } }] }, 'rules[0].clauses'],
    [
      'a rule has a bad clause',
      {
        rules: [{ id: 'r', clauses: [{ attribute: 'v', op: 'semverLt', values: ['1.2'] }], serve: { variant: 'on' } }],
      },
      'rules[0].clauses[0].values[0]',
    ],
    [
      'a rule serves an unknown variant',
      { rules: [{ id: 'r', clauses: [], serve: { variant: 'x' } }] },
      'rules[0].serve.variant',
    ],
    ['prerequisites is not an array', { prerequisites: 'other-flag' }, 'prerequisites'],
    ['a prerequisite has no flag', { prerequisites: [{ variants: ['on'] }] }, 'prerequisites[0].flag'],
    [
      'a prerequisite lists non-string variants',
      { prerequisites: [{ flag: 'f', variants: [true] }] },
      'prerequisites[0].variants',
    ],
    ['targets is not an array', { targets: { on: ['ann'] } }, 'targets'],
    ['a target names an unknown variant', { targets: [{ variant: 'x', values: ['ann'] }] }, 'targets[0].variant'],
    ['a target has no values', { targets: [{ variant: 'on' }] }, 'targets[0].values'],
    ['a target lists a non-string key', { targets: [{ variant: 'on', values: ['ann', 7] }] }, 'targets[0].values[1]'],
  ])('refuses a flag when %s', (_what, fields, path) => {
    expect(errorOf(fields)).toMatch(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: `));
  });

  it.each<[string, unknown, string]>([
    ['bucketBy is empty', { bucketBy: '', weights: split(['on', 100_000]) }, 'defaultServe.rollout.bucketBy'],
    ['there are no weights', { weights: [] }, 'defaultServe.rollout.weights'],
    [
      'a weight names an unknown variant',
      { weights: split(['on', 50_000], ['x', 50_000]) },
      'defaultServe.rollout.weights[1].variant',
    ],
    [
      'a variant is weighted twice',
      { weights: split(['on', 50_000], ['on', 50_000]) },
      'defaultServe.rollout.weights[1].variant',
    ],
    [
      'a weight is negative',
      { weights: split(['on', 100_001], ['off', -1]) },
      'defaultServe.rollout.weights[1].weight',
    ],
    [
      'a weight is not an integer',
      { weights: split(['on', 50_000.5], ['off', 49_999.5]) },
      'defaultServe.rollout.weights[0].weight',
    ],
    [
      'a weight is a string',
      { weights: [{ variant: 'on', weight: '100000' }] },
      'defaultServe.rollout.weights[0].weight',
    ],
    [
      'the weights sum to less than 100 000',
      { weights: split(['on', 50_000], ['off', 49_999]) },
      'defaultServe.rollout.weights',
    ],
    [
      'the weights sum to more than 100 000',
      { weights: split(['on', 50_000], ['off', 50_001]) },
      'defaultServe.rollout.weights',
    ],
    ['the weights are percentages', { weights: split(['on', 50], ['off', 50]) }, 'defaultServe.rollout.weights'],
  ])('refuses a rollout when %s', (_what, rollout, path) => {
    expect(errorOf({ defaultServe: { rollout } })).toMatch(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: `));
  });

  it('answers with the caller’s default and PARSE_ERROR, keeping key, version and metadata', () => {
    const flag = compiled({ ...checkoutFlag({ version: 7, metadata: { owner: 'growth' } }), offVariant: 'nope' });
    expect([flag.key, flag.version, flag.type, flag.metadata]).toEqual([
      'new-checkout',
      7,
      'boolean',
      { owner: 'growth' },
    ]);
    expect(flag.invalid).toBe(true);
    expect(checkFlag({ ...checkoutFlag(), offVariant: 'nope' })?.path).toBe('offVariant');
    const evaluator = compile(ruleset([{ ...checkoutFlag({ metadata: { owner: 'growth' } }), offVariant: 'nope' }]));
    expect(evaluator.evaluate('new-checkout', {}, 'caller-default')).toEqual({
      value: 'caller-default',
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
      errorMessage: 'flag "new-checkout" is invalid; checkFlag() tells why',
      flagMetadata: { owner: 'growth' },
    });
  });

  it('refuses a broken configuration even when the flag is killed', () => {
    expect(errorOf({ enabled: false, defaultServe: { variant: 'maybe' } })).toContain('defaultServe.variant');
  });

  it('compiles something that is not an object into an error, under the fallback key', () => {
    for (const input of [null, 7, 'flag', []]) {
      const flag = compiled(input);
      expect(flag.key).toBe('fallback-key');
      expect(flag.invalid).toBe(true);
    }
  });

  it('treats null prerequisites, targets and rules as none', () => {
    const flag = compiled({ ...checkoutFlag(), prerequisites: null, targets: null, rules: null });
    expect(flag.invalid).toBe(false);
    expect(served(flag).reason).toBe('STATIC');
  });

  it('accepts an empty salt', () => {
    expect(errorOf({ salt: '' })).toBeUndefined();
  });
});

describe('valueHasType', () => {
  it('accepts only values of the flag’s type', () => {
    expect([valueHasType(true, 'boolean'), valueHasType('true', 'boolean'), valueHasType(0, 'boolean')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([valueHasType('', 'string'), valueHasType(1, 'string'), valueHasType(null, 'string')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([valueHasType(-1.5, 'number'), valueHasType(Number.NaN, 'number'), valueHasType('1', 'number')]).toEqual([
      true,
      false,
      false,
    ]);
    expect(valueHasType(Number.POSITIVE_INFINITY, 'number')).toBe(false);
  });

  it('accepts any JSON value, null included, for a json flag', () => {
    for (const v of [null, 0, 'x', false, [], { a: [1, { b: null }] }]) expect(valueHasType(v, 'json')).toBe(true);
    expect(valueHasType(undefined, 'json')).toBe(false);
  });
});

describe('compileFlag: serving', () => {
  it('serves the default variant with STATIC when nothing depends on the context', () => {
    expect(served(compiled(checkoutFlag()), { key: 'ann' })).toEqual({
      value: false,
      variant: 'off',
      reason: 'STATIC',
    });
  });

  it('serves the off variant when the flag is killed, whatever the targets and rules say', () => {
    const flag = compiled(
      checkoutFlag({
        enabled: false,
        offVariant: 'off',
        targets: [{ variant: 'on', values: ['ann'] }],
        rules: [{ id: 'all', clauses: [], serve: { variant: 'on' } }],
      }),
    );
    expect(served(flag, { key: 'ann' })).toEqual({ value: false, variant: 'off', reason: 'DISABLED' });
  });

  it('serves the caller’s default, without a variant, when a killed flag has no off variant', () => {
    expect(served(compiled(checkoutFlag({ enabled: false })), {}, true)).toEqual({ value: true, reason: 'DISABLED' });
  });

  it('serves an individual target before any rule, with TARGETING_MATCH', () => {
    const flag = compiled(
      checkoutFlag({
        targets: [{ variant: 'on', values: ['ann'] }],
        rules: [{ id: 'nobody-gets-on', clauses: [], serve: { variant: 'off' } }],
      }),
    );
    expect(served(flag, { key: 'ann' })).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    expect(served(flag, { key: 'bob' })).toMatchObject({
      variant: 'off',
      reason: 'TARGETING_MATCH',
      ruleId: 'nobody-gets-on',
    });
  });

  it('lets the first target win when several list the same key', () => {
    const flag = compiled(
      checkoutFlag({
        targets: [
          { variant: 'off', values: ['ann'] },
          { variant: 'on', values: ['bob', 'ann'] },
        ],
      }),
    );
    expect(served(flag, { key: 'ann' }).variant).toBe('off');
    expect(served(flag, { key: 'bob' }).variant).toBe('on');
  });

  it('matches targets on a string key only', () => {
    const flag = compiled(checkoutFlag({ targets: [{ variant: 'on', values: ['42'] }] }));
    expect(served(flag, { key: 42 } as unknown as EvaluationContext).reason).toBe('DEFAULT');
    expect(served(flag, { key: '42' }).reason).toBe('TARGETING_MATCH');
  });

  it('serves the first rule whose clauses all match, naming it', () => {
    const flag = compiled(
      checkoutFlag({
        rules: [
          {
            id: 'pro-in-fr',
            clauses: [
              { attribute: 'plan', op: 'in', values: ['pro'] },
              { attribute: 'country', op: 'in', values: ['FR'] },
            ],
            serve: { variant: 'on' },
          },
          { id: 'pro', clauses: [{ attribute: 'plan', op: 'in', values: ['pro'] }], serve: { variant: 'off' } },
        ],
      }),
    );
    expect(served(flag, { plan: 'pro', country: 'FR' })).toEqual({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      ruleId: 'pro-in-fr',
    });
    expect(served(flag, { plan: 'pro', country: 'DE' })).toMatchObject({ variant: 'off', ruleId: 'pro' });
  });

  it('serves the default with DEFAULT when rules or targets exist but none matched', () => {
    const withRule = compiled(
      checkoutFlag({
        rules: [{ id: 'r', clauses: [{ attribute: 'a', op: 'in', values: ['x'] }], serve: { variant: 'on' } }],
      }),
    );
    expect(served(withRule, { a: 'y' })).toEqual({ value: false, variant: 'off', reason: 'DEFAULT' });
    const withTarget = compiled(checkoutFlag({ targets: [{ variant: 'on', values: ['ann'] }] }));
    expect(served(withTarget, { key: 'bob' }).reason).toBe('DEFAULT');
  });

  it('serves a rollout from a rule with SPLIT and the rule’s id', () => {
    const flag = compiled(
      checkoutFlag({
        rules: [{ id: 'half', clauses: [], serve: { rollout: { weights: split(['on', 50_000], ['off', 50_000]) } } }],
      }),
    );
    expect(served(flag, { key: 'ann' })).toMatchObject({ reason: 'SPLIT', ruleId: 'half' });
  });

  it('serves the caller’s default with PREREQUISITE_FAILED when a prerequisite is unknown and there is no off variant', () => {
    const flag = compiled(checkoutFlag({ prerequisites: [{ flag: 'missing', variants: ['on'] }] }), newScope());
    expect(served(flag, {}, 'dflt')).toEqual({ value: 'dflt', reason: 'PREREQUISITE_FAILED' });
  });

  it('serves the default with DEFAULT when prerequisites are met and nothing else is configured', () => {
    const scope = newScope();
    compiled(boolFlag('base'), scope);
    const flag = compiled(checkoutFlag({ prerequisites: [{ flag: 'base', variants: ['on'] }] }), scope);
    expect(served(flag)).toEqual({ value: false, variant: 'off', reason: 'DEFAULT' });
  });

  it('counts a prerequisite as unmet when it is killed, even if its off variant is listed', () => {
    const scope = newScope();
    compiled(boolFlag('base', { defaultServe: { variant: 'off' }, enabled: false, offVariant: 'on' }), scope);
    const flag = compiled(
      checkoutFlag({
        offVariant: 'off',
        prerequisites: [{ flag: 'base', variants: ['on'] }],
        defaultServe: { variant: 'on' },
      }),
      scope,
    );
    expect(served(flag)).toEqual({ value: false, variant: 'off', reason: 'PREREQUISITE_FAILED' });
  });

  it('counts a prerequisite as unmet when it errors or fails its own prerequisites', () => {
    const scope = newScope();
    compiled({ ...boolFlag('broken', { defaultServe: { variant: 'off' } }), offVariant: 'nope' }, scope);
    compiled(boolFlag('gated', { prerequisites: [{ flag: 'missing', variants: ['on'] }] }), scope);
    const onBroken = compiled(
      boolFlag('a', { defaultServe: { variant: 'off' }, prerequisites: [{ flag: 'broken', variants: ['on', 'off'] }] }),
      scope,
    );
    const onGated = compiled(
      boolFlag('b', { defaultServe: { variant: 'off' }, prerequisites: [{ flag: 'gated', variants: ['on', 'off'] }] }),
      scope,
    );
    expect(served(onBroken).reason).toBe('PREREQUISITE_FAILED');
    expect(served(onGated).reason).toBe('PREREQUISITE_FAILED');
  });

  it('requires every prerequisite to serve one of its listed variants', () => {
    const scope = newScope();
    compiled(boolFlag('p1'), scope);
    compiled(
      boolFlag('p2', { defaultServe: { variant: 'off' }, targets: [{ variant: 'on', values: ['ann'] }] }),
      scope,
    );
    const flag = compiled(
      checkoutFlag({
        defaultServe: { variant: 'on' },
        prerequisites: [
          { flag: 'p1', variants: ['on'] },
          { flag: 'p2', variants: ['on'] },
        ],
      }),
      scope,
    );
    expect(served(flag, { key: 'ann' })).toMatchObject({ variant: 'on', reason: 'DEFAULT' });
    expect(served(flag, { key: 'bob' })).toEqual({ value: 'caller-default', reason: 'PREREQUISITE_FAILED' });
  });
});

describe('compileFlag: shared results', () => {
  const jsonFlag = (value: unknown): Flag => ({
    key: 'layout',
    type: 'json',
    variants: [{ key: 'v1', value: value as Flag['variants'][number]['value'] }],
    enabled: true,
    defaultServe: { variant: 'v1' },
    version: 1,
  });

  it('returns the same frozen result object on every evaluation', () => {
    const flag = compiled(checkoutFlag({ targets: [{ variant: 'on', values: ['ann'] }] }));
    const first = served(flag, { key: 'ann' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(served(flag, { key: 'ann' })).toBe(first);
  });

  it('serves a deep-frozen JSON value that a caller cannot change for the next caller', () => {
    const flag = compiled(jsonFlag({ columns: [{ name: 'a' }], dense: false }));
    const value = served(flag).value as { columns: { name: string }[]; dense: boolean };
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.columns)).toBe(true);
    expect(Object.isFrozen(value.columns[0])).toBe(true);
    expect(() => {
      (value as { dense: boolean }).dense = true;
    }).toThrow(TypeError);
    expect(() => value.columns.push({ name: 'b' })).toThrow(TypeError);
    expect(served(flag).value).toEqual({ columns: [{ name: 'a' }], dense: false });
  });

  it('leaves the caller’s ruleset objects unfrozen and unshared', () => {
    const value = { columns: ['a'] };
    const definition = jsonFlag(value);
    const metadata = { owner: 'growth' };
    const flag = compiled({ ...definition, metadata });
    expect(Object.isFrozen(value)).toBe(false);
    expect(Object.isFrozen(value.columns)).toBe(false);
    expect(Object.isFrozen(definition)).toBe(false);
    expect(Object.isFrozen(metadata)).toBe(false);
    value.columns.push('b');
    metadata.owner = 'someone-else';
    expect(served(flag).value).toEqual({ columns: ['a'] });
    expect(served(flag).flagMetadata).toEqual({ owner: 'growth' });
  });

  it('passes scalar metadata through, frozen, and drops everything else', () => {
    const metadata = JSON.parse(
      '{"owner":"growth","ticket":42,"beta":true,"nested":{"a":1},"list":[1],"none":null,"__proto__":{"x":1}}',
    );
    const result = served(compiled(checkoutFlag({ metadata })));
    expect(result.flagMetadata).toEqual({ owner: 'growth', ticket: 42, beta: true });
    expect(Object.isFrozen(result.flagMetadata)).toBe(true);
    expect(Object.getPrototypeOf(result.flagMetadata)).toBe(Object.prototype);
  });

  it('leaves flagMetadata out when there is no usable metadata', () => {
    expect(served(compiled(checkoutFlag({ metadata: { nested: {} } as unknown as FlagMetadata })))).not.toHaveProperty(
      'flagMetadata',
    );
  });

  it('attaches the metadata to results that serve the caller’s default', () => {
    expect(served(compiled(checkoutFlag({ enabled: false, metadata: { owner: 'ops' } })))).toEqual({
      value: 'caller-default',
      reason: 'DISABLED',
      flagMetadata: { owner: 'ops' },
    });
  });
});
