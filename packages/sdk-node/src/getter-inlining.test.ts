import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The child resolves `@switchyard/core` from this package, to its sources (the `source` condition).
const sdkNode = fileURLToPath(new URL('../', import.meta.url));

/** The largest function TurboFan inlines, as this node's V8 sets it. */
function maxInlinedBytecodeSize(): number {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  const match = /default: --max-inlined-bytecode-size=(\d+)/.exec(options);
  if (match?.[1] === undefined) throw new Error('node --v8-options does not state --max-inlined-bytecode-size');
  return Number(match[1]);
}

/** The bytecode length of `runFlag` as V8 compiles it on its first call, from the sources. */
function runFlagBytecodeLength(): number {
  const script = [
    'const { compile } = await import("@switchyard/core");',
    'const variants = [{ key: "on", value: true }, { key: "off", value: false }];',
    'const rules = [{ id: "nl", clauses: [{ attribute: "country", op: "in", values: ["NL"] }], serve: { variant: "on" } }];',
    'const flag = { key: "f", type: "boolean", variants, enabled: true, rules, defaultServe: { variant: "off" }, version: 1 };',
    'const ruleset = { schemaVersion: 1, environment: "test", version: 1, segments: [], flags: [flag] };',
    'compile(ruleset).evaluate("f", { key: "u", country: "NL" }, false);',
  ].join('\n');
  const out = execFileSync(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      '--print-bytecode',
      '--print-bytecode-filter=runFlag',
      '--input-type=module',
      '--eval',
      script,
    ],
    { cwd: sdkNode, encoding: 'utf8' },
  );
  const lengths = [...out.matchAll(/Bytecode length: (\d+)/g)].map((m) => Number(m[1]));
  expect(lengths).toHaveLength(1);
  return lengths[0] as number;
}

describe('the core behind the getters', () => {
  // The core's evaluate stays small enough to inline into every getter only while runFlag, which
  // it calls, is too large to be inlined with it (see runFlag in the core): a refactoring that
  // shrank it below the limit would silently put the whole flag logic back into the getters.
  it('keeps runFlag larger than the bytecode TurboFan inlines, so that evaluate inlines without it', () => {
    expect(runFlagBytecodeLength()).toBeGreaterThan(maxInlinedBytecodeSize());
  });
});
