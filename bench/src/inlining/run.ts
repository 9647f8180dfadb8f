import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Section, table } from '../report.js';

/**
 * The bytecode sizes that `packages/core/src/v8-keep-out-of-inliner.ts` relies on, as this
 * node's V8 compiles the core's build: `Evaluator.evaluate` must be at most TurboFan's
 * `--max-inlined-bytecode-size`, so that it inlines into an SDK's getters, and `runFlag`, the
 * flag walk, must be over it, so that it stays out of line. Reported with their margins; a
 * margin gone is flagged here, where `pnpm bench sdk-node` tells what it costs, rather than
 * failing a unit test whenever the walk is refactored.
 */
export function runInliningBenchmark(log: (line: string) => void): Section {
  const limit = maxInlinedBytecodeSize();
  log(`inlining: --max-inlined-bytecode-size is ${limit} bytes`);
  const evaluate = bytecodeLength('evaluate');
  const runFlag = bytecodeLength('runFlag');
  log(`inlining: evaluate ${evaluate} bytes, runFlag ${runFlag} bytes`);
  const rows = [
    {
      name: '`Evaluator.evaluate`',
      wants: `≤ ${limit} (inlined into getters)`,
      bytes: evaluate,
      met: evaluate <= limit,
    },
    { name: '`runFlag` (the flag walk)', wants: `> ${limit} (kept out of line)`, bytes: runFlag, met: runFlag > limit },
  ];
  const warnings = rows
    .filter((r) => !r.met)
    .map((r) => `WARNING: ${r.name} is ${r.bytes} bytes, no longer ${r.wants}: run \`pnpm bench sdk-node\``);
  const body = [
    `Bytecode lengths of the core's build as V8 ${process.versions.v8} compiles them on first call, against TurboFan's \`--max-inlined-bytecode-size\` (${limit} bytes). The arrangement and why: \`packages/core/src/v8-keep-out-of-inliner.ts\`; what it is worth: the getter overhead in \`pnpm bench sdk-node\`.`,
    '',
    table(
      ['function', 'bytecode bytes', 'wanted', 'margin', 'met'],
      rows.map((r) => [r.name, String(r.bytes), r.wants, `${Math.abs(limit - r.bytes)} bytes`, r.met ? 'yes' : 'no']),
      ['left', 'right', 'left', 'right', 'left'],
    ),
    '',
    warnings.length === 0 ? 'Both margins hold.' : warnings.join('\n'),
  ].join('\n');
  return { title: 'Inlining margins', body };
}

/** The largest function TurboFan inlines, as this node's V8 sets it. */
function maxInlinedBytecodeSize(): number {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  const match = /default: --max-inlined-bytecode-size=(\d+)/.exec(options);
  if (match?.[1] === undefined) throw new Error('node --v8-options does not state --max-inlined-bytecode-size');
  return Number(match[1]);
}

const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** The bytecode length of the core's function `name`, compiled on a first evaluation that runs it. */
function bytecodeLength(name: string): number {
  const script = [
    'const { compile } = await import("@switchyard/core");',
    'const variants = [{ key: "on", value: true }, { key: "off", value: false }];',
    'const rules = [{ id: "nl", clauses: [{ attribute: "country", op: "in", values: ["NL"] }], serve: { variant: "on" } }];',
    'const flag = { key: "f", type: "boolean", variants, enabled: true, rules, defaultServe: { variant: "off" }, version: 1 };',
    'const ruleset = { schemaVersion: 1, environment: "bench", version: 1, segments: [], flags: [flag] };',
    'compile(ruleset).evaluate("f", { key: "u", country: "NL" }, false);',
  ].join('\n');
  const out = execFileSync(
    process.execPath,
    ['--print-bytecode', `--print-bytecode-filter=${name}`, '--input-type=module', '--eval', script],
    { cwd: BENCH_DIR, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const lengths = [...out.matchAll(/Bytecode length: (\d+)/g)].map((m) => Number(m[1]));
  if (lengths.length !== 1) throw new Error(`expected one function named ${name} in the core, found ${lengths.length}`);
  return lengths[0] as number;
}
