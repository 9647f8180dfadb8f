import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ruleset } from './builders.fixture.js';
import { clientView } from './client-view.js';
import { compile, type Evaluator } from './evaluator.js';
import type { EvaluationContext, Flag, Ruleset, WeightedVariant } from './types.js';
import { viewEvaluator } from './view-evaluator.js';

/** The rulesets these properties run on: flags only, in environment `test` at version 1. */
function testRuleset(flags: Flag[]): Ruleset {
  return ruleset(flags, [], 1, 'test');
}

function variants(n: number): Flag['variants'] {
  return Array.from({ length: n }, (_, i) => ({ key: `v${i}`, value: `value-${i}` }));
}

/** A string flag whose default serve rolls out over `v0 … v(n-1)` with the given weights. */
function rolloutFlag(key: string, weights: number[], fields: Partial<Flag> = {}): Flag {
  return {
    key,
    type: 'string',
    variants: variants(weights.length),
    enabled: true,
    defaultServe: { rollout: { weights: weights.map((weight, i): WeightedVariant => ({ variant: `v${i}`, weight })) } },
    version: 1,
    ...fields,
  };
}

/** Keys of every kind: ASCII, any code point, graphemes, and lone surrogates. */
const anyKey = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
);

/** `n` weights of thousandths of a percent summing to 100 000, zeros allowed. */
function weightVector(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: n - 1, maxLength: n - 1 }).map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), 100_000];
    return points.slice(1).map((p, i) => p - (points[i] as number));
  });
}

describe('determinism', () => {
  const clause = fc.oneof(
    fc.record({
      attribute: fc.constant('plan'),
      op: fc.constant('in' as const),
      values: fc.array(fc.constantFrom('free', 'pro', 'team'), { minLength: 1 }),
    }),
    fc.record({
      attribute: fc.constant('age'),
      op: fc.constantFrom('lt' as const, 'gte' as const),
      values: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1 }),
    }),
    fc.record({
      attribute: fc.constant('app'),
      op: fc.constantFrom('semverLt' as const, 'semverGt' as const),
      values: fc.constant<string[]>(['2.0.0-rc.1']),
    }),
    fc.record({
      attribute: fc.constant('email'),
      op: fc.constant('endsWith' as const),
      values: fc.constant<string[]>(['@acme.com']),
      negate: fc.boolean(),
    }),
  );
  const flagArb = fc.record({
    weights: fc.integer({ min: 2, max: 4 }).chain(weightVector),
    salt: fc.option(anyKey, { nil: undefined }),
    bucketBy: fc.constantFrom('key', 'org'),
    rules: fc.array(fc.array(clause, { minLength: 1, maxLength: 3 }), { maxLength: 3 }),
    targets: fc.array(anyKey, { maxLength: 3 }),
  });
  const flagsOf = (specs: (typeof flagArb extends fc.Arbitrary<infer T> ? T : never)[]): Flag[] =>
    specs.map((s, i) =>
      rolloutFlag(`f${i}`, s.weights, {
        ...(s.salt === undefined ? {} : { salt: s.salt }),
        targets: [{ variant: 'v1', values: s.targets }],
        rules: s.rules.map((clauses, r) => ({ id: `r${r}`, clauses, serve: { variant: 'v0' } })),
        defaultServe: {
          rollout: {
            bucketBy: s.bucketBy,
            weights: s.weights.map((weight, v) => ({ variant: `v${v}`, weight })),
          },
        },
      }),
    );
  const contextArb = fc.record(
    {
      key: anyKey,
      org: anyKey,
      plan: fc.constantFrom('free', 'pro', 'team'),
      age: fc.integer({ min: 0, max: 99 }),
      app: fc.constantFrom('1.0.0', '2.0.0-beta', '2.0.0-rc.1', '2.0.0', 'garbage'),
      email: fc.constantFrom('a@acme.com', 'b@example.com'),
    },
    { requiredKeys: [] },
  );

  /** Checks a property on sampled flags (a ruleset of them) and contexts. */
  const forSamples = (check: (flags: Flag[], contexts: EvaluationContext[]) => void) =>
    fc.assert(
      fc.property(
        fc.array(flagArb, { minLength: 1, maxLength: 4 }),
        fc.array(contextArb, { minLength: 1, maxLength: 8 }),
        (specs, contexts) => check(flagsOf(specs), contexts),
      ),
      { numRuns: 150 },
    );

  it('gives the same result for the same ruleset and context, from one evaluator or two', () => {
    forSamples((flags, contexts) => {
      const definition = testRuleset(flags);
      const first = compile(definition);
      const second = compile(JSON.parse(JSON.stringify(definition)));
      for (const context of contexts) {
        for (const flag of flags) {
          const result = first.evaluate(flag.key, context, null);
          expect(result.reason).not.toBe('ERROR');
          expect(first.evaluate(flag.key, context, null)).toEqual(result);
          expect(second.evaluate(flag.key, { ...context }, null)).toEqual(result);
        }
      }
    });
  });

  it("gives the browser engine's results: the client view evaluated by viewEvaluator, hashing with TextEncoder", () => {
    const encoder = new (
      globalThis as unknown as { TextEncoder: new () => { encode(input: string): Uint8Array } }
    ).TextEncoder();
    forSamples((flags, contexts) => {
      const own = compile(testRuleset(flags));
      const browser = viewEvaluator(clientView(testRuleset(flags)), encoder);
      for (const context of contexts) {
        for (const flag of flags) {
          expect(JSON.stringify(browser.evaluate(flag.key, context, null))).toBe(
            JSON.stringify(own.evaluate(flag.key, context, null)),
          );
        }
      }
    });
  });
});

describe('rollout monotonicity', () => {
  /** Moves `amount` of weight onto the first variant, taking it from the others in order. */
  function grow(weights: number[], amount: number): number[] {
    const out = [...weights];
    let left = amount;
    for (let i = 1; i < out.length && left > 0; i++) {
      const taken = Math.min(left, out[i] as number);
      out[i] = (out[i] as number) - taken;
      left -= taken;
    }
    out[0] = (out[0] as number) + amount - left;
    return out;
  }

  it('never moves a context off the first variant when that variant’s weight grows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain(weightVector),
        fc.integer({ min: 0, max: 100_000 }),
        anyKey,
        fc.array(anyKey, { minLength: 1, maxLength: 60 }),
        (weights, amount, salt, keys) => {
          const grown = grow(weights, amount);
          const evaluator = compile(
            testRuleset([rolloutFlag('before', weights, { salt }), rolloutFlag('after', grown, { salt })]),
          );
          for (const key of keys) {
            const before = evaluator.evaluate('before', { key }, null).variant;
            const after = evaluator.evaluate('after', { key }, null).variant;
            if (before === 'v0') expect(after).toBe('v0');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('moves contexts only from the second variant when the first grows at its expense', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 4 }).chain(weightVector),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(anyKey, { minLength: 1, maxLength: 60 }),
        (weights, share, keys) => {
          const moved = Math.floor((weights[1] as number) * share);
          const grown = [(weights[0] as number) + moved, (weights[1] as number) - moved, ...weights.slice(2)];
          const evaluator = compile(
            testRuleset([rolloutFlag('f', weights, { salt: 's' }), rolloutFlag('g', grown, { salt: 's' })]),
          );
          for (const key of keys) {
            const before = evaluator.evaluate('f', { key }, null).variant;
            const after = evaluator.evaluate('g', { key }, null).variant;
            if (before !== 'v1') expect(after).toBe(before);
            else expect(['v0', 'v1']).toContain(after);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps everyone who had the new variant at 5 % when it is raised to 25 %', () => {
    const evaluator = compile(
      testRuleset([rolloutFlag('f', [5_000, 95_000]), rolloutFlag('g', [25_000, 75_000], { salt: 'f' })]),
    );
    let at5 = 0;
    let at25 = 0;
    for (let i = 0; i < 10_000; i++) {
      const key = `user-${i}`;
      const before = evaluator.evaluate('f', { key }, null).variant === 'v0';
      const after = evaluator.evaluate('g', { key }, null).variant === 'v0';
      if (before) expect(after).toBe(true);
      at5 += before ? 1 : 0;
      at25 += after ? 1 : 0;
    }
    expect(at5).toBeGreaterThan(0);
    expect(at25).toBeGreaterThan(at5);
  });
});

describe('independence across salts', () => {
  const N = 10_000;

  /** Counts of (first flag serves v0, second flag serves v0) over N keys, as [both, onlyFirst, onlySecond, neither]. */
  function contingency(evaluator: Evaluator, prefix: string): number[] {
    const cells = [0, 0, 0, 0];
    for (let i = 0; i < N; i++) {
      const context = { key: `${prefix}${i}` };
      const a = evaluator.evaluate('a', context, null).variant === 'v0';
      const b = evaluator.evaluate('b', context, null).variant === 'v0';
      const cell = a ? (b ? 0 : 1) : b ? 2 : 3;
      cells[cell] = (cells[cell] as number) + 1;
    }
    return cells;
  }

  // Under independence each cell of the 2×2 table is Binomial(10 000, 1/4): mean 2 500, standard
  // deviation √(10 000 · ¼ · ¾) ≈ 43.3. Allowing 5 σ (≈ 217, i.e. 25 % ± 2.2 points) makes a false
  // alarm about 6·10⁻⁷ per cell, yet catches any correlation above about 0.09 between the flags.
  const TOLERANCE = 5 * Math.sqrt(N * 0.25 * 0.75);

  it('assigns two 50/50 flags with different salts independently of each other', () => {
    fc.assert(
      fc.property(
        fc.tuple(anyKey, anyKey).filter(([a, b]) => a !== b),
        anyKey,
        ([saltA, saltB], prefix) => {
          const evaluator = compile(
            testRuleset([
              rolloutFlag('a', [50_000, 50_000], { salt: saltA }),
              rolloutFlag('b', [50_000, 50_000], { salt: saltB }),
            ]),
          );
          for (const cell of contingency(evaluator, prefix))
            expect(Math.abs(cell - N / 4)).toBeLessThanOrEqual(TOLERANCE);
        },
      ),
      { numRuns: 5 },
    );
  });

  it('salts each flag with its own key by default, so two flags are independent', () => {
    const evaluator = compile(testRuleset([rolloutFlag('a', [50_000, 50_000]), rolloutFlag('b', [50_000, 50_000])]));
    for (const cell of contingency(evaluator, 'user-')) expect(Math.abs(cell - N / 4)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('assigns two flags that share a salt identically (the control: the table above can tell)', () => {
    const evaluator = compile(
      testRuleset([
        rolloutFlag('a', [50_000, 50_000], { salt: 'shared' }),
        rolloutFlag('b', [50_000, 50_000], { salt: 'shared' }),
      ]),
    );
    const [both, onlyFirst, onlySecond, neither] = contingency(evaluator, 'user-');
    expect([onlyFirst, onlySecond]).toEqual([0, 0]);
    expect((both as number) + (neither as number)).toBe(N);
  });
});

describe('split accuracy', () => {
  const WEIGHT_VECTORS = [
    [50_000, 50_000],
    [10_000, 90_000],
    [1_000, 99_000],
    [33_334, 33_333, 33_333],
    [70_000, 20_000, 10_000],
    [25_000, 25_000, 25_000, 25_000],
    [5_000, 15_000, 30_000, 50_000],
  ];

  function shares(weights: number[], keys: readonly string[], salt: string): number[] {
    const evaluator = compile(testRuleset([rolloutFlag('split', weights, { salt })]));
    const counts = weights.map(() => 0);
    for (const key of keys) {
      const index = Number(evaluator.evaluate('split', { key }, null).variant?.slice(1));
      counts[index] = (counts[index] as number) + 1;
    }
    return counts.map((c) => c / keys.length);
  }

  // A variant's share over n keys is Binomial(n, w) / n, with σ = √(w(1 − w) / n): 0.5 % for a 50 %
  // weight over 10 000 keys, where ±1 % would be only 2 σ and about one check in twenty would fail
  // by chance alone. Over 100 000 keys σ ≤ 0.16 %, so ±1 % is over 6 σ: it fails only when the
  // bucketing is biased. The populations are fixed (seeded) so that any failure reproduces.
  const N = 100_000;
  const populations: [string, readonly string[]][] = [
    ['sequential ids', Array.from({ length: N }, (_, i) => `user-${i}`)],
    ['UUIDs', [...new Set(fc.sample(fc.uuid(), { seed: 20_250_301, numRuns: N }))]],
    [
      'unicode strings',
      [...new Set(fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }), { seed: 11, numRuns: N }))],
    ],
  ];

  for (const [what, keys] of populations) {
    it(`serves each variant within ±1 % of its weight over ${N} ${what}`, () => {
      expect(keys.length).toBeGreaterThan(N * 0.9);
      for (const weights of WEIGHT_VECTORS) {
        const got = shares(weights, keys, 'experiment-42');
        weights.forEach((w, i) => {
          expect(Math.abs((got[i] as number) - w / 100_000), `${weights} variant ${i}`).toBeLessThanOrEqual(0.01);
        });
      }
    });
  }

  // Random weights, salts and 10 000 random keys per run: 5 σ keeps false alarms below one in a million.
  it('serves random weight vectors to 10 000 random keys in proportion, within 5 σ', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain(weightVector),
        anyKey,
        // Shrinking ten thousand keys would take minutes and say nothing more.
        fc.noShrink(fc.uniqueArray(anyKey, { minLength: 10_000, maxLength: 10_000 })),
        (weights, salt, keys) => {
          const got = shares(weights, keys, salt);
          weights.forEach((weight, i) => {
            const w = weight / 100_000;
            const sigma = Math.sqrt((w * (1 - w)) / keys.length);
            expect(Math.abs((got[i] as number) - w)).toBeLessThanOrEqual(5 * sigma + 1 / keys.length);
          });
        },
      ),
      { numRuns: 5 },
    );
  });
});
