import type { HarnessOptions } from '../harness.js';
import { formatNs, type Section, table } from '../report.js';
import { type GetterTimings, measureGetterInFreshProcess, ROW_TITLES, ROWS, type Row } from './getter.js';
import {
  clientMemoryInFreshProcess,
  MEMORY_FLAGS,
  MEMORY_KINDS,
  MEMORY_SAMPLES,
  type MemoryKind,
  type MemoryResult,
} from './memory.js';

const MAX_OVERHEAD = 0.2;
const MEMORY_KIND_TITLES: Record<MemoryKind, string> = {
  streaming: 'streaming (one `put`)',
  bootstrap: 'bootstrap, then the `put`',
  offline: 'offline, bootstrap only',
};
const MEMORY_BUDGET_BYTES = 1024 * 1024;
/** Fresh processes timing the getter against the core; the median of their overheads is reported. */
const GETTER_PROCESSES = 7;

export async function runSdkNodeBenchmark(
  options: Omit<HarnessOptions, 'onRound'>,
  log: (line: string) => void,
): Promise<Section> {
  const processes: GetterTimings[] = [];
  for (let p = 1; p <= GETTER_PROCESSES; p++) {
    log(`sdk-node: getter against bare core evaluation, process ${p}/${GETTER_PROCESSES}`);
    const timings = measureGetterInFreshProcess(options);
    log(`sdk-node: ${ROWS.map((row) => `${row} ${percent(overhead(timings, row))}`).join(', ')}`);
    processes.push(timings);
  }
  const warnings = ROWS.filter((row) => processes.some((t) => !t[row].agreed)).map(
    (row) => `${ROW_TITLES[row]}: the getter and the core disagree`,
  );
  const memory = MEMORY_KINDS.map((kind) => {
    log(`sdk-node: memory of a ready ${kind} client with 1 000 flags`);
    return { kind, ...clientMemoryInFreshProcess(kind) };
  });
  return { title: 'Node SDK getter', body: render(processes, memory, warnings, options) };
}

const overhead = (t: GetterTimings, row: Row) => t[row].overhead;
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(mid)] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function render(
  processes: readonly GetterTimings[],
  memory: readonly (MemoryResult & { kind: MemoryKind })[],
  warnings: readonly string[],
  options: Omit<HarnessOptions, 'onRound'>,
): string {
  const timing = table(
    [
      'flag',
      'core `evaluate`',
      'SDK `getBoolean`',
      'overhead (median)',
      'lowest – highest',
      'budget',
      'met (median)',
      'met (highest)',
    ],
    ROWS.map((row) => {
      const overheads = processes.map((t) => overhead(t, row));
      const mid = median(overheads);
      const highest = Math.max(...overheads);
      return [
        ROW_TITLES[row],
        `${formatNs(median(processes.map((t) => t[row].core.nsPerOp)))} ns`,
        `${formatNs(median(processes.map((t) => t[row].sdk.nsPerOp)))} ns`,
        percent(mid),
        `${percent(Math.min(...overheads))} – ${percent(highest)}`,
        `≤ ${MAX_OVERHEAD * 100} %`,
        mid <= MAX_OVERHEAD ? 'yes' : '**no**',
        highest <= MAX_OVERHEAD ? 'yes' : '**no**',
      ];
    }),
    ['left', 'right', 'right', 'right', 'right', 'right', 'left', 'left'],
  );
  const perProcess = table(
    ['flag', ...processes.map((_, p) => `${p + 1}`)],
    ROWS.map((row) => [
      ROW_TITLES[row],
      ...processes.map((t) => {
        const x = overhead(t, row);
        return x <= MAX_OVERHEAD ? percent(x) : `**${percent(x)}**`;
      }),
    ]),
    ['left', ...processes.map((): 'right' => 'right')],
  );
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const memoryTable = table(
    [
      'client',
      'flags',
      'ruleset JSON',
      'heap held by the ready client',
      'per flag',
      'budget',
      'met',
      'with 2,000 counters unsent',
    ],
    memory.map((memory) => [
      MEMORY_KIND_TITLES[memory.kind],
      MEMORY_FLAGS.toLocaleString('en-US'),
      kib(memory.jsonBytes),
      `${kib(memory.bytes)} (${kib(memory.low)} – ${kib(memory.high)})`,
      `${(memory.bytes / MEMORY_FLAGS).toFixed(0)} B`,
      '≤ 1 MiB',
      memory.bytes <= MEMORY_BUDGET_BYTES ? 'yes' : '**no**',
      kib(memory.withCounters),
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'left', 'right'],
  );
  return [
    'The three flags of the evaluation benchmark, for the same 10,000 contexts: the bare core ' +
      '(`compile(ruleset).evaluate(key, context, false, "boolean").value`, compiled from the same JSON text as ' +
      'the client) against `getBoolean(key, context, false)` on a ready client, the `FlagClient` that ' +
      '`createClient` of `@switchyard/sdk-node` returns, with analytics on (every call is counted per flag, ' +
      'variant and reason). The client gets its ruleset from an in-process stream so that no socket is open ' +
      'while timing. Both read their evaluator from a field written twice: the core from a holder assigned a ' +
      'second compiled evaluator, the client from its store after a second `put`, as after a reconnection. ' +
      'V8 treats a field written only once as a constant, and the JIT then folds the evaluator into the ' +
      'measured code. Calls that serve the same shared result one after another add to a run count in a ' +
      'field of the analytics aggregator (one identity comparison and one increment); when another result ' +
      'comes, the run is added to its counter and the new result’s counter is found by identity in a map. ' +
      'The single-flag rows are such runs; the last row calls the three flags in turn, so that every call ' +
      'ends a run. Every case serves every context three times before timing starts, so that the code both ' +
      'sides share has seen all three flags before the JIT compiles a timing loop around it, as in a ' +
      'process serving many flags. ' +
      `Each of ${GETTER_PROCESSES} fresh node processes, one after another, times every case in ` +
      `${options.rounds} interleaved rounds (same harness as the evaluation benchmark); its overhead for a ` +
      'row is the median across rounds of the getter’s time over the core’s in the same round, so that load ' +
      'from elsewhere on the machine moves both. The table gives the median across processes of each ' +
      'case’s median time and of the overheads, with the lowest and highest overhead; how the JIT compiles ' +
      'the getter differs from one process to the next. The budget is stated against the median and, in the ' +
      'last column, against the highest.',
    '',
    timing,
    '',
    'Overhead in each process:',
    '',
    perProcess,
    '',
    `Memory: a ready client serving ${MEMORY_FLAGS.toLocaleString('en-US')} typical flags (two variants, a ` +
      'rule on a list of five countries, a 25 % rollout, one metadata entry): received as one `put`; or ' +
      'given as a parsed `bootstrap` ruleset that the `put` then replaces; or given as a `bootstrap` to an ' +
      'offline client (which counts no evaluations). Every ' +
      'flag then evaluated on its rule and on its rollout: `heapUsed` minus `heapUsed` before the client was ' +
      `made, each after full collections, once the evaluation counts were sent; the median of ${MEMORY_SAMPLES} fresh ` +
      'clients, with the lowest and highest in brackets (a heap reading moves with what the collector ' +
      'left), measured in a node process of their own so that the benchmarks run before leave nothing on ' +
      'its heap. The last column is the same ' +
      'before they were sent: the analytics window holds one counter per flag, variant and reason evaluated ' +
      '(at most `maxEvaluationCounters`) until the next flush.',
    '',
    memoryTable,
    '',
    warnings.length === 0
      ? 'The getter and the core agreed on every context in every process.'
      : warnings.map((w) => `WARNING: ${w}`).join('\n'),
  ].join('\n');
}
