import { describe, expect, it } from 'vitest';
import { mergeResults, type SectionRun } from '../../bench/src/report.js';

const machine = { cpu: 'cpu', cores: 2, memoryGiB: 24, os: 'os', node: 'v20', v8: '11' };
const run = (id: string, body: string): SectionRun => ({
  id,
  command: `pnpm bench ${id}`,
  date: new Date(0),
  machine,
  section: { title: id, body },
});

describe("bench/RESULTS.md, as each benchmark's run rewrites it", () => {
  it("replaces only the benchmark's own section, and keeps what a person wrote after any section", () => {
    const first = mergeResults(undefined, [run('a', 'a1'), run('b', 'b1')], ['a', 'b']);
    const annotated = first.replace('<!-- bench:a:end -->', '<!-- bench:a:end -->\n\n### Before and after\n\nby hand');
    const next = mergeResults(annotated, [run('b', 'b2')], ['a', 'b']);
    expect(next).toContain('a1');
    expect(next).toContain('b2');
    expect(next).not.toContain('b1');
    expect(next).toMatch(/<!-- bench:a:end -->\n\n### Before and after\n\nby hand\n\n<!-- bench:b:start -->/);
    // Running the section the note follows keeps the note too.
    expect(mergeResults(next, [run('a', 'a2')], ['a', 'b'])).toMatch(
      /a2\n<!-- bench:a:end -->\n\n### Before and after/,
    );
  });
});
