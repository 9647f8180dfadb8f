import { describe, expect, it } from 'vitest';
import { compile } from '../evaluator.js';
import type { Ruleset } from '../types.js';
import { EventAggregator } from './event-aggregator.js';

const ruleset: Ruleset = {
  schemaVersion: 1,
  environment: 'web/prod',
  version: 3,
  segments: [],
  flags: [
    {
      key: 'banner',
      type: 'boolean',
      variants: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      enabled: true,
      targets: [{ variant: 'on', values: ['ann'] }],
      rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } }],
      defaultServe: { variant: 'off' },
      version: 3,
    },
  ],
};

const sorted = <T extends { flag: string; variant: string | null; reason: string }>(xs: T[]) =>
  [...xs].sort((a, b) => `${a.flag}${a.variant}${a.reason}`.localeCompare(`${b.flag}${b.variant}${b.reason}`));

describe('EventAggregator', () => {
  it('counts evaluations per flag, variant and reason, the served default included', () => {
    const evaluator = compile(ruleset);
    let time = 100;
    const agg = new EventAggregator({ maxCounters: 100, maxEvents: 10 }, () => time);
    const contexts = [{ key: 'ann' }, { key: 'bob', country: 'NL' }, { key: 'cy' }, { key: 'di' }, { key: 'ann' }];
    for (const c of contexts) agg.count('banner', evaluator.evaluate('banner', c, false));
    for (let i = 0; i < 3; i++) agg.count('missing', evaluator.evaluate('missing', {}, false));
    agg.count('banner', evaluator.evaluate('banner', {}, 'x', 'string'));
    time = 250;
    const batch = agg.drain();
    expect(batch.window).toEqual({ start: 100, end: 250 });
    expect(sorted(batch.evaluations)).toEqual(
      sorted([
        // A target and a rule serving the same variant for the same reason share one counter.
        { flag: 'banner', variant: 'on', reason: 'TARGETING_MATCH', count: 3 },
        { flag: 'banner', variant: 'off', reason: 'DEFAULT', count: 2 },
        { flag: 'banner', variant: null, reason: 'ERROR', count: 1 },
        { flag: 'missing', variant: null, reason: 'ERROR', count: 3 },
      ]),
    );
    expect(agg.isEmpty).toBe(true);
    expect(agg.drain().window).toEqual({ start: 250, end: 250 });
  });

  it('adds up runs of one result across other results, served defaults, drains and restores', () => {
    const evaluator = compile(ruleset);
    const agg = new EventAggregator({ maxCounters: 10, maxEvents: 10 }, () => 0);
    const on = evaluator.evaluate('banner', { key: 'ann' }, false);
    const nl = evaluator.evaluate('banner', { key: 'bob', country: 'NL' }, false);
    const off = evaluator.evaluate('banner', { key: 'cy' }, false);
    const wrongType = () => evaluator.evaluate('banner', {}, 'x', 'string');
    const counts = (batch: ReturnType<EventAggregator['drain']>) =>
      Object.fromEntries(batch.evaluations.map((e) => [`${e.variant}/${e.reason}`, e.count]));
    for (let i = 0; i < 3; i++) agg.count('banner', off);
    for (let i = 0; i < 2; i++) agg.count('banner', on);
    agg.count('banner', off);
    agg.count('banner', wrongType());
    for (let i = 0; i < 4; i++) agg.count('banner', off);
    agg.count('banner', nl);
    const first = agg.drain();
    expect(counts(first)).toEqual({ 'off/DEFAULT': 8, 'on/TARGETING_MATCH': 3, 'null/ERROR': 1 });
    // A run going on over a drain belongs half to each window.
    agg.count('banner', nl);
    expect(agg.isEmpty).toBe(false);
    expect(counts(agg.drain())).toEqual({ 'on/TARGETING_MATCH': 1 });
    for (let i = 0; i < 5; i++) agg.count('banner', off);
    agg.restore(first);
    agg.count('banner', off);
    expect(counts(agg.drain())).toEqual({ 'off/DEFAULT': 14, 'on/TARGETING_MATCH': 3, 'null/ERROR': 1 });
    expect(agg.drain().evaluations).toEqual([]);
  });

  it('drops and counts what exceeds its bounds instead of growing', () => {
    const evaluator = compile(ruleset);
    const agg = new EventAggregator({ maxCounters: 2, maxEvents: 3 }, () => 0);
    for (const key of ['a', 'b', 'c', 'd']) agg.count(key, evaluator.evaluate(key, {}, false));
    agg.count('a', evaluator.evaluate('a', {}, false));
    for (let i = 0; i < 5; i++) agg.track({ event: `e${i}`, timestamp: i });
    const batch = agg.drain();
    expect(batch.evaluations.map((e) => [e.flag, e.count])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(batch.events.map((e) => e.event)).toEqual(['e0', 'e1', 'e2']);
    expect(batch.dropped).toEqual({ evaluations: 2, events: 2 });
  });

  it('puts an unsent batch back within its bounds, merging counts', () => {
    const evaluator = compile(ruleset);
    let time = 10;
    const agg = new EventAggregator({ maxCounters: 10, maxEvents: 2 }, () => time);
    agg.count('banner', evaluator.evaluate('banner', { key: 'cy' }, false));
    agg.track({ event: 'old', timestamp: 1 });
    const batch = agg.drain();
    time = 20;
    agg.count('banner', evaluator.evaluate('banner', { key: 'cy' }, false));
    agg.track({ event: 'new1', timestamp: 2 });
    agg.track({ event: 'new2', timestamp: 3 });
    agg.restore(batch);
    const again = agg.drain();
    expect(again.window.start).toBe(10);
    expect(again.evaluations).toEqual([{ flag: 'banner', variant: 'off', reason: 'DEFAULT', count: 2 }]);
    expect(again.events.map((e) => e.event)).toEqual(['new1', 'new2']);
    expect(again.dropped).toEqual({ evaluations: 0, events: 1 });
  });
});
