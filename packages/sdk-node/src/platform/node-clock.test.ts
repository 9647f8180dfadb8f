import { describe, expect, it } from 'vitest';
import { nodeClock } from './node-clock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the Node clock', () => {
  it('does not fire at once for a delay past what Node timers take, such as Infinity', async () => {
    let fired = 0;
    const cancels = [Number.POSITIVE_INFINITY, 2 ** 31, 1e12].map((ms) => nodeClock.setTimeout(() => fired++, ms));
    await sleep(50);
    for (const cancel of cancels) cancel();
    expect(fired).toBe(0);
  });

  it('fires an ordinary delay, and not once cancelled', async () => {
    let fired = 0;
    nodeClock.setTimeout(() => fired++, 5);
    nodeClock.setTimeout(() => fired++, 5, true)();
    await sleep(50);
    expect(fired).toBe(1);
  });
});
