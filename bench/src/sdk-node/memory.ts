import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Flag, Ruleset } from '@switchyard/core';
import { readyClient } from './ready-client.js';

export const MEMORY_FLAGS = 1_000;

/** A typical server-side flag: two variants, a rule on a country list, a 25 % rollout otherwise. */
function typicalFlag(i: number): Flag {
  return {
    key: `flag-${String(i).padStart(4, '0')}`,
    type: 'boolean',
    variants: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    metadata: { owner: `team-${i % 20}` },
    enabled: true,
    rules: [
      {
        id: 'pilot',
        clauses: [{ attribute: 'country', op: 'in', values: ['NL', 'BE', 'LU', 'DE', 'FR'] }],
        serve: { variant: 'on' },
      },
    ],
    defaultServe: {
      rollout: {
        weights: [
          { variant: 'on', weight: 25_000 },
          { variant: 'off', weight: 75_000 },
        ],
      },
    },
    version: i + 1,
  };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('the memory measurement needs node --expose-gc');
  for (let i = 0; i < 3; i++) collect();
}

/**
 * How the client got its flags: from the stream's `put` (`streaming`); from a bootstrap ruleset
 * that the stream's `put` then replaced (`bootstrap`); from a bootstrap ruleset alone
 * (`offline`, which counts no evaluations). A bootstrap is parsed inside the measured region
 * and handed over, as an application reading it from a file does, so a client that kept it
 * after compiling it would count it.
 */
export const MEMORY_KINDS = ['streaming', 'bootstrap', 'offline'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

export interface MemoryFigures {
  /** Heap held for the flags: every flag evaluated, then the analytics window sent. */
  bytes: number;
  /** The same before the analytics were sent: one window with two counters per flag. */
  withCounters: number;
  jsonBytes: number;
}

/** Fresh clients measured in turn; the median is reported, with the range of `bytes`. */
export const MEMORY_SAMPLES = 7;

async function medianClientMemory(kind: MemoryKind): Promise<MemoryFigures & { low: number; high: number }> {
  const samples: MemoryFigures[] = [];
  for (let i = 0; i < MEMORY_SAMPLES; i++) samples.push(await clientMemory(kind));
  const median = (pick: (m: MemoryFigures) => number) =>
    samples.map(pick).sort((a, b) => a - b)[Math.floor(MEMORY_SAMPLES / 2)] as number;
  const bytes = samples.map((m) => m.bytes);
  return {
    bytes: median((m) => m.bytes),
    withCounters: median((m) => m.withCounters),
    jsonBytes: samples[0]?.jsonBytes ?? 0,
    low: Math.min(...bytes),
    high: Math.max(...bytes),
  };
}

/**
 * Heap held by a ready client serving `MEMORY_FLAGS` flags: the heap minus the heap before the
 * client was made, both after full collections. The ruleset's JSON text exists before and after,
 * so only what the client keeps counts. Every flag is evaluated, on its rule and on its rollout,
 * before the heap is read, so whatever an engine builds on first use counts too; the evaluation
 * counters that makes are read once with the flags and once after they were sent.
 */
async function clientMemory(kind: MemoryKind): Promise<MemoryFigures> {
  const ruleset: Ruleset = {
    schemaVersion: 1,
    environment: 'bench',
    version: MEMORY_FLAGS,
    segments: [],
    flags: Array.from({ length: MEMORY_FLAGS }, (_, i) => typicalFlag(i)),
  };
  const text = JSON.stringify(ruleset);
  gc();
  const before = process.memoryUsage().heapUsed;
  const client =
    kind === 'streaming'
      ? await readyClient(text)
      : await readyClient(text, 1, { offline: kind === 'offline', bootstrap: JSON.parse(text) as Ruleset });
  for (let i = 0; i < MEMORY_FLAGS; i++) {
    const key = typicalFlag(i).key;
    if (client.getBoolean(key, { key: 'u', country: 'NL' }, false) !== true) {
      throw new Error(`the memory client does not serve ${key}`);
    }
    client.getBoolean(key, { key: `user-${i}`, country: 'SE' }, false);
  }
  gc();
  const withCounters = process.memoryUsage().heapUsed - before;
  await client.flush();
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  await client.close();
  return { bytes, withCounters, jsonBytes: Buffer.byteLength(text) };
}

export type MemoryResult = MemoryFigures & { low: number; high: number };

const SELF = fileURLToPath(import.meta.url);

/**
 * The memory figures of one kind of client, measured in a node process of their own: in the
 * bench's process, what the benchmarks before it left on the heap (10,000 streams' worth in the
 * propagation benchmark) moved the median by a fifth from one run to the next.
 */
export function clientMemoryInFreshProcess(kind: MemoryKind): MemoryResult {
  const out = execFileSync(process.execPath, ['--expose-gc', SELF, kind], { encoding: 'utf8' });
  return JSON.parse(out) as MemoryResult;
}

if (process.argv[1] === SELF) {
  const kind = process.argv[2] as MemoryKind;
  if (!MEMORY_KINDS.includes(kind)) throw new Error(`usage: memory.js ${MEMORY_KINDS.join('|')}`);
  process.stdout.write(JSON.stringify(await medianClientMemory(kind)));
}
