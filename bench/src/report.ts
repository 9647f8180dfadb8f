import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';

/** One benchmark's part of RESULTS.md, in Markdown (also printed to stdout). */
export interface Section {
  readonly title: string;
  readonly body: string;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly v8: string;
  readonly os: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const require = createRequire(import.meta.url);

/** The version of a package as installed for bench/, read from its own package.json. */
export function installedVersion(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === name) return manifest.version ?? 'unknown';
    } catch {
      // No package.json here: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

export type Align = 'left' | 'right';

/** A Markdown table with padded columns, so it reads the same in a terminal. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) =>
    align?.[i] === 'right' ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0);
  const line = (cells: readonly string[]) => `| ${header.map((_, i) => cell(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align?.[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Nanoseconds with three significant figures, at most one decimal. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  return ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString('en-US');
}

/** A benchmark's section as it stands in RESULTS.md: who wrote it, when, where, and its body. */
export interface SectionRun {
  /** Names the markers around the section; a run replaces only the section with its id. */
  readonly id: string;
  readonly command: string;
  readonly date: Date;
  readonly machine: Machine;
  readonly section: Section;
}

const HEADER = [
  '# Benchmark results',
  '',
  'Each section is written by its own benchmark and replaced only when that benchmark runs again ' +
    '(`pnpm bench <name>`; `pnpm bench` runs them all). See README.md for the method.',
  '',
].join('\n');

const startMarker = (id: string) => `<!-- bench:${id}:start -->`;
const endMarker = (id: string) => `<!-- bench:${id}:end -->`;

export function renderSection(run: SectionRun): string {
  const { machine } = run;
  return [
    startMarker(run.id),
    `## ${run.section.title}`,
    '',
    `- Command: \`${run.command}\``,
    `- Date: ${run.date.toISOString()}`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`,
    `- Node ${machine.node} (V8 ${machine.v8})`,
    '',
    run.section.body.trimEnd(),
    endMarker(run.id),
  ].join('\n');
}

/**
 * RESULTS.md with the sections of `runs` replaced (or added, in `order`), every other section
 * kept as it was. What a person wrote after a section's end marker (a before/after table, say)
 * stays after that section, whichever benchmark runs. A file without section markers (or none at
 * all) is started afresh.
 */
export function mergeResults(
  existing: string | undefined,
  runs: readonly SectionRun[],
  order: readonly string[],
): string {
  const kept = new Map<string, string>();
  const notes = new Map<string, string>();
  for (const id of order) {
    const from = existing?.indexOf(startMarker(id)) ?? -1;
    const to = existing?.indexOf(endMarker(id)) ?? -1;
    if (existing !== undefined && from !== -1 && to > from) {
      const end = to + endMarker(id).length;
      kept.set(id, existing.slice(from, end));
      const next = existing.indexOf('<!-- bench:', end);
      const note = existing.slice(end, next === -1 ? undefined : next).trim();
      if (note !== '') notes.set(id, note);
    }
  }
  for (const run of runs) kept.set(run.id, renderSection(run));
  const sections = order.flatMap((id) => {
    const text = kept.get(id);
    if (text === undefined) return [];
    const note = notes.get(id);
    return [note === undefined ? text : `${text}\n\n${note}`];
  });
  return `${HEADER}\n${sections.join('\n\n')}\n`;
}
