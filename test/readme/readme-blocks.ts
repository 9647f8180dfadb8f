import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FencedBlock {
  lang: string;
  text: string;
}

/** The README's text from the heading `from` (included) to the heading `to` (excluded). */
export function readmeSection(from: string, to: string): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const start = readme.indexOf(`\n${from}\n`);
  const end = readme.indexOf(`\n${to}\n`, start);
  if (start < 0 || end < 0) throw new Error(`README.md has no section "${from}" followed by "${to}"`);
  return readme.slice(start, end);
}

/** The fenced code blocks of a piece of Markdown, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] as string,
    text: m[2] as string,
  }));
}

/**
 * The commands of a shell block, one per entry: continuation lines joined, comments and blank
 * lines left out (a comment line never holds a command in the README).
 */
export function shellCommands(block: string): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    const joined = pending + line;
    if (joined.endsWith('\\')) {
      pending = `${joined.slice(0, -1)}`;
      continue;
    }
    commands.push(joined.replace(/\s+#.*$/, '').trim());
    pending = '';
  }
  if (pending !== '') throw new Error(`a shell block ends inside a command: ${pending}`);
  return commands;
}

/** `NAME=value` or `export NAME=value`: a command whose only effect is a shell variable. */
export function isAssignment(command: string): boolean {
  return /^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=\S*$/.test(command);
}
