import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../../test-support/refusal.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';

let s: TestServer;
const project = '/api/v1/projects/vars';
const flags = `${project}/flags`;
const abc = [
  { key: 'a', value: 'alpha' },
  { key: 'b', value: 'beta' },
  { key: 'c', value: 'gamma' },
];

beforeAll(async () => {
  // The controller takes no step of its own: plans stay as the tests put them.
  s = await startTestServer({ plans: { intervalMs: 3_600_000 }, webhooks: { dispatch: false } });
  await s.ok('POST', '/api/v1/projects', { key: 'vars', name: 'Variants' });
  for (const key of ['staging', 'production']) await s.ok('POST', `${project}/environments`, { key, name: key });
});

afterAll(async () => {
  await s?.close();
});

async function createFlag(key: string, body: Record<string, unknown> = {}) {
  return s.ok('POST', flags, { key, name: key, type: 'string', variants: abc, ...body });
}

async function envVersions(): Promise<Record<string, number>> {
  const items: { key: string; version: number }[] = (await s.ok('GET', `${project}/environments`)).items;
  return Object.fromEntries(items.map((e) => [e.key, e.version]));
}

const patchVariants = (key: string, variants: unknown) => () => s.call('PATCH', `${flags}/${key}`, { variants });
const withoutC = abc.slice(0, 2);

describe('editing variants', () => {
  it('adds a variant and changes a value, giving every environment a new version', async () => {
    await createFlag('edit');
    const before = await envVersions();
    const variants = [...abc.slice(0, 2), { key: 'c', value: 'GAMMA' }, { key: 'd', value: 'delta' }];
    const flag = await s.ok('PATCH', `${flags}/edit`, { variants });
    expect(flag.variants).toEqual(variants);
    expect(flag.revision).toBe(2);
    const after = await envVersions();
    for (const env of ['staging', 'production']) expect(after[env]).toBe((before[env] as number) + 1);
    const { items } = await s.ok('GET', '/api/v1/audit?project=vars&limit=1');
    expect(items[0]).toMatchObject({ action: 'flag.update', before: { variants: abc }, after: { variants } });
  });

  it('removes a variant no environment uses', async () => {
    await createFlag('unused');
    expect((await s.ok('PATCH', `${flags}/unused`, { variants: withoutC })).variants).toEqual(withoutC);
  });

  it('refuses values of the wrong type, naming the variant', async () => {
    await createFlag('typed');
    await expectRefusal(s, patchVariants('typed', [...withoutC, { key: 'c', value: 3 }]), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants[2].value',
    });
    await s.ok('POST', flags, { key: 'num', name: 'num', type: 'number', variants: [{ key: 'one', value: 1 }] });
    await expectRefusal(s, patchVariants('num', [{ key: 'one', value: '1' }]), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants[0].value',
    });
  });

  it('refuses two variants with one key, and any change to a boolean flag’s variants', async () => {
    await expectRefusal(s, patchVariants('typed', [...abc, { key: 'a', value: 'again' }]), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants[3].key',
    });
    await s.ok('POST', flags, { key: 'bool', name: 'bool', type: 'boolean' });
    await expectRefusal(s, patchVariants('bool', [{ key: 'on', value: true }]), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants',
    });
  });

  it('refuses an empty list or a malformed key with 400', async () => {
    await expectRefusal(s, patchVariants('typed', []), { status: 400, code: 'VALIDATION_FAILED' });
    await expectRefusal(s, patchVariants('typed', [{ key: ' bad', value: 'x' }]), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });
});

describe('removing a variant still in use', () => {
  const uses: [string, Record<string, unknown>, string][] = [
    ['the off variant', { offVariant: 'c' }, 'production: offVariant'],
    ['an individual target', { targets: [{ variant: 'c', values: ['u1'] }] }, 'production: targets[0]'],
    [
      'a rule',
      { rules: [{ clauses: [{ attribute: 'k', op: 'in', values: ['x'] }], serve: { variant: 'c' } }] },
      'production: rules[0].serve',
    ],
    [
      'a rollout weight, even of 0',
      {
        defaultServe: {
          rollout: {
            weights: [
              { variant: 'a', weight: 100_000 },
              { variant: 'c', weight: 0 },
            ],
          },
        },
      },
      'production: defaultServe.rollout.weights[1]',
    ],
    ['the default serve', { defaultServe: { variant: 'c' } }, 'production: defaultServe'],
  ];
  for (const [what, config, where] of uses) {
    it(`refuses with 422 naming variants when ${what} names it`, async () => {
      const key = `held-${what.replace(/[^a-z]+/g, '-')}`;
      await createFlag(key);
      await s.ok('PATCH', `${flags}/${key}/environments/production`, config);
      const error = await expectRefusal(s, patchVariants(key, withoutC), {
        status: 422,
        code: 'INVALID_CONFIG',
        field: 'variants',
      });
      expect(error.message).toContain(where);
      expect(error.details.uses).toContainEqual(expect.objectContaining({ variant: 'c', environment: 'production' }));
    });
  }

  it('refuses while another flag names it in a prerequisite, and allows it once that is gone', async () => {
    await createFlag('parent');
    await s.ok('POST', flags, { key: 'child', name: 'child', type: 'boolean' });
    await s.ok('PATCH', `${flags}/child/environments/staging`, {
      prerequisites: [{ flag: 'parent', variants: ['c'] }],
    });
    const error = await expectRefusal(s, patchVariants('parent', withoutC), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants',
    });
    expect(error.message).toContain('staging: flag "child" prerequisites[0]');
    await s.ok('PATCH', `${flags}/child/environments/staging`, { prerequisites: [] });
    await s.ok('PATCH', `${flags}/parent`, { variants: withoutC });
  });

  it('refuses while an open release plan releases it or holds it as control', async () => {
    await createFlag('planned');
    const plan = `${flags}/planned/environments/production/release-plan`;
    await s.ok('PUT', plan, { variant: 'c', control: 'a' });
    await s.ok('POST', `${plan}/start`);
    const error = await expectRefusal(s, patchVariants('planned', withoutC), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants',
    });
    expect(error.message).toContain('release plan (running) variant');
    await expectRefusal(s, patchVariants('planned', abc.slice(1)), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants',
    });
    await s.ok('POST', `${plan}/abort`);
    // The aborted plan left its rollout in place; once that serves the control alone, the variant is free.
    await s.ok('PATCH', `${flags}/planned/environments/production`, { defaultServe: { variant: 'a' } });
    await s.ok('PATCH', `${flags}/planned`, { variants: withoutC });
  });
});

describe('reordering variants', () => {
  it("refuses to swap an open release plan's variant and control, whose buckets follow the order, and takes any other order", async () => {
    await createFlag('ordered');
    const plan = `${flags}/ordered/environments/staging/release-plan`;
    await s.ok('PUT', plan, { variant: 'c', control: 'a' });
    await s.ok('POST', `${plan}/start`);
    const [a, b, c] = abc as [(typeof abc)[0], (typeof abc)[0], (typeof abc)[0]];
    const before = await envVersions();
    const error = await expectRefusal(s, patchVariants('ordered', [c, b, a]), {
      status: 422,
      code: 'INVALID_CONFIG',
      field: 'variants',
    });
    expect(error.message).toContain('"c" and "a" cannot swap places');
    expect(error.message).toContain('staging: release plan (running) variant');
    expect(await envVersions()).toEqual(before);
    // Another variant may move: it has no bucket in the plan's rollout.
    await s.ok('PATCH', `${flags}/ordered`, { variants: [b, a, c] });
    await s.ok('POST', `${plan}/abort`);
    await s.ok('PATCH', `${flags}/ordered`, { variants: [c, b, a] });
  });
});

describe('removing a variant while another write starts using it', () => {
  it('lets exactly one of the two through, whichever commits first', async () => {
    await s.ok('POST', flags, { key: 'raced-child', name: 'raced-child', type: 'boolean' });
    for (let round = 0; round < 4; round++) {
      const key = `raced-${round}`;
      await createFlag(key);
      // Half the rounds race the flag's own configuration, half another flag's prerequisite.
      const use =
        round % 2 === 0
          ? () => s.call('PATCH', `${flags}/${key}/environments/staging`, { offVariant: 'c' })
          : () =>
              s.call('PATCH', `${flags}/raced-child/environments/staging`, {
                prerequisites: [{ flag: key, variants: ['c'] }],
              });
      const [removal, using] = await Promise.all([patchVariants(key, withoutC)(), use()]);
      expect([removal.statusCode, using.statusCode].sort()).toEqual([200, 422]);
      const variants = (await s.ok('GET', `${flags}/${key}`)).variants;
      expect(variants).toEqual(removal.statusCode === 200 ? withoutC : abc);
    }
  });
});

describe('the flag list', () => {
  it('gives each flag every environment’s on/off state and version', async () => {
    await createFlag('listed');
    await s.ok('PATCH', `${flags}/listed/environments/staging`, { enabled: true });
    const { items } = await s.ok('GET', `${flags}?q=listed`);
    const detail = await s.ok('GET', `${flags}/listed`);
    expect(items).toEqual([detail]);
    expect(items[0].environments).toEqual({
      staging: { enabled: true, version: expect.any(Number) },
      production: { enabled: false, version: expect.any(Number) },
    });
  });
});
