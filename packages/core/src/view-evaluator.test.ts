import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boolFlag, inSegment, onFor, ruleset } from './builders.fixture.js';
import { clientView, viewFlag, viewSegment } from './client-view.js';
import { compile } from './evaluator.js';
import type { Flag, Patch, Ruleset, Segment } from './types.js';
import { viewEvaluator } from './view-evaluator.js';

const encoder = new (
  globalThis as unknown as { TextEncoder: new () => { encode(input: string): Uint8Array } }
).TextEncoder();
const browser = (r: Ruleset) => viewEvaluator(clientView(r), encoder);
const json = (value: unknown) => JSON.stringify(value);

describe('viewEvaluator', () => {
  it('hashes as the core does: salts of every length modulo 4, surrogates split across salt and value, long values', () => {
    // A thousand variants of 0.1 % each: the variant served tells the point to within 100.
    const variants = Array.from({ length: 1000 }, (_, i) => ({ key: `v${i}`, value: i }));
    const weights = variants.map((v) => ({ variant: v.key, weight: 100 }));
    const salts = ['', 'a', 'ab', 'abc', 'abcd', 'é', 'a日', '😀', 'x\ud800', '\udc00', 'flag-0001'];
    const flags: Flag[] = salts.map((salt, i) => ({
      key: `f${i}`,
      type: 'number',
      variants,
      enabled: true,
      defaultServe: { rollout: { weights } },
      salt,
      version: 1,
    }));
    const core = compile(ruleset(flags));
    const view = browser(ruleset(flags));
    for (const key of ['', 'u', 'user-42', '日本', '\ude00z', '\ud83d', 'v'.repeat(1100), 42 as unknown as string]) {
      for (const flag of flags) {
        expect(json(view.evaluate(flag.key, { key }, -1)), `${flag.salt} + ${key.slice?.(0, 12)}`).toBe(
          json(core.evaluate(flag.key, { key }, -1)),
        );
      }
    }
  });

  it('takes the same patches as the core, in any order, and ends in the same state', () => {
    const flagVersion = (key: string, version: number, variant: 'on' | 'off'): Flag =>
      boolFlag(key, { version, defaultServe: { variant }, rules: [onFor('r', [inSegment('s')])] });
    const segmentVersion = (version: number, included: string[]): Segment => ({ key: 's', included, version });
    const patch = fc.oneof(
      fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 12 }), fc.boolean(), fc.boolean()).map(
        ([key, version, on, del]): Patch => ({
          kind: 'flag',
          key,
          version,
          value: del ? null : flagVersion(key, version, on ? 'on' : 'off'),
        }),
      ),
      fc.tuple(fc.integer({ min: 0, max: 12 }), fc.boolean(), fc.boolean()).map(
        ([version, ann, del]): Patch => ({
          kind: 'segment',
          key: 's',
          version,
          value: del ? null : segmentVersion(version, ann ? ['ann'] : []),
        }),
      ),
      // Malformed: a key that is not the value's, or a version that is no whole number.
      fc.constantFrom<Patch>(
        { kind: 'flag', key: 'a', version: 20, value: flagVersion('b', 20, 'on') },
        { kind: 'flag', key: 'a', version: 1.5, value: flagVersion('a', 1.5, 'on') },
        { kind: 'flag', key: 'a', version: -1, value: null },
      ),
    );
    fc.assert(
      fc.property(fc.array(patch, { maxLength: 12 }), (patches) => {
        const start = ruleset([flagVersion('a', 5, 'off')], [segmentVersion(5, ['ann'])], 5);
        const core = compile(start, { keepDefinitions: true });
        const view = browser(start);
        for (const p of patches) {
          const viewed = {
            ...p,
            value: p.value === null ? null : p.kind === 'flag' ? viewFlag(p.value) : viewSegment(p.value),
          };
          expect(view.applyPatch(viewed as Patch)).toBe(core.applyPatch(p));
          expect(view.version).toBe(core.version);
          for (const key of ['a', 'b'])
            expect(json(view.evaluate(key, { key: 'ann' }, null))).toBe(json(core.evaluate(key, { key: 'ann' }, null)));
        }
        expect(view.flagKeys()).toEqual(core.flagKeys());
        expect(json(view.toRuleset())).toBe(json(clientView(core.toRuleset())));
      }),
      { numRuns: 300 },
    );
  });

  it('tells which flags are measured, as the core does, through patches too', () => {
    const measured = { ...boolFlag('a'), measured: true };
    const r = ruleset([measured, boolFlag('b')]);
    const core = compile(r);
    const view = browser(r);
    for (const key of ['a', 'b', 'missing']) expect(view.isMeasured(key)).toBe(core.isMeasured(key));
    expect(view.isMeasured('a')).toBe(true);
    const patch: Patch = { kind: 'flag', key: 'a', version: 9, value: { ...measured, measured: false, version: 9 } };
    core.applyPatch(patch);
    view.applyPatch(patch);
    expect([view.isMeasured('a'), core.isMeasured('a')]).toEqual([false, false]);
  });

  it('refuses what is not a ruleset with a SwitchyardError', () => {
    const good = ruleset([boolFlag('a')]);
    for (const bad of [
      null,
      { ...good, schemaVersion: 9 },
      { ...good, version: -1 },
      { ...good, flags: 'a' },
      { ...good, flags: [{ ...boolFlag('a'), key: '' }] },
      { ...good, segments: [{ version: 1 }] },
    ]) {
      expect(() => viewEvaluator(bad as Ruleset, encoder), json(bad)).toThrow(
        expect.objectContaining({ name: 'SwitchyardError', code: 'INVALID_RULESET' }),
      );
    }
  });

  it('fails an evaluation it cannot make sense of outside a client view, rather than serve something', () => {
    const raw = ruleset([boolFlag('a', { defaultServe: { variant: 'nope' } })]);
    const result = viewEvaluator(raw, encoder).evaluate('a', {}, true);
    expect(result).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'GENERAL' });
  });

  it("serves frozen values and leaves the caller's ruleset unfrozen", () => {
    const flag: Flag = {
      key: 'theme',
      type: 'json',
      variants: [{ key: 'dark', value: { colours: ['black'] } }],
      enabled: true,
      defaultServe: { variant: 'dark' },
      version: 1,
    };
    const view = viewEvaluator(ruleset([flag]), encoder);
    const value = view.evaluate<unknown>('theme', {}, null).value as { colours: string[] };
    expect(Object.isFrozen(value.colours)).toBe(true);
    expect(Object.isFrozen(flag.variants[0]?.value)).toBe(false);
  });
});

describe('clientView', () => {
  it('keeps a valid flag as it is, with the version and metadata the engines read', () => {
    const flag = boolFlag('a', { metadata: { owner: 'web', nested: { no: 1 } as never }, version: 'x' as never });
    expect(viewFlag(flag)).toEqual({ ...flag, version: 0, metadata: { owner: 'web' } });
    expect(viewFlag(boolFlag('b', { metadata: { nested: [] as never } }))).not.toHaveProperty('metadata');
  });

  it('reduces an invalid flag or segment to what an error result needs, marked invalid', () => {
    const broken = boolFlag('a', { defaultServe: { variant: 'nope' }, metadata: { owner: 'web' }, version: 3 });
    expect(viewFlag(broken)).toEqual({
      key: 'a',
      version: 3,
      type: 'boolean',
      metadata: { owner: 'web' },
      invalid: true,
    });
    expect(viewFlag({ ...broken, type: 'float' as never })).toMatchObject({ type: undefined, invalid: true });
    expect(viewSegment({ key: 's', included: [1 as never], version: 2 })).toEqual({
      key: 's',
      version: 2,
      invalid: true,
    });
  });

  it('is idempotent: a view of a view is the same view', () => {
    const r = ruleset(
      [boolFlag('a'), boolFlag('b', { defaultServe: { variant: 'nope' } })],
      [{ key: 's', excluded: 'x' as never, version: 1 }],
    );
    expect(clientView(clientView(r))).toEqual(clientView(r));
  });
});
