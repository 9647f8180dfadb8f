/**
 * `pnpm bench`: runs the benchmarks, prints their tables and overwrites bench/RESULTS.md.
 * `--quick` runs fewer, shorter rounds (for trying changes, not for reporting).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

// The peers read NODE_ENV at run time (GrowthBook skips its debug logging in production); a
// server runs with it set, so the benchmark does too. It is set before any peer is loaded.
process.env.NODE_ENV ??= 'production';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
  },
});

const { runEvaluationBenchmark } = await import('./evaluation/run.js');
const { describeMachine, renderResults } = await import('./report.js');

const quick = values.quick === true;
const options = {
  rounds: values.rounds === undefined ? (quick ? 5 : 31) : Number(values.rounds),
  warmupRounds: quick ? 1 : 3,
  sliceMs: quick ? 20 : 50,
  calibrateMs: quick ? 50 : 200,
  seed: 1,
};
if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error('--rounds must be a positive integer');
if (globalThis.gc === undefined) console.error('note: run node with --expose-gc to collect garbage between slices');

const started = Date.now();
const log = (line: string) => console.error(line);
const sections = [await runEvaluationBenchmark(options, log)];
const content = renderResults({ command: 'pnpm bench', date: new Date(), machine: describeMachine(), sections });
await writeFile(new URL('../RESULTS.md', import.meta.url), content, 'utf8');
console.log(content);
log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote bench/RESULTS.md`);
