import { describe, expect, it } from 'vitest';
import { Murmur3Utf8, saltState } from './bucket.js';
import { boolFlag, checkoutFlag, compiled, served, split } from './builders.fixture.js';
import type { EvaluationContext, Flag, WeightedVariant } from './types.js';

function suitFlag(key: string, weights: WeightedVariant[], fields: Partial<Flag> = {}): Flag {
  return {
    key,
    type: 'string',
    variants: ['clubs', 'diamonds', 'hearts', 'spades'].map((s) => ({ key: s, value: s })),
    enabled: true,
    defaultServe: { rollout: { weights } },
    version: 1,
    ...fields,
  };
}

describe('compileFlag: rollouts', () => {
  const quarters = split(['clubs', 25_000], ['diamonds', 25_000], ['hearts', 25_000], ['spades', 25_000]);

  // ../shared/vectors: flagd's own fractional test cases (salt = flag key, bucketed by the targeting key).
  it.each([
    ['jack', 'hearts'],
    ['queen', 'spades'],
    ['ten', 'clubs'],
    ['nine', 'diamonds'],
    ['3', 'clubs'],
  ])('puts %s in the bucket flagd puts it in (%s)', (key, variant) => {
    const flag = compiled(suitFlag('fractional-flag', quarters));
    expect(served(flag, { key })).toMatchObject({ value: variant, variant, reason: 'SPLIT' });
  });

  it('hashes utf8(salt + key) even when the salt ends in half a surrogate pair the key completes', () => {
    const hasher = new Murmur3Utf8();
    const quartersOf = (input: string) =>
      ['clubs', 'diamonds', 'hearts', 'spades'][Math.floor(hasher.point(saltState(''), input) / 25_000)];
    for (const key of ['\uDE00-a', '\uDE00-b', '\uDE00-c', '\uDE00-d', 'plain']) {
      const flag = compiled(suitFlag('surrogates', quarters, { salt: 'salt-\uD83D' }));
      expect(served(flag, { key }).variant).toBe(quartersOf(`salt-\uD83D${key}`));
    }
  });

  it('agrees with flagd on a two-way split', () => {
    const flag = compiled({
      ...boolFlag('fractional-flag-shorthand'),
      variants: [
        { key: 'heads', value: true },
        { key: 'tails', value: false },
      ],
      defaultServe: { rollout: { weights: split(['heads', 50_000], ['tails', 50_000]) } },
    });
    expect(served(flag, { key: 'jon@company.com' }).variant).toBe('heads');
    expect(served(flag, { key: 'jane@company.com' }).variant).toBe('tails');
  });

  it('uses the salt instead of the flag key when one is set', () => {
    const flag = compiled(suitFlag('renamed', quarters, { salt: 'fractional-flag' }));
    expect(served(flag, { key: 'jack' }).variant).toBe('hearts');
    expect(served(flag, { key: 'queen' }).variant).toBe('spades');
  });

  // With an empty salt the point is that of the key alone: these keys hash to 0, 2^31 - 1, 2^31, 2^32 - 1.
  it('serves the first variant whose cumulative weight is greater than the point', () => {
    const halves = compiled(suitFlag('f', split(['clubs', 50_000], ['spades', 50_000]), { salt: '' }));
    expect(served(halves, { key: 'SI7p-' }).variant).toBe('clubs');
    expect(served(halves, { key: '6LvT0' }).variant).toBe('spades');
    expect(served(halves, { key: 'ceQdGm' }).variant).toBe('spades');
  });

  it('gives a weight of 1 (0.001 %) exactly one point', () => {
    const sliver = compiled(suitFlag('f', split(['clubs', 1], ['spades', 99_999]), { salt: '' }));
    expect(served(sliver, { key: 'ejOoVL' }).variant).toBe('clubs');
    expect(served(sliver, { key: 'bY9fO-' }).variant).toBe('clubs');
    expect(served(sliver, { key: 'SI7p-' }).variant).toBe('spades');
    const last = compiled(suitFlag('f', split(['clubs', 99_999], ['spades', 1]), { salt: '' }));
    expect(served(last, { key: 'ceQdGm' }).variant).toBe('spades');
    expect(served(last, { key: '6LvT0' }).variant).toBe('clubs');
  });

  it('lays buckets out in the flag’s variant order, whatever order the weights are listed in', () => {
    const listed = compiled(suitFlag('f', split(['spades', 50_000], ['clubs', 50_000]), { salt: '' }));
    expect(served(listed, { key: 'ejOoVL' }).variant).toBe('clubs');
    expect(served(listed, { key: 'ceQdGm' }).variant).toBe('spades');
  });

  it('never serves a variant of weight 0', () => {
    const flag = compiled(suitFlag('f', split(['clubs', 0], ['diamonds', 100_000], ['hearts', 0]), { salt: '' }));
    for (const key of ['ejOoVL', 'SI7p-', '6LvT0', 'ceQdGm']) expect(served(flag, { key }).variant).toBe('diamonds');
  });

  it('buckets by another attribute when bucketBy names it', () => {
    const flag = compiled(
      suitFlag('f', [], {
        salt: '',
        defaultServe: { rollout: { bucketBy: 'org', weights: split(['clubs', 50_000], ['spades', 50_000]) } },
      }),
    );
    expect(served(flag, { key: 'ceQdGm', org: 'ejOoVL' }).variant).toBe('clubs');
    expect(served(flag, { key: 'ejOoVL', org: 'ceQdGm' }).variant).toBe('spades');
  });

  it('buckets numbers and booleans by their string form', () => {
    const flag = compiled(suitFlag('f', [], { defaultServe: { rollout: { bucketBy: 'id', weights: quarters } } }));
    for (const [value, text] of [
      [42, '42'],
      [-0.5, '-0.5'],
      [1e21, '1e+21'],
      [true, 'true'],
    ] as const) {
      expect(served(flag, { id: value }).variant).toBe(served(flag, { id: text }).variant);
    }
  });

  it('serves a context without the bucketBy attribute the largest-weight variant, with SPLIT', () => {
    const flag = compiled(suitFlag('f', split(['clubs', 10_000], ['diamonds', 60_000], ['hearts', 30_000])));
    for (const context of [{}, { key: null }, { key: ['a'] }, { key: { id: 'a' } }] as unknown as EvaluationContext[]) {
      expect(served(flag, context)).toEqual({ value: 'diamonds', variant: 'diamonds', reason: 'SPLIT' });
    }
  });

  it('serves an unbucketed context the first variant in variant order when the largest weights tie', () => {
    const flag = compiled(suitFlag('f', split(['spades', 40_000], ['diamonds', 40_000], ['clubs', 20_000])));
    expect(served(flag, {}).variant).toBe('diamonds');
  });

  it('serves a 100 % rollout to everyone, bucketed or not', () => {
    const flag = compiled(suitFlag('f', split(['hearts', 100_000])));
    expect(served(flag, { key: 'ann' })).toEqual({ value: 'hearts', variant: 'hearts', reason: 'SPLIT' });
    expect(served(flag, {}).variant).toBe('hearts');
  });

  it('keeps a 1 % canary away from contexts that cannot be bucketed', () => {
    const flag = compiled(
      checkoutFlag({ defaultServe: { rollout: { weights: split(['on', 1_000], ['off', 99_000]) } } }),
    );
    expect(served(flag, {}).variant).toBe('off');
  });
});
