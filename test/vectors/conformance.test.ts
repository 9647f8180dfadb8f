import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile, type EvaluationContext, type EvaluationResult, type FlagType, type Ruleset } from '@switchyard/core';
import { describe, expect, it } from 'vitest';

/** The vector format documented in README.md. */
interface VectorSuite {
  name: string;
  description?: string;
  ruleset: Ruleset;
  cases: VectorCase[];
}

interface VectorCase {
  name: string;
  flag: string;
  /** Usually an object; hostile cases pass null, strings and numbers as they are. */
  context: unknown;
  default: unknown;
  type?: FlagType;
  expect: Expected;
  note?: string;
}

interface Expected {
  value: unknown;
  variant?: string;
  reason: string;
  errorCode?: string;
  ruleId?: string;
  flagMetadata?: Record<string, string | number | boolean>;
  errorMessage?: string;
}

/** Fewer cases than this means a vector file went missing or failed to load. */
const MIN_CASES = 300;
const REFERENCE_HASHES = 'murmur3_x86_32.json';
const CASE_KEYS = new Set(['name', 'flag', 'context', 'default', 'type', 'expect', 'note']);
const EXPECT_KEYS = new Set(['value', 'variant', 'reason', 'errorCode', 'ruleId', 'flagMetadata', 'errorMessage']);

const dir = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== REFERENCE_HASHES)
  .sort();
const vectors = files.map((file) => ({
  file,
  suites: JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as VectorSuite[],
}));

/**
 * The fields every case is compared on. A field the case leaves out must be absent from the
 * result too (a served default has no variant, a target has no rule id).
 */
function compared(r: EvaluationResult<unknown> | Expected): Record<string, unknown> {
  return { value: r.value, variant: r.variant, reason: r.reason, errorCode: r.errorCode, ruleId: r.ruleId };
}

describe('conformance vectors', () => {
  it(`hold at least ${MIN_CASES} cases in well-formed files`, () => {
    let total = 0;
    for (const { file, suites } of vectors) {
      expect(Array.isArray(suites), `${file} must hold a list of suites`).toBe(true);
      expect(suites.length, `${file} has no suites`).toBeGreaterThan(0);
      const suiteNames = new Set<string>();
      for (const suite of suites) {
        expect(suiteNames.has(suite.name), `${file}: suite "${suite.name}" appears twice`).toBe(false);
        suiteNames.add(suite.name);
        const caseNames = new Set<string>();
        for (const c of suite.cases) {
          const where = `${file} / ${suite.name} / ${c.name}`;
          expect(caseNames.has(c.name), `${where} appears twice`).toBe(false);
          caseNames.add(c.name);
          expect(
            Object.keys(c).filter((k) => !CASE_KEYS.has(k)),
            `${where}: unknown case fields`,
          ).toEqual([]);
          expect(
            Object.keys(c.expect).filter((k) => !EXPECT_KEYS.has(k)),
            `${where}: unknown expect fields`,
          ).toEqual([]);
          total++;
        }
      }
    }
    expect(total).toBeGreaterThanOrEqual(MIN_CASES);
  });

  for (const { file, suites } of vectors) {
    describe(file, () => {
      for (const suite of suites) {
        describe(suite.name, () => {
          // Compiled once per suite; cases run in file order against the same evaluator.
          const evaluator = compile(suite.ruleset);
          for (const c of suite.cases) {
            it(c.name, () => {
              const result = evaluator.evaluate(c.flag, c.context as EvaluationContext, c.default, c.type);
              expect(compared(result)).toEqual(compared(c.expect));
              if (c.expect.flagMetadata !== undefined) expect(result.flagMetadata).toEqual(c.expect.flagMetadata);
              if (c.expect.errorMessage !== undefined) expect(result.errorMessage).toContain(c.expect.errorMessage);
            });
          }
        });
      }
    });
  }
});
