import { beforeAll, describe, expect, it } from 'vitest';
import { BUDGET_BYTES, type Measured, measureSwitchyard } from '../../bench/src/bundle-size/run.js';

/**
 * The bundle minified by esbuild alone (Vite's default) is still over the budget, by 42 bytes with
 * every behaviour kept (docs/architecture.md, "Browser adapters", says where
 * the bytes go). Until it fits, this ceiling stops it from growing: lower it with every saving,
 * and replace it with the budget once it is reached.
 */
const ESBUILD_CEILING_BYTES = 5_042;

// Bytes, not time: the same sources, esbuild and terser give the same count on any machine, so the
// budget is checked on every run, not only when someone runs `pnpm bench`. Both minifiers are
// measured, so that an application built with esbuild (Vite) is held to it as well as one built
// with terser (webpack, Rollup).
describe('the browser bundle, core included, as pnpm bench bundle-size measures it', () => {
  let measured: Measured;
  beforeAll(async () => {
    measured = await measureSwitchyard();
  });

  it(`is at most ${BUDGET_BYTES} bytes min+gzip minified by terser`, () => {
    expect(measured.gzipped).toBeGreaterThan(1000);
    expect(measured.gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it(`is at most ${ESBUILD_CEILING_BYTES} bytes min+gzip minified by esbuild (budget ${BUDGET_BYTES}, not yet met)`, () => {
    expect(measured.esbuildGzipped).toBeGreaterThan(1000);
    expect(measured.esbuildGzipped).toBeLessThanOrEqual(ESBUILD_CEILING_BYTES);
  });
});
