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

export function renderResults(input: {
  readonly command: string;
  readonly date: Date;
  readonly machine: Machine;
  readonly sections: readonly Section[];
}): string {
  const { machine } = input;
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`${input.command}\`, which overwrites this file on every run; see README.md for the method.`,
    '',
    `- Date: ${input.date.toISOString()}`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`,
    `- Node ${machine.node} (V8 ${machine.v8})`,
    '',
  ];
  for (const section of input.sections) lines.push(`## ${section.title}`, '', section.body.trimEnd(), '');
  return lines.join('\n');
}
