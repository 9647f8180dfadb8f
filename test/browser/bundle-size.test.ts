import { beforeAll, describe, expect, it } from 'vitest';
import { BUDGET_BYTES, type Measured, measureSwitchyard } from '../../bench/src/bundle-size/run.js';

// Bytes, not time: the same sources, esbuild and terser give the same count on any machine, so the
// budget is checked on every run, not only when someone runs `pnpm bench`. Both minifiers are
// measured, so that an application built with esbuild (or Vite before version 8) is held to it as
// well as one built with terser (webpack, Rollup).
describe('the browser bundle, core included, as pnpm bench bundle-size measures it', () => {
  let measured: Measured;
  beforeAll(async () => {
    measured = await measureSwitchyard();
  });

  it(`is at most ${BUDGET_BYTES} bytes min+gzip minified by terser`, () => {
    expect(measured.gzipped).toBeGreaterThan(1000);
    expect(measured.gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it(`is at most ${BUDGET_BYTES} bytes min+gzip minified by esbuild`, () => {
    expect(measured.esbuildGzipped).toBeGreaterThan(1000);
    expect(measured.esbuildGzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
