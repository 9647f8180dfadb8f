import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';

const SHARED = { DATABASE_URL: 'postgres://db.example/switchyard', REDIS_URL: 'redis://cache.example:6379' };

describe('SWITCHYARD_WORKERS', () => {
  it('is one process unless asked for more', () => {
    expect(parseConfig({}).workers).toBe(1);
    expect(parseConfig({ SWITCHYARD_WORKERS: '1' }).workers).toBe(1);
  });

  it('takes a count, or auto for one per core', () => {
    expect(parseConfig({ ...SHARED, SWITCHYARD_WORKERS: '4' }).workers).toBe(4);
    expect(parseConfig({ ...SHARED, SWITCHYARD_WORKERS: 'auto' }).workers).toBe(Math.min(availableParallelism(), 64));
  });

  it.each(['0', '65', 'two', '1.5', '-2'])('refuses %j, naming the setting', (value) => {
    expect(() => parseConfig({ ...SHARED, SWITCHYARD_WORKERS: value })).toThrow(
      /^invalid configuration: SWITCHYARD_WORKERS/,
    );
  });

  it('refuses more than one worker without Postgres and Redis, which the workers share', () => {
    expect(() => parseConfig({ REDIS_URL: SHARED.REDIS_URL, SWITCHYARD_WORKERS: '2' })).toThrow(
      /SWITCHYARD_WORKERS: more than one worker needs DATABASE_URL/,
    );
    expect(() => parseConfig({ DATABASE_URL: SHARED.DATABASE_URL, SWITCHYARD_WORKERS: '2' })).toThrow(
      /SWITCHYARD_WORKERS: more than one worker needs REDIS_URL/,
    );
    expect(parseConfig({ DATABASE_URL: SHARED.DATABASE_URL }).workers).toBe(1);
  });

  it('refuses /metrics with more than one worker: a scrape would count one worker at random', () => {
    for (const metrics of [
      { SWITCHYARD_METRICS_PORT: '9464' },
      { SWITCHYARD_METRICS_TOKEN: 'a-token-of-some-length' },
    ]) {
      expect(() => parseConfig({ ...SHARED, ...metrics, SWITCHYARD_WORKERS: '2' })).toThrow(
        /SWITCHYARD_WORKERS: more than one worker cannot serve \/metrics/,
      );
    }
  });
});
