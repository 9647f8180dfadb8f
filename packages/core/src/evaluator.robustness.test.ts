import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Murmur3Utf8 } from './bucket.js';
import { checkFlag, checkSegment } from './check.js';
import { clientView } from './client-view.js';
import { compileFlag } from './compile-flag.js';
import { compileSegment } from './compile-segment.js';
import { SwitchyardError } from './errors.js';
import { compile, type Evaluator } from './evaluator.js';
import type { EvaluationResult, Reason } from './reasons.js';
import {
  type EvaluationContext,
  type Flag,
  type FlagType,
  OPERATORS,
  type Operator,
  type Patch,
  type Ruleset,
  type Segment,
} from './types.js';
import { viewEvaluator } from './view-evaluator.js';

const REASONS: readonly Reason[] = [
  'STATIC',
  'DEFAULT',
  'TARGETING_MATCH',
  'SPLIT',
  'DISABLED',
  'PREREQUISITE_FAILED',
  'ERROR',
];
const FLAG_TYPES: readonly FlagType[] = ['boolean', 'string', 'number', 'json'];
const FLAG_KEYS = ['f0', 'f1', 'f2', 'f3'];
const SEGMENT_KEYS = ['s0', 's1', 's2'];
const VARIANTS = ['a', 'b', 'c'];

function expectWellFormed(result: EvaluationResult<unknown>, defaultValue: unknown): void {
  expect(REASONS).toContain(result.reason);
  expect(result.reason === 'ERROR').toBe(result.errorCode !== undefined);
  if (result.reason === 'ERROR') expect(result.variant).toBeUndefined();
  if (result.variant === undefined) expect(result.value).toBe(defaultValue);
}

// --- Contexts nobody should send -----------------------------------------------------------

const ATTRIBUTES = [
  'key',
  'plan',
  'age',
  'app',
  'signup',
  'email',
  'org',
  '__proto__',
  'constructor',
  'toString',
  'length',
];
const hostileValue = fc.anything({
  key: fc.oneof(fc.string(), fc.constantFrom(...ATTRIBUTES)),
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});
const HUGE = [
  'x'.repeat(2_000_000),
  '日😀'.repeat(300_000),
  `${'a'.repeat(100_000)}@acme.com`,
  '\ud800'.repeat(50_000),
];
const hostileContext = fc.oneof(
  hostileValue,
  fc.dictionary(fc.constantFrom(...ATTRIBUTES), hostileValue),
  // JSON.parse makes __proto__ and constructor own properties, as a context from the network would have.
  fc
    .record({ key: fc.string(), plan: fc.string(), age: fc.integer() })
    .map((inner) => JSON.parse(`{"__proto__": ${JSON.stringify(inner)}, "constructor": ${JSON.stringify(inner)}}`)),
  fc.record({
    key: fc.constantFrom(...HUGE),
    email: fc.constantFrom(...HUGE),
    app: fc.constantFrom(...HUGE),
    signup: fc.constantFrom(...HUGE),
    plan: fc.constant(HUGE),
  }),
  fc.constantFrom(null, undefined, 0, Number.NaN, '', 'key', [], ['key'], true),
);

// --- Valid flags and segments, and damage to them -------------------------------------------

const ATTRIBUTE_OF: Record<Operator, string> = {
  in: 'plan',
  startsWith: 'key',
  endsWith: 'email',
  contains: 'email',
  matches: 'email',
  lt: 'age',
  lte: 'age',
  gt: 'age',
  gte: 'age',
  before: 'signup',
  after: 'signup',
  semverEq: 'app',
  semverLt: 'app',
  semverGt: 'app',
  inSegment: 'key',
};
const strings = (...s: string[]) => fc.array(fc.constantFrom(...s), { minLength: 1, maxLength: 3 });
const ages = fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 3 });
const dates = fc.array(
  fc.oneof(fc.constantFrom('2025-03-01', '2025-03-01T12:00:00Z', '2024-02-29T23:00:00-05:00'), fc.integer()),
  {
    minLength: 1,
    maxLength: 2,
  },
);
const semvers = strings('1.2.3', '2.0.0-rc.1', 'v2.0.0', '1.0.0+build');
const VALUES_OF: Record<Operator, fc.Arbitrary<unknown[]>> = {
  in: fc.array(fc.oneof(fc.constantFrom('pro', 'free'), fc.integer({ min: 0, max: 3 }), fc.boolean()), {
    minLength: 1,
    maxLength: 3,
  }),
  startsWith: strings('a', 'b', ''),
  endsWith: strings('@acme.com', '.io'),
  contains: strings('acme', '@'),
  matches: strings('^a', 'o$', '\\d+', '^[a-z]+@'),
  lt: ages,
  lte: ages,
  gt: ages,
  gte: ages,
  before: dates,
  after: dates,
  semverEq: semvers,
  semverLt: semvers,
  semverGt: semvers,
  inSegment: strings(...SEGMENT_KEYS, 'unknown'),
};
const clauseArb = fc.constantFrom(...OPERATORS).chain((op) =>
  fc.record({
    attribute: fc.constant(ATTRIBUTE_OF[op]),
    op: fc.constant(op),
    values: VALUES_OF[op],
    negate: fc.boolean(),
  }),
);

const variantArb = fc.constantFrom(...VARIANTS);
const serveArb = fc.oneof(
  fc.record({ variant: variantArb }),
  fc.record({
    rollout: fc.record(
      {
        bucketBy: fc.constantFrom('key', 'org'),
        weights: fc
          .constantFrom([100_000], [50_000, 50_000], [20_000, 30_000, 50_000], [0, 100_000, 0], [1, 0, 99_999])
          .map((ws) => ws.map((weight, i) => ({ variant: VARIANTS[i], weight }))),
      },
      { requiredKeys: ['weights'] },
    ),
  }),
);
const valuesOfType: Record<FlagType, fc.Arbitrary<unknown>> = {
  boolean: fc.boolean(),
  string: fc.string(),
  number: fc.double({ noNaN: true, noDefaultInfinity: true }),
  json: fc.jsonValue({ maxDepth: 2 }),
};

function validFlag(key: string) {
  return fc.constantFrom(...FLAG_TYPES).chain((type) =>
    fc.record(
      {
        key: fc.constant(key),
        type: fc.constant(type),
        variants: fc
          .tuple(valuesOfType[type], valuesOfType[type], valuesOfType[type])
          .map((vs) => vs.map((value, i) => ({ key: VARIANTS[i], value }))),
        enabled: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        offVariant: variantArb,
        prerequisites: fc.array(
          fc.record({ flag: fc.constantFrom(...FLAG_KEYS, 'missing'), variants: fc.array(variantArb) }),
          { maxLength: 2 },
        ),
        targets: fc.array(fc.record({ variant: variantArb, values: strings('ann', 'bob') }), { maxLength: 2 }),
        rules: fc.array(
          fc.record({
            id: fc.constantFrom('r1', 'r2'),
            clauses: fc.array(clauseArb, { maxLength: 3 }),
            serve: serveArb,
          }),
          {
            maxLength: 3,
          },
        ),
        defaultServe: serveArb,
        salt: fc.string(),
        metadata: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean()), { maxKeys: 2 }),
        version: fc.nat(),
      },
      { requiredKeys: ['key', 'type', 'variants', 'enabled', 'defaultServe', 'version'] },
    ),
  );
}

function validSegment(key: string) {
  return fc.record(
    {
      key: fc.constant(key),
      included: fc.array(fc.constantFrom('ann', 'bob')),
      excluded: fc.array(fc.constantFrom('bob', 'eve')),
      rules: fc.array(fc.record({ id: fc.constant('r'), clauses: fc.array(clauseArb, { maxLength: 2 }) }), {
        maxLength: 2,
      }),
      version: fc.nat(),
    },
    { requiredKeys: ['key', 'version'] },
  );
}

/** The wrong values a hand-written or half-migrated ruleset most often holds. */
const COMMON_MISTAKES: readonly unknown[] = [
  null,
  undefined,
  '',
  0,
  -1,
  1.5,
  Number.NaN,
  true,
  [],
  {},
  'a',
  '__proto__',
];
const garbage = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...COMMON_MISTAKES) },
  fc.anything({
    key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'key', 'variant', 'rollout', 'weights')),
    maxDepth: 2,
    withNullPrototype: true,
    withSparseArray: true,
  }),
);

/** Every path in a JSON-like value, the value itself (the empty path) first. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, Array.isArray(value) ? Number(k) : k]));
  }
  return out;
}

/** A copy of `value` with the node at one of its paths replaced by `replacement`, or deleted when that is undefined. */
function damaged(value: unknown, pick: number, replacement: unknown): unknown {
  const copy = value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
  const all = paths(copy);
  const path = all[pick % all.length] as (string | number)[];
  if (path.length === 0) return replacement;
  let parent = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** A valid value half of the time, and the same kind of value damaged in one place the other half. */
function sometimesDamaged(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    valid,
    fc.tuple(valid, fc.nat(), garbage).map(([v, pick, replacement]) => damaged(v, pick, replacement)),
  );
}

const rulesetArb = sometimesDamaged(
  fc.record({
    schemaVersion: fc.constant(1),
    environment: fc.constant('test'),
    version: fc.nat(),
    flags: fc.tuple(...FLAG_KEYS.map(validFlag)),
    segments: fc.tuple(...SEGMENT_KEYS.map(validSegment)),
  }),
).chain((r) =>
  // Damage inside one flag or segment as well, so that most rulesets compile with a broken part.
  typeof r === 'object' && r !== null && Array.isArray((r as Ruleset).flags)
    ? fc.tuple(fc.nat(), fc.nat(), garbage).map(([which, pick, replacement]) => {
        const copy = { ...(r as Ruleset), flags: [...(r as Ruleset).flags] };
        const i = which % (copy.flags.length || 1);
        if (copy.flags.length > 0)
          copy.flags[i] = damaged(copy.flags[i], pick, replacement) as Ruleset['flags'][number];
        return copy;
      })
    : fc.constant(r),
);

const rulesetFromValid = fc
  .record({
    flags: fc.tuple(...FLAG_KEYS.map(validFlag)),
    segments: fc.tuple(...SEGMENT_KEYS.map(validSegment)),
  })
  .map(
    ({ flags, segments }) =>
      ({ schemaVersion: 1, environment: 'test', version: 1, flags, segments }) as unknown as Ruleset,
  );

/** A flag that uses every part of the schema, for damaging one node at a time. */
const RICH_FLAG = {
  key: 'rich',
  type: 'json',
  variants: [
    { key: 'a', value: { layout: 'grid', columns: [1, 2] } },
    { key: 'b', value: null },
    { key: 'c', value: 'plain' },
  ],
  clientSide: true,
  metadata: { owner: 'growth', ticket: 12 },
  enabled: true,
  offVariant: 'c',
  prerequisites: [{ flag: 'f0', variants: ['a', 'b'] }],
  targets: [{ variant: 'b', values: ['ann', 'bob'] }],
  rules: [
    {
      id: 'r1',
      clauses: [
        { attribute: 'plan', op: 'in', values: ['pro', 3, true] },
        { attribute: 'app', op: 'semverGt', values: ['1.0.0'], negate: true },
        { attribute: 'key', op: 'inSegment', values: ['rich-segment'] },
      ],
      serve: {
        rollout: {
          bucketBy: 'org',
          weights: [
            { variant: 'a', weight: 60_000 },
            { variant: 'b', weight: 40_000 },
          ],
        },
      },
    },
    { id: 'r2', clauses: [{ attribute: 'signup', op: 'before', values: ['2025-03-01'] }], serve: { variant: 'c' } },
  ],
  defaultServe: {
    rollout: {
      weights: [
        { variant: 'a', weight: 50_000 },
        { variant: 'c', weight: 50_000 },
      ],
    },
  },
  salt: 'rich-salt',
  version: 3,
} as unknown as Ruleset['flags'][number];

const RICH_SEGMENT = {
  key: 'rich-segment',
  included: ['ann'],
  excluded: ['eve'],
  rules: [{ id: 'r', clauses: [{ attribute: 'email', op: 'matches', values: ['^[a-z]+@acme\\.com$'] }] }],
  version: 2,
} as unknown as Ruleset['segments'][number];

const plainContext = fc.record(
  {
    key: fc.constantFrom('ann', 'bob', 'eve', 'zed'),
    plan: fc.constantFrom('pro', 'free'),
    age: fc.integer({ min: 0, max: 99 }),
    app: fc.constantFrom('1.2.3', '2.0.0', 'x'),
    email: fc.constantFrom('ann@acme.com', 'bob@b.io', 'b0b'),
    signup: fc.constantFrom('2025-02-01', '2025-06-01T00:00:00Z', 1_740_000_000_000),
    org: fc.string(),
  },
  { requiredKeys: [] },
);

describe('evaluation robustness', () => {
  it('never throws or errors on any context, however hostile', () => {
    fc.assert(
      fc.property(rulesetFromValid, hostileContext, fc.anything(), (definition, context, defaultValue) => {
        const evaluator = compile(definition);
        for (const key of FLAG_KEYS) {
          const result = evaluator.evaluate(key, context as EvaluationContext, defaultValue);
          expectWellFormed(result, defaultValue);
          // Only the ruleset can make an evaluation fail: a prerequisite or segment cycle.
          if (result.reason === 'ERROR') expect(result.errorMessage).toMatch(/^cycle through /);
          expect(evaluator.evaluate(key, context as EvaluationContext, defaultValue)).toEqual(result);
        }
      }),
      { numRuns: 200 },
    );
    expect(({} as Record<string, unknown>).key).toBeUndefined();
  });

  it('compiles any value at all either into an evaluator or into a SwitchyardError', () => {
    fc.assert(
      fc.property(garbage, (input) => {
        try {
          compile(input as Ruleset).evaluate('x', {}, 0);
        } catch (err) {
          expect(err).toBeInstanceOf(SwitchyardError);
          expect(['INVALID_RULESET', 'UNSUPPORTED_SCHEMA_VERSION']).toContain((err as SwitchyardError).code);
        }
      }),
    );
  });

  it('either refuses a damaged ruleset with SwitchyardError or evaluates every flag of it without throwing', () => {
    const reasons = new Set<string>();
    fc.assert(
      fc.property(
        rulesetArb,
        fc.array(fc.oneof(plainContext, hostileContext), { minLength: 1, maxLength: 4 }),
        fc.option(fc.constantFrom(...FLAG_TYPES), { nil: undefined }),
        (input, contexts, expectedType) => {
          let evaluator: Evaluator;
          try {
            evaluator = compile(input as Ruleset);
          } catch (err) {
            expect(err).toBeInstanceOf(SwitchyardError);
            expect(['INVALID_RULESET', 'UNSUPPORTED_SCHEMA_VERSION']).toContain((err as SwitchyardError).code);
            return;
          }
          for (const key of [...FLAG_KEYS, 'missing']) {
            for (const context of contexts) {
              const result = evaluator.evaluate(key, context as EvaluationContext, 'dflt', expectedType);
              expectWellFormed(result, 'dflt');
              reasons.add(result.errorCode ?? result.reason);
              expect(evaluator.evaluate(key, context as EvaluationContext, 'dflt', expectedType)).toEqual(result);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    // The generator must reach every outcome, not only compile errors, for the property to say much.
    expect([...reasons].sort()).toEqual(
      [
        'DEFAULT',
        'DISABLED',
        'FLAG_NOT_FOUND',
        'PARSE_ERROR',
        'PREREQUISITE_FAILED',
        'SPLIT',
        'STATIC',
        'TARGETING_MATCH',
        'TYPE_MISMATCH',
      ].sort(),
    );
  });

  it("gives the browser engine's answers: random rulesets, damaged or not, over the wire as a client view", () => {
    const encoder = new (
      globalThis as unknown as { TextEncoder: new () => { encode(input: string): Uint8Array } }
    ).TextEncoder();
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(
        rulesetArb,
        fc.array(fc.oneof(plainContext, hostileContext), { minLength: 1, maxLength: 4 }),
        fc.option(fc.constantFrom(...FLAG_TYPES), { nil: undefined }),
        (input, contexts, expectedType) => {
          let core: Evaluator;
          try {
            core = compile(input as Ruleset);
          } catch (err) {
            expect(err).toBeInstanceOf(SwitchyardError);
            expect(['INVALID_RULESET', 'UNSUPPORTED_SCHEMA_VERSION']).toContain((err as SwitchyardError).code);
            return;
          }
          const browser = viewEvaluator(JSON.parse(JSON.stringify(clientView(input as Ruleset))), encoder);
          for (const key of [...FLAG_KEYS, 'missing']) {
            for (const context of contexts) {
              const expected = JSON.stringify(core.evaluate(key, context as EvaluationContext, 'dflt', expectedType));
              const got = JSON.stringify(browser.evaluate(key, context as EvaluationContext, 'dflt', expectedType));
              expect(got).toBe(expected);
              outcomes.add(JSON.parse(expected).errorCode ?? JSON.parse(expected).reason);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(outcomes.size).toBeGreaterThanOrEqual(8);
  });

  it('survives every node of a flag or segment replaced by each common mistake', () => {
    const base = fc.sample(rulesetFromValid, { seed: 5, numRuns: 1 })[0] as Ruleset;
    const full: Ruleset = { ...base, flags: [RICH_FLAG, ...base.flags], segments: [RICH_SEGMENT, ...base.segments] };
    let cases = 0;
    for (const [list, index] of [
      ['flags', 0],
      ['segments', 0],
    ] as const) {
      const all = paths(full[list][index]);
      for (let pick = 0; pick < all.length; pick++) {
        for (const mistake of COMMON_MISTAKES) {
          const copy = { ...full, [list]: [...full[list]] };
          copy[list][index] = damaged(full[list][index], pick, mistake) as never;
          let evaluator: Evaluator;
          try {
            evaluator = compile(copy);
          } catch (err) {
            // Only a flag or segment without a usable key makes the whole ruleset unusable.
            expect(err).toBeInstanceOf(SwitchyardError);
            expect(['INVALID_RULESET', 'UNSUPPORTED_SCHEMA_VERSION']).toContain((err as SwitchyardError).code);
            expect((err as SwitchyardError).message).toMatch(/\.key$/);
            continue;
          }
          cases++;
          for (const key of ['rich', ...FLAG_KEYS]) {
            expectWellFormed(evaluator.evaluate(key, { key: 'ann', plan: 'pro', age: 30, org: 'o' }, 'dflt'), 'dflt');
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(500);
  });

  it('takes any sequence of patches, damaged or not, and keeps evaluating without throwing', () => {
    const patchArb = fc.oneof(
      fc.record({
        kind: fc.constant('flag'),
        key: fc.constantFrom(...FLAG_KEYS),
        version: fc.nat({ max: 20 }),
        value: fc.option(
          fc.constantFrom(...FLAG_KEYS).chain((k) => sometimesDamaged(validFlag(k))),
          { nil: null },
        ),
      }),
      fc.record({
        kind: fc.constant('segment'),
        key: fc.constantFrom(...SEGMENT_KEYS),
        version: fc.nat({ max: 20 }),
        value: fc.option(
          fc.constantFrom(...SEGMENT_KEYS).chain((k) => sometimesDamaged(validSegment(k))),
          { nil: null },
        ),
      }),
    );
    fc.assert(
      fc.property(fc.array(patchArb, { maxLength: 12 }), plainContext, (patches, context) => {
        const evaluator = compile({ schemaVersion: 1, environment: 'test', version: 0, flags: [], segments: [] });
        for (const patch of patches) {
          evaluator.applyPatch(patch as Patch);
          for (const key of FLAG_KEYS) expectWellFormed(evaluator.evaluate(key, context, 'dflt'), 'dflt');
        }
      }),
      { numRuns: 150 },
    );
  });
});

/** A value damaged in one to three places. */
function damagedUpTo3(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const damage = fc.tuple(fc.nat(), garbage);
  return fc
    .tuple(valid, fc.array(damage, { minLength: 1, maxLength: 3 }))
    .map(([v, damages]) => damages.reduce((out, [pick, replacement]) => damaged(out, pick, replacement), v));
}

// The engine compiles tersely and checkFlag/checkSegment validate with messages (validate.ts):
// two walks of the same schema, which must refuse exactly the same configurations.
describe('checkFlag and checkSegment agree with the engine', () => {
  /** Whether the flag is refused, once both have said the same. */
  const flagAgrees = (flag: unknown): boolean => {
    const invalid = compileFlag(flag, 'fallback', new Murmur3Utf8()).invalid;
    expect(checkFlag(flag as Flag) !== undefined).toBe(invalid);
    return invalid;
  };
  const segmentAgrees = (segment: unknown): boolean => {
    const invalid = compileSegment(segment, 'fallback').invalid;
    expect(checkSegment(segment as Segment) !== undefined).toBe(invalid);
    return invalid;
  };

  it('on flags and segments damaged anywhere', () => {
    const flags = fc.constantFrom(...FLAG_KEYS).chain((k) => fc.oneof(validFlag(k), damagedUpTo3(validFlag(k))));
    fc.assert(
      fc.property(flags, (flag) => {
        flagAgrees(flag);
      }),
      { numRuns: 2000 },
    );
    const segments = fc
      .constantFrom(...SEGMENT_KEYS)
      .chain((k) => fc.oneof(validSegment(k), damagedUpTo3(validSegment(k))));
    fc.assert(
      fc.property(segments, (segment) => {
        segmentAgrees(segment);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(garbage, (input) => {
        flagAgrees(input);
        segmentAgrees(input);
      }),
    );
  });

  it('on every node of a flag or segment using the whole schema replaced by each common mistake', () => {
    let refused = 0;
    for (const [valid, agrees] of [
      [RICH_FLAG, flagAgrees],
      [RICH_SEGMENT, segmentAgrees],
    ] as const) {
      agrees(valid);
      for (let pick = 0; pick < paths(valid).length; pick++) {
        for (const mistake of [...COMMON_MISTAKES, 'b', 'rich', 99_999, 100_000, [null], [{}]]) {
          if (agrees(damaged(valid, pick, mistake))) refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(500);
  });
});
