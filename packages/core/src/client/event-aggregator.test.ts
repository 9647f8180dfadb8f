import { describe, expect, it } from 'vitest';
import { compile } from '../evaluator.js';
import { ruleset } from './banner-ruleset.fixture.js';
import { type EventBatch, eventAggregator, mergeBatches } from './event-aggregator.js';

const sorted = <T extends { flag: string; variant: string | null; reason: string }>(xs: T[]) =>
  [...xs].sort((a, b) => `${a.flag}${a.variant}${a.reason}`.localeCompare(`${b.flag}${b.variant}${b.reason}`));

describe('the event aggregator', () => {
  it('counts evaluations per flag, variant and reason, the served default included', () => {
    const evaluator = compile(ruleset);
    let time = 100;
    const agg = eventAggregator({ maxCounters: 100, maxEvents: 10 }, () => time);
    const contexts = [{ key: 'ann' }, { key: 'bob', country: 'NL' }, { key: 'cy' }, { key: 'di' }, { key: 'ann' }];
    for (const c of contexts) agg.count('banner', evaluator.evaluate('banner', c, false));
    for (let i = 0; i < 3; i++) agg.count('missing', evaluator.evaluate('missing', {}, false));
    agg.count('banner', evaluator.evaluate('banner', {}, 'x', 'string'));
    time = 250;
    const batch = agg.drain() as EventBatch;
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
    expect(agg.drain()).toBeUndefined();
    agg.track('late', undefined, undefined);
    expect(agg.drain()?.window).toEqual({ start: 250, end: 250 });
  });

  it('tells a served default apart from a variant named "null"', () => {
    const agg = eventAggregator({ maxCounters: 10, maxEvents: 10 }, () => 0);
    agg.count('f', { reason: 'DEFAULT' });
    agg.count('f', { variant: 'null', reason: 'DEFAULT' });
    expect(agg.drain()?.evaluations.map((e) => e.variant)).toEqual([null, 'null']);
  });

  it('drops and counts what exceeds its bounds instead of growing', () => {
    const evaluator = compile(ruleset);
    const agg = eventAggregator({ maxCounters: 2, maxEvents: 3 }, () => 0);
    for (const key of ['a', 'b', 'c', 'd']) agg.count(key, evaluator.evaluate(key, {}, false));
    agg.count('a', evaluator.evaluate('a', {}, false));
    for (let i = 0; i < 5; i++) agg.track(`e${i}`, undefined, undefined);
    const batch = agg.drain() as EventBatch;
    expect(batch.evaluations.map((e) => [e.flag, e.count])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(batch.events.map((e) => e.event)).toEqual(['e0', 'e1', 'e2']);
    expect(batch.dropped).toEqual({ evaluations: 2, events: 2 });
  });

  it('drops, and counts, what the server would refuse the whole batch for', () => {
    let time = 7;
    const agg = eventAggregator({ maxCounters: 10, maxEvents: 10 }, () => time++);
    agg.count('x'.repeat(129), { reason: 'ERROR' });
    expect(agg.track('', 'u', 1)).toBe(false);
    expect(agg.track('e'.repeat(201), 'u', 1)).toBe(false);
    expect(agg.track('ok', 'k'.repeat(257), 1)).toBe(false);
    expect(agg.track(7 as unknown as string, 'u', 1)).toBe(false);
    expect(agg.track('ok', 42, Number.NaN)).toBe(true);
    expect(agg.track('paid', 'u', 9.5)).toBe(true);
    const batch = agg.drain() as EventBatch;
    expect(batch.evaluations).toEqual([]);
    expect(batch.events).toEqual([
      { event: 'ok', timestamp: 8 },
      { event: 'paid', key: 'u', value: 9.5, timestamp: 9 },
    ]);
    expect(batch.dropped).toEqual({ evaluations: 1, events: 4 });
  });

  it('merges an unsent batch in front of the next within the bounds, adding up counts and keeping the newest events', () => {
    const evaluator = compile(ruleset);
    let time = 10;
    const agg = eventAggregator({ maxCounters: 10, maxEvents: 2 }, () => time);
    agg.count('banner', evaluator.evaluate('banner', { key: 'cy' }, false));
    agg.track('old', undefined, undefined);
    const batch = agg.drain() as EventBatch;
    time = 20;
    agg.count('banner', evaluator.evaluate('banner', { key: 'cy' }, false));
    agg.track('new1', undefined, undefined);
    agg.track('new2', undefined, undefined);
    const again = mergeBatches(batch, agg.drain() as EventBatch, { maxCounters: 10, maxEvents: 2 });
    expect(again.window.start).toBe(10);
    expect(again.evaluations).toEqual([{ flag: 'banner', variant: 'off', reason: 'DEFAULT', count: 2 }]);
    expect(again.events.map((e) => e.event)).toEqual(['new1', 'new2']);
    expect(again.dropped).toEqual({ evaluations: 0, events: 1 });
  });
});

describe('merging an unsent batch', () => {
  it('drops, and counts, the evaluations past the counter bound', () => {
    const batch = (flag: string, count: number, start: number): EventBatch => ({
      window: { start, end: start + 1 },
      evaluations: [{ flag, variant: 'on', reason: 'STATIC', count }],
      events: [],
      dropped: { evaluations: 1, events: 2 },
    });
    const merged = mergeBatches(batch('a', 5, 1), batch('b', 3, 9), { maxCounters: 1, maxEvents: 1 });
    expect(merged.window).toEqual({ start: 1, end: 10 });
    expect(merged.evaluations).toEqual([{ flag: 'a', variant: 'on', reason: 'STATIC', count: 5 }]);
    expect(merged.dropped).toEqual({ evaluations: 5, events: 4 });
  });
});
