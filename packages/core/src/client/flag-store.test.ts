import { describe, expect, it } from 'vitest';
import { boolFlag } from '../builders.fixture.js';
import type { Flag, Ruleset, Segment } from '../types.js';
import { FlagStore } from './flag-store.js';

const flag = (key: string, version: number, fields: Partial<Flag> = {}): Flag => boolFlag(key, { version, ...fields });

const ruleset = (version: number, flags: Flag[], segments: Segment[] = []): Ruleset => ({
  schemaVersion: 1,
  environment: 'web/prod',
  version,
  flags,
  segments,
});

const value = (store: FlagStore, key: string, context = { key: 'ann' }) =>
  store.evaluator?.evaluate(key, context, 'default').value;

describe('FlagStore', () => {
  it('applies patches newer than what it holds, and ignores older and duplicate ones', () => {
    const store = new FlagStore();
    store.put(ruleset(5, [flag('a', 5)]), 'server');
    expect(store.patch({ kind: 'flag', key: 'a', version: 6, value: flag('a', 6, { enabled: false }) })).toEqual({
      outcome: 'applied',
      changed: ['a'],
    });
    expect(store.patch({ kind: 'flag', key: 'a', version: 6, value: flag('a', 6) }).outcome).toBe('ignored');
    expect(store.patch({ kind: 'flag', key: 'a', version: 4, value: flag('a', 4) }).outcome).toBe('ignored');
    expect(value(store, 'a')).toBe('default');
    expect(store.evaluator?.version).toBe(6);
  });

  it('refuses malformed events whole and keeps serving the last good ruleset', () => {
    const store = new FlagStore();
    store.put(JSON.stringify(ruleset(5, [flag('a', 5)])), 'server');
    const malformed = [
      '{"kind": "flag", "key": "a", "version": 7, "value": {"key"',
      { kind: 'flag', key: 'a', version: 'seven', value: flag('a', 7) },
      { kind: 'gadget', key: 'a', version: 7, value: null },
      { kind: 'flag', key: 'a', version: 7, value: flag('b', 7) },
      { kind: 'flag', version: 7, value: null },
      42,
    ];
    for (const m of malformed) expect(store.patch(m).outcome).toBe('malformed');
    expect(store.patch({ kind: 'gadget', key: 'a', version: 7, value: null })).toEqual({
      outcome: 'malformed',
      reason: 'the patch kind is neither flag nor segment',
    });
    expect(store.put('{"schemaVersion": 1, "flags": [', 'server').outcome).toBe('malformed');
    expect(
      store.put({ schemaVersion: 2, environment: 'x', version: 9, flags: [], segments: [] }, 'server').outcome,
    ).toBe('malformed');
    expect(value(store, 'a')).toBe(true);
    expect(store.evaluator?.version).toBe(5);
  });

  it('deletes with a null value, and a late older upsert cannot bring the flag back', () => {
    const store = new FlagStore();
    store.put(ruleset(5, [flag('a', 5)]), 'server');
    expect(store.patch({ kind: 'flag', key: 'a', version: 7, value: null }).outcome).toBe('applied');
    expect(store.patch({ kind: 'flag', key: 'a', version: 6, value: flag('a', 6) }).outcome).toBe('ignored');
    expect(store.evaluator?.evaluate('a', {}, 'default').errorCode).toBe('FLAG_NOT_FOUND');
  });

  it('names the flags reached through a changed segment, nested segments and prerequisites', () => {
    const store = new FlagStore();
    const inSegment = (key: string) => ({ attribute: 'key', op: 'inSegment' as const, values: [key] });
    store.put(
      ruleset(
        5,
        [
          flag('plain', 5),
          flag('staff-only', 5, { rules: [{ id: 'r', clauses: [inSegment('staff')], serve: { variant: 'off' } }] }),
          flag('needs-staff-only', 5, { prerequisites: [{ flag: 'staff-only', variants: ['on'] }] }),
        ],
        [
          { key: 'admins', included: ['root'], version: 5 },
          { key: 'staff', rules: [{ id: 's', clauses: [inSegment('admins')] }], version: 5 },
        ],
      ),
      'server',
    );
    const update = store.patch({ kind: 'segment', key: 'admins', version: 6, value: { key: 'admins', version: 6 } });
    expect(update).toEqual({ outcome: 'applied', changed: ['needs-staff-only', 'staff-only'] });
  });

  it('names added, removed and changed flags when a put replaces the ruleset', () => {
    const store = new FlagStore();
    store.put(ruleset(5, [flag('same', 1), flag('edited', 2), flag('removed', 3)]), 'server');
    const update = store.put(ruleset(9, [flag('same', 1), flag('edited', 9), flag('added', 8)]), 'server');
    expect(update).toEqual({ outcome: 'applied', changed: ['added', 'edited', 'removed'] });
  });

  it("ignores a server's put older than the server data it holds, but always replaces a cache", () => {
    const store = new FlagStore();
    store.put(ruleset(50, [flag('a', 50)]), 'cache');
    expect(store.put(ruleset(3, [flag('a', 3, { enabled: false })]), 'server').outcome).toBe('applied');
    expect(store.source).toBe('server');
    expect(store.put(ruleset(2, [flag('a', 2)]), 'server').outcome).toBe('ignored');
    expect(value(store, 'a')).toBe('default');
  });

  it('ignores a patch that arrives before any ruleset', () => {
    expect(new FlagStore().patch({ kind: 'flag', key: 'a', version: 1, value: flag('a', 1) }).outcome).toBe('ignored');
  });
});
