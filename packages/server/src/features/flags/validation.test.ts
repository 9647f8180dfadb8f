import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const project = '/api/v1/projects/val';
const configOf = (flag: string, env = 'production') => `${project}/flags/${flag}/environments/${env}`;
const config = configOf('color');

beforeAll(async () => {
  s = await startTestServer();
  expect((await s.call('POST', '/api/v1/projects', { key: 'val', name: 'Validation' })).statusCode).toBe(201);
  for (const key of ['staging', 'production']) {
    expect((await s.call('POST', `${project}/environments`, { key, name: key })).statusCode).toBe(201);
  }
  const color = {
    key: 'color',
    name: 'Color',
    type: 'string',
    variants: [
      { key: 'red', value: 'red' },
      { key: 'blue', value: 'blue' },
    ],
  };
  expect((await s.call('POST', `${project}/flags`, color)).statusCode).toBe(201);
  const limit = { key: 'limit', name: 'Limit', type: 'number', variants: [{ key: 'ten', value: 10 }] };
  expect((await s.call('POST', `${project}/flags`, limit)).statusCode).toBe(201);
  for (const key of ['pre-a', 'pre-b', 'pre-c']) {
    expect((await s.call('POST', `${project}/flags`, { key, name: key, type: 'boolean' })).statusCode).toBe(201);
  }
  const segment = await s.call('POST', `${project}/environments/production/segments`, { key: 'beta', name: 'Beta' });
  expect(segment.statusCode).toBe(201);
});

afterAll(async () => {
  await s?.close();
});

const rule = (clauses: unknown[], serve: unknown = { variant: 'red' }, id?: string) => ({
  ...(id === undefined ? {} : { id }),
  clauses,
  serve,
});

/**
 * Sends a configuration write that must be refused with 422 at `field`, and proves it changed
 * nothing: the configuration reads back the same and no row of the database changed.
 */
async function expectInvalid(body: Record<string, unknown>, field: string, url = config, method = 'PATCH') {
  const before = await s.call('GET', url);
  expect(before.statusCode).toBe(200);
  await expectRefusal(s, () => s.call(method, url, body), { status: 422, code: 'INVALID_CONFIG', field });
  expect((await s.call('GET', url)).json()).toEqual(before.json());
}

describe('clause values', () => {
  it('refuses a regular expression that does not compile', async () => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'email', op: 'matches', values: ['^ok$', '(unclosed'] }])] },
      'rules[0].clauses[0].values[1]',
    );
  });

  it('refuses a regular expression longer than 1024 characters', async () => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'email', op: 'matches', values: ['a'.repeat(1025)] }])] },
      'rules[0].clauses[0].values[0]',
    );
  });

  it('accepts a regular expression of exactly 1024 characters', async () => {
    const res = await s.call('PATCH', configOf('color', 'staging'), {
      rules: [rule([{ attribute: 'email', op: 'matches', values: ['a'.repeat(1024)] }])],
    });
    expect(res.statusCode).toBe(200);
  });

  it.each(['(a+)+$', '^(\\d+)*$', '(x+x+)+y', '(a|aa)+$', '(.*a){3}x', '^.*a.*b.*c$'])(
    'refuses %j, which can backtrack catastrophically, with the reason',
    async (pattern) => {
      const before = await s.call('GET', config);
      const body = { rules: [rule([{ attribute: 'email', op: 'matches', values: ['^ok$', pattern] }])] };
      const error = await expectRefusal(s, () => s.call('PATCH', config, body), {
        status: 422,
        code: 'CATASTROPHIC_BACKTRACKING',
        field: 'rules[0].clauses[0].values[1]',
      });
      expect(error.message).toContain('backtrack catastrophically');
      expect((await s.call('GET', config)).json()).toEqual(before.json());
    },
  );

  it('names a subject that shows the blow-up, for patterns whose shape alone does not', async () => {
    const body = { rules: [rule([{ attribute: 'email', op: 'matches', values: ['(a|aa)+$'] }])] };
    const res = await s.call('PATCH', config, body);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toContain('grows exponentially');
    expect(res.json().error.details.attack).toMatch(/'a'/);
  });

  it('accepts patterns with a single level of repetition', async () => {
    const patterns = [
      '^[a-z0-9._%+-]+@example\\.com$',
      '\\p{L}+',
      '^(?<year>\\d{4})-\\d{2}$',
      '(?:ab)+c',
      '.*@acme\\.com$',
      '^([a-z0-9_.+-]+)@([a-z0-9-]+\\.)+[a-z]{2,}$',
    ];
    const res = await s.call('PATCH', configOf('color', 'staging'), {
      rules: [rule([{ attribute: 'email', op: 'matches', values: patterns }])],
    });
    expect(res.statusCode).toBe(200);
  });

  it.each(['1.2', 'v1', '1.2.3.4', '01.2.3', 'latest'])('refuses %j as a semantic version', async (version) => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'appVersion', op: 'semverGt', values: ['1.0.0', version] }])] },
      'rules[0].clauses[0].values[1]',
    );
  });

  it.each([
    ['a date-time without an offset', '2025-06-01T12:00:00'],
    ['an impossible date', '2025-02-30'],
    ['free text', 'next tuesday'],
  ])('refuses %s as a date', async (_what, date) => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'signup', op: 'before', values: [date] }])] },
      'rules[0].clauses[0].values[0]',
    );
  });

  it('accepts dates with an offset, calendar dates and epoch milliseconds', async () => {
    const res = await s.call('PATCH', configOf('color', 'staging'), {
      rules: [
        rule([
          { attribute: 'signup', op: 'after', values: ['2025-06-01T12:00:00+02:00', '2025-06-01', 1748779200000] },
        ]),
      ],
    });
    expect(res.statusCode).toBe(200);
  });

  it('refuses a number comparison against a string', async () => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'age', op: 'gte', values: ['eighteen'] }])] },
      'rules[0].clauses[0].values[0]',
    );
  });
});

describe('variant references', () => {
  it('refuses an offVariant the flag does not have', async () => {
    await expectInvalid({ offVariant: 'green' }, 'offVariant');
  });

  it('refuses an individual target with an unknown variant', async () => {
    await expectInvalid(
      {
        targets: [
          { variant: 'red', values: ['u1'] },
          { variant: 'green', values: ['u2'] },
        ],
      },
      'targets[1].variant',
    );
  });

  it('refuses a rule serving an unknown variant', async () => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'country', op: 'in', values: ['NL'] }], { variant: 'green' })] },
      'rules[0].serve.variant',
    );
  });

  it('refuses a default rollout naming an unknown variant', async () => {
    await expectInvalid(
      {
        defaultServe: {
          rollout: {
            weights: [
              { variant: 'red', weight: 50_000 },
              { variant: 'green', weight: 50_000 },
            ],
          },
        },
      },
      'defaultServe.rollout.weights[1].variant',
    );
  });

  it('refuses a rule rollout naming a variant twice', async () => {
    await expectInvalid(
      {
        rules: [
          rule([{ attribute: 'country', op: 'in', values: ['NL'] }], {
            rollout: {
              weights: [
                { variant: 'red', weight: 50_000 },
                { variant: 'red', weight: 50_000 },
              ],
            },
          }),
        ],
      },
      'rules[0].serve.rollout.weights[1].variant',
    );
  });
});

describe('rollout weights', () => {
  it.each([
    [99_999, 'one short'],
    [100_001, 'one over'],
  ])('refuses weights summing to %i (%s) of 100 000', async (total) => {
    await expectInvalid(
      {
        defaultServe: {
          rollout: {
            weights: [
              { variant: 'red', weight: 50_000 },
              { variant: 'blue', weight: total - 50_000 },
            ],
          },
        },
      },
      'defaultServe.rollout.weights',
    );
  });

  it('refuses weights that are not integers with 400 at the serve', async () => {
    const before = (await s.call('GET', config)).json();
    const error = await expectRefusal(
      s,
      () =>
        s.call('PATCH', config, {
          defaultServe: {
            rollout: {
              weights: [
                { variant: 'red', weight: 33_333.5 },
                { variant: 'blue', weight: 66_666.5 },
              ],
            },
          },
        }),
      { status: 400, code: 'VALIDATION_FAILED' },
    );
    expect(error.details.field).toMatch(/^defaultServe/);
    expect((await s.call('GET', config)).json()).toEqual(before);
  });

  it('accepts 0.001 % steps that sum to exactly 100 000', async () => {
    const res = await s.call('PATCH', configOf('color', 'staging'), {
      defaultServe: {
        rollout: {
          weights: [
            { variant: 'red', weight: 1 },
            { variant: 'blue', weight: 99_999 },
          ],
        },
      },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('segment references', () => {
  it('refuses a rule naming a segment that does not exist in the environment', async () => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'key', op: 'inSegment', values: ['beta', 'gamma'] }])] },
      'rules[0].clauses[0].values[1]',
    );
  });

  it('refuses a segment that exists only in another environment', async () => {
    await expectInvalid(
      { rules: [rule([{ attribute: 'key', op: 'inSegment', values: ['beta'] }])] },
      'rules[0].clauses[0].values[0]',
      configOf('color', 'staging'),
    );
  });

  it('accepts a rule naming a segment of its environment', async () => {
    const res = await s.call('PATCH', config, {
      rules: [rule([{ attribute: 'key', op: 'inSegment', values: ['beta'] }], { variant: 'blue' }, 'in-beta')],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().rules).toEqual([
      { id: 'in-beta', clauses: [{ attribute: 'key', op: 'inSegment', values: ['beta'] }], serve: { variant: 'blue' } },
    ]);
  });
});

describe('prerequisites', () => {
  it('refuses a prerequisite flag that does not exist', async () => {
    await expectInvalid({ prerequisites: [{ flag: 'ghost', variants: ['on'] }] }, 'prerequisites[0].flag');
  });

  it('refuses a prerequisite variant the prerequisite flag does not have', async () => {
    await expectInvalid(
      {
        prerequisites: [
          { flag: 'pre-a', variants: ['on'] },
          { flag: 'pre-b', variants: ['off', 'maybe'] },
        ],
      },
      'prerequisites[1].variants[1]',
    );
  });

  it('refuses a flag as its own prerequisite', async () => {
    await expectInvalid(
      { prerequisites: [{ flag: 'pre-a', variants: ['on'] }] },
      'prerequisites[0].flag',
      configOf('pre-a'),
    );
  });

  it('refuses a cycle A -> B -> A', async () => {
    const first = await s.call('PATCH', configOf('pre-a'), { prerequisites: [{ flag: 'pre-b', variants: ['on'] }] });
    expect(first.statusCode).toBe(200);
    await expectInvalid({ prerequisites: [{ flag: 'pre-a', variants: ['on'] }] }, 'prerequisites', configOf('pre-b'));
  });

  it('refuses a longer cycle A -> B -> C -> A', async () => {
    const second = await s.call('PATCH', configOf('pre-b'), { prerequisites: [{ flag: 'pre-c', variants: ['on'] }] });
    expect(second.statusCode).toBe(200);
    await expectInvalid({ prerequisites: [{ flag: 'pre-a', variants: ['off'] }] }, 'prerequisites', configOf('pre-c'));
  });

  it('accepts in one environment what would be a cycle only together with another environment', async () => {
    const res = await s.call('PATCH', configOf('pre-b', 'staging'), {
      prerequisites: [{ flag: 'pre-a', variants: ['on'] }],
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('rules', () => {
  it('refuses two rules with the same id', async () => {
    await expectInvalid(
      {
        rules: [
          rule([{ attribute: 'country', op: 'in', values: ['NL'] }], { variant: 'red' }, 'same'),
          rule([{ attribute: 'country', op: 'in', values: ['BE'] }], { variant: 'blue' }, 'same'),
        ],
      },
      'rules[1].id',
    );
  });

  it('gives rules without an id a unique one', async () => {
    const res = await s.call('PATCH', configOf('color', 'staging'), {
      rules: [
        rule([{ attribute: 'country', op: 'in', values: ['NL'] }]),
        rule([{ attribute: 'country', op: 'in', values: ['BE'] }]),
      ],
    });
    expect(res.statusCode).toBe(200);
    const ids = res.json().rules.map((r: { id: string }) => r.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });

  it('refuses an unknown operator with 400 at the operator', async () => {
    await expectRefusal(
      s,
      () => s.call('PATCH', config, { rules: [rule([{ attribute: 'country', op: 'like', values: ['NL'] }])] }),
      { status: 400, code: 'VALIDATION_FAILED', field: 'rules[0].clauses[0].op' },
    );
  });
});

describe('full replacement', () => {
  it('applies the same checks to PUT as to PATCH', async () => {
    await expectInvalid(
      { enabled: true, defaultServe: { variant: 'red' }, offVariant: 'green' },
      'offVariant',
      config,
      'PUT',
    );
    await expectInvalid(
      { enabled: true, defaultServe: { variant: 'ten' }, targets: [{ variant: 'eleven', values: ['u1'] }] },
      'targets[0].variant',
      configOf('limit'),
      'PUT',
    );
  });
});
