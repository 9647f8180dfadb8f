import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles the jitter window per failure up to the maximum', () => {
    const top = new Backoff(1000, 5000, () => 0.999999);
    expect([top.fail(), top.fail(), top.fail(), top.fail(), top.fail()]).toEqual([999, 1999, 3999, 4999, 4999]);
    expect(top.attempts).toBe(5);
  });

  it('draws every delay uniformly from zero to the window (full jitter)', () => {
    const draws = [0, 0.5, 0.25];
    const b = new Backoff(1000, 30_000, () => draws.shift() ?? 0);
    expect([b.fail(), b.fail(), b.fail()]).toEqual([0, 1000, 1000]);
  });

  it('starts over after a reset', () => {
    const b = new Backoff(100, 10_000, () => 0.5);
    b.fail();
    b.fail();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.fail()).toBe(50);
  });

  it("takes the server's retry advice as its first window, capped by the maximum", () => {
    const b = new Backoff(1000, 3000, () => 0.5);
    b.advise(200);
    expect(b.fail()).toBe(100);
    b.advise(60_000);
    b.reset();
    expect(b.fail()).toBe(1500);
    b.advise(-1);
    b.reset();
    expect(b.fail()).toBe(1500);
  });
});
