import { describe, expect, it } from 'vitest';
import { compile } from '../evaluator.js';
import { ruleset } from './banner-ruleset.fixture.js';
import { type EventBatch, eventAggregator } from './event-aggregator.js';
import { JitShapedCounter } from './jit-shaped-counter.js';

describe('the JIT-shaped counter in front of the aggregator', () => {
  it('adds up runs of one result across other results, served defaults and drains', () => {
    const evaluator = compile(ruleset);
    const agg = new JitShapedCounter(
      eventAggregator({ maxCounters: 10, maxEvents: 10, maxExposures: 1, exposureMemory: 1 }, () => 0),
    );
    const on = evaluator.evaluate('banner', { key: 'ann' }, false);
    const nl = evaluator.evaluate('banner', { key: 'bob', country: 'NL' }, false);
    const off = evaluator.evaluate('banner', { key: 'cy' }, false);
    const wrongType = () => evaluator.evaluate('banner', {}, 'x', 'string');
    const counts = (batch: EventBatch) =>
      Object.fromEntries(batch.evaluations.map((e) => [`${e.variant}/${e.reason}`, e.count]));
    for (let i = 0; i < 3; i++) agg.count('banner', off);
    for (let i = 0; i < 2; i++) agg.count('banner', on);
    agg.count('banner', off);
    agg.count('banner', wrongType());
    for (let i = 0; i < 4; i++) agg.count('banner', off);
    agg.count('banner', nl);
    const first = agg.drain() as EventBatch;
    expect(counts(first)).toEqual({ 'off/DEFAULT': 8, 'on/TARGETING_MATCH': 3, 'null/ERROR': 1 });
    // A run going on over a drain belongs half to each window.
    agg.count('banner', nl);
    expect(counts(agg.drain() as EventBatch)).toEqual({ 'on/TARGETING_MATCH': 1 });
    for (let i = 0; i < 6; i++) agg.count('banner', off);
    expect(counts(agg.drain() as EventBatch)).toEqual({ 'off/DEFAULT': 6 });
    expect(agg.drain()).toBeUndefined();
  });

  it('drops counts past the bound as the aggregator does', () => {
    const evaluator = compile(ruleset);
    const agg = new JitShapedCounter(
      eventAggregator({ maxCounters: 1, maxEvents: 1, maxExposures: 1, exposureMemory: 1 }, () => 0),
    );
    agg.count('banner', evaluator.evaluate('banner', { key: 'cy' }, false));
    agg.count('banner', evaluator.evaluate('banner', { key: 'ann' }, false));
    agg.count('banner', evaluator.evaluate('banner', { key: 'ann' }, false));
    const batch = agg.drain() as EventBatch;
    expect(batch.evaluations).toEqual([{ flag: 'banner', variant: 'off', reason: 'DEFAULT', count: 1 }]);
    expect(batch.dropped.evaluations).toBe(2);
  });
});
