import { describe, expect, it } from 'vitest';
import { compile } from '../evaluator.js';
import { ruleset } from './banner-ruleset.fixture.js';
import { type EventBatch, eventAggregator, MAX_EVENT_VALUE } from './event-aggregator.js';

const limits = (maxCounters: number, maxEvents: number, maxExposures = 10, exposureMemory = 10) => ({
  maxCounters,
  maxEvents,
  maxExposures,
  exposureMemory,
});

const sorted = <T extends { flag: string; variant: string | null; reason: string }>(xs: T[]) =>
  [...xs].sort((a, b) => `${a.flag}${a.variant}${a.reason}`.localeCompare(`${b.flag}${b.variant}${b.reason}`));

describe('the event aggregator', () => {
  it('counts evaluations per flag, variant and reason, the served default included', () => {
    const evaluator = compile(ruleset);
    let time = 100;
    const agg = eventAggregator(limits(100, 10), () => time);
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
    const agg = eventAggregator(limits(10, 10), () => 0);
    agg.count('f', { reason: 'DEFAULT' });
    agg.count('f', { variant: 'null', reason: 'DEFAULT' });
    expect(agg.drain()?.evaluations.map((e) => e.variant)).toEqual([null, 'null']);
  });

  it('drops and counts what exceeds its bounds instead of growing', () => {
    const evaluator = compile(ruleset);
    const agg = eventAggregator(limits(2, 3), () => 0);
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
    const agg = eventAggregator(limits(10, 10), () => time++);
    agg.count('x'.repeat(129), { reason: 'ERROR' });
    agg.count('', { reason: 'ERROR' });
    agg.count(undefined as unknown as string, { reason: 'ERROR' });
    agg.count(42 as unknown as string, { reason: 'ERROR' });
    expect(agg.track('', 'u', 1)).toBe(false);
    expect(agg.track('e'.repeat(201), 'u', 1)).toBe(false);
    expect(agg.track('ok', 'k'.repeat(257), 1)).toBe(false);
    expect(agg.track(7 as unknown as string, 'u', 1)).toBe(false);
    expect(agg.track('ok', 42, Number.NaN)).toBe(true);
    expect(agg.track('paid', 'u', 9.5)).toBe(true);
    // A value past what the server's sums take is left out, as a value that is no number is.
    expect(agg.track('big', 'u', 1e200)).toBe(true);
    expect(agg.track('edge', 'u', -MAX_EVENT_VALUE)).toBe(true);
    expect(agg.track('text', 'u', '5')).toBe(true);
    const batch = agg.drain() as EventBatch;
    expect(batch.evaluations).toEqual([]);
    expect(batch.events).toEqual([
      { event: 'ok', timestamp: 8 },
      { event: 'paid', key: 'u', value: 9.5, timestamp: 9 },
      { event: 'big', key: 'u', timestamp: 10 },
      { event: 'edge', key: 'u', value: -1e15, timestamp: 11 },
      { event: 'text', key: 'u', timestamp: 12 },
    ]);
    expect(batch.dropped).toEqual({ evaluations: 4, events: 4 });
  });

  it('records one exposure per context key, flag and variant, however often it is served, until it is forgotten', () => {
    let time = 1;
    const agg = eventAggregator(limits(10, 10, 10, 3), () => time++);
    expect(agg.expose('banner', 'on', 'ann')).toBe(true);
    expect(agg.expose('banner', 'on', 'ann')).toBe(true);
    // Another variant of the same flag is another exposure: the server counts such a unit apart.
    agg.expose('banner', 'off', 'ann');
    agg.expose('banner', 'on', 'bob');
    // Keys that name no unit are not recorded.
    for (const key of [undefined, '', 7, null]) expect(agg.expose('banner', 'on', key)).toBe(true);
    const first = agg.drain() as EventBatch;
    expect(first.exposures).toEqual([
      { flag: 'banner', variant: 'on', key: 'ann', timestamp: 2 },
      { flag: 'banner', variant: 'off', key: 'ann', timestamp: 3 },
      { flag: 'banner', variant: 'on', key: 'bob', timestamp: 4 },
    ]);
    // Remembered across batches; serving ann/on again makes it the most recently served, so the
    // fourth triple pushes out ann/off, the least recently served.
    agg.expose('banner', 'on', 'ann');
    agg.expose('banner', 'on', 'cy');
    agg.expose('banner', 'on', 'ann');
    agg.expose('banner', 'on', 'bob');
    agg.expose('banner', 'off', 'ann');
    expect(agg.drain()?.exposures.map((e) => `${e.key}/${e.variant}`)).toEqual(['cy/on', 'ann/off']);
  });

  it('drops exposures past the queue bound or that the server would refuse, and records them when served again', () => {
    const agg = eventAggregator(limits(10, 10, 2, 100), () => 0);
    expect(agg.expose('f', 'on', 'k'.repeat(257))).toBe(false);
    expect(agg.expose('f'.repeat(129), 'on', 'u')).toBe(false);
    expect(agg.expose('f', 'v'.repeat(65), 'u')).toBe(false);
    expect(agg.expose('f', 'on', 'a')).toBe(true);
    expect(agg.expose('f', 'on', 'b')).toBe(true);
    expect(agg.expose('f', 'on', 'c')).toBe(false);
    expect(agg.drain()?.exposures.map((e) => e.key)).toEqual(['a', 'b']);
    expect(agg.expose('f', 'on', 'c')).toBe(true);
    expect(agg.drain()?.exposures.map((e) => e.key)).toEqual(['c']);
  });

  it('names every batch with an id of its own, different in another client', () => {
    const one = eventAggregator(limits(10, 10), () => 5);
    const two = eventAggregator(limits(10, 10), () => 5);
    const ids: string[] = [];
    for (const agg of [one, two, one, two]) {
      agg.track('e', undefined, undefined);
      ids.push((agg.drain() as EventBatch).id);
    }
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(128);
  });
});
