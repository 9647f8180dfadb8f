import { describe, expect, it } from 'vitest';
import { boolFlag, inSegment, onFor, ruleset } from './builders.fixture.js';
import { compile, type Evaluator } from './evaluator.js';

describe('applyPatch', () => {
  const base = () =>
    compile(
      ruleset(
        [
          boolFlag('a', { version: 5 }),
          boolFlag('uses-seg', { version: 5, defaultServe: { variant: 'off' }, rules: [onFor('r', [inSegment('s')])] }),
          boolFlag('needs-a', { version: 5, offVariant: 'off', prerequisites: [{ flag: 'a', variants: ['on'] }] }),
        ],
        [{ key: 's', included: ['ann'], version: 5 }],
        5,
      ),
      { keepDefinitions: true },
    );
  const definition = (evaluator: Evaluator, key: string) => evaluator.toRuleset().flags.find((f) => f.key === key);

  it('applies a newer version of a flag and moves the evaluator’s version forward', () => {
    const evaluator = base();
    expect(
      evaluator.applyPatch({
        kind: 'flag',
        key: 'a',
        version: 6,
        value: boolFlag('a', { version: 6, defaultServe: { variant: 'off' } }),
      }),
    ).toBe(true);
    expect(evaluator.evaluate('a', {}, true).value).toBe(false);
    expect(evaluator.version).toBe(6);
    expect(definition(evaluator, 'a')?.version).toBe(6);
  });

  it('ignores a patch that is older than or as old as what it holds', () => {
    const evaluator = base();
    const stale = boolFlag('a', { version: 5, defaultServe: { variant: 'off' } });
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 5, value: stale })).toBe(false);
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 4, value: { ...stale, version: 4 } })).toBe(false);
    expect(evaluator.evaluate('a', {}, false).value).toBe(true);
    expect(evaluator.version).toBe(5);
  });

  it('ignores a duplicate of a patch it already applied', () => {
    const evaluator = base();
    const patch = {
      kind: 'flag',
      key: 'a',
      version: 7,
      value: boolFlag('a', { version: 7, defaultServe: { variant: 'off' } }),
    } as const;
    expect(evaluator.applyPatch(patch)).toBe(true);
    expect(evaluator.applyPatch(patch)).toBe(false);
  });

  it('adds a flag it did not have', () => {
    const evaluator = base();
    expect(evaluator.applyPatch({ kind: 'flag', key: 'new', version: 6, value: boolFlag('new', { version: 6 }) })).toBe(
      true,
    );
    expect(evaluator.evaluate('new', {}, false).value).toBe(true);
    expect(evaluator.flagKeys()).toContain('new');
  });

  it('deletes a flag and keeps a tombstone so an older upsert cannot bring it back', () => {
    const evaluator = base();
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 8, value: null })).toBe(true);
    expect(evaluator.evaluate('a', {}, 'dflt').errorCode).toBe('FLAG_NOT_FOUND');
    expect(definition(evaluator, 'a')).toBeUndefined();
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 7, value: boolFlag('a', { version: 7 }) })).toBe(
      false,
    );
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 8, value: boolFlag('a', { version: 8 }) })).toBe(
      false,
    );
    expect(evaluator.evaluate('a', {}, 'dflt').errorCode).toBe('FLAG_NOT_FOUND');
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 9, value: boolFlag('a', { version: 9 }) })).toBe(
      true,
    );
    expect(evaluator.evaluate('a', {}, false).value).toBe(true);
  });

  it('ignores a deletion older than what it holds', () => {
    const evaluator = base();
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 4, value: null })).toBe(false);
    expect(evaluator.evaluate('a', {}, false).value).toBe(true);
  });

  it('records the deletion of a key it never had, against a late upsert', () => {
    const evaluator = base();
    expect(evaluator.applyPatch({ kind: 'flag', key: 'ghost', version: 9, value: null })).toBe(true);
    expect(
      evaluator.applyPatch({ kind: 'flag', key: 'ghost', version: 8, value: boolFlag('ghost', { version: 8 }) }),
    ).toBe(false);
  });

  it('keeps flag and segment versions apart', () => {
    const evaluator = base();
    expect(evaluator.applyPatch({ kind: 'segment', key: 'a', version: 9, value: null })).toBe(true);
    expect(evaluator.evaluate('a', {}, false).value).toBe(true);
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 6, value: boolFlag('a', { version: 6 }) })).toBe(
      true,
    );
  });

  it('makes a segment patch take effect for every flag that uses the segment', () => {
    const evaluator = base();
    expect(evaluator.evaluate('uses-seg', { key: 'bob' }, null).value).toBe(false);
    expect(
      evaluator.applyPatch({
        kind: 'segment',
        key: 's',
        version: 6,
        value: { key: 's', included: ['bob'], version: 6 },
      }),
    ).toBe(true);
    expect(evaluator.evaluate('uses-seg', { key: 'bob' }, null).value).toBe(true);
    expect(evaluator.evaluate('uses-seg', { key: 'ann' }, null).value).toBe(false);
    expect(evaluator.applyPatch({ kind: 'segment', key: 's', version: 7, value: null })).toBe(true);
    expect(evaluator.evaluate('uses-seg', { key: 'bob' }, null)).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('makes a prerequisite patch take effect for every flag that depends on it', () => {
    const evaluator = base();
    expect(evaluator.evaluate('needs-a', {}, null).reason).toBe('DEFAULT');
    evaluator.applyPatch({ kind: 'flag', key: 'a', version: 6, value: boolFlag('a', { version: 6, enabled: false }) });
    expect(evaluator.evaluate('needs-a', {}, null)).toEqual({
      value: false,
      variant: 'off',
      reason: 'PREREQUISITE_FAILED',
    });
    evaluator.applyPatch({ kind: 'flag', key: 'a', version: 7, value: null });
    expect(evaluator.evaluate('needs-a', {}, null).reason).toBe('PREREQUISITE_FAILED');
    evaluator.applyPatch({ kind: 'flag', key: 'a', version: 8, value: boolFlag('a', { version: 8 }) });
    expect(evaluator.evaluate('needs-a', {}, null).reason).toBe('DEFAULT');
  });

  it('answers a patched-in broken flag with PARSE_ERROR and leaves the others alone', () => {
    const evaluator = base();
    const broken = { ...boolFlag('a', { version: 6 }), defaultServe: { variant: 'maybe' } };
    expect(evaluator.applyPatch({ kind: 'flag', key: 'a', version: 6, value: broken })).toBe(true);
    expect(evaluator.evaluate('a', {}, 'dflt').errorCode).toBe('PARSE_ERROR');
    expect(evaluator.evaluate('uses-seg', { key: 'ann' }, null).value).toBe(true);
  });

  it('exports the patched state as a ruleset that compiles to the same answers', () => {
    const evaluator = base();
    evaluator.applyPatch({ kind: 'flag', key: 'a', version: 6, value: null });
    evaluator.applyPatch({ kind: 'segment', key: 's', version: 7, value: { key: 's', included: ['bob'], version: 7 } });
    const exported = evaluator.toRuleset();
    expect(exported).toMatchObject({ schemaVersion: 1, environment: 'production', version: 7 });
    expect(exported.flags.map((f) => f.key).sort()).toEqual(['needs-a', 'uses-seg']);
    const again = compile(exported);
    for (const key of ['uses-seg', 'needs-a', 'a']) {
      expect(again.evaluate(key, { key: 'bob' }, 'dflt')).toEqual(evaluator.evaluate(key, { key: 'bob' }, 'dflt'));
    }
  });
});
