import { describe, expect, it } from 'vitest';
import { BUDGET_BYTES, measureSwitchyard } from '../../bench/src/bundle-size/run.js';

// Bytes, not time: the same sources and esbuild give the same count on any machine, so the
// budget is checked on every run, not only when someone runs `pnpm bench`.
describe('the browser bundle', () => {
  it(`is at most ${BUDGET_BYTES} bytes min+gzip, core included, as pnpm bench bundle-size measures it`, async () => {
    const { gzipped } = await measureSwitchyard();
    expect(gzipped).toBeGreaterThan(1000);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
