import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientView, compile, type FlagType, type Ruleset, SwitchyardError, viewEvaluator } from '@switchyard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

interface VectorSuite {
  name: string;
  ruleset: Ruleset;
  cases: { name: string; flag: string; context: unknown; default: unknown; type?: FlagType }[];
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== 'murmur3_x86_32.json')
  .sort()
  .flatMap((file) => JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as VectorSuite[]);

const encoder = new TextEncoder();

/** Each case of a suite as JSON text, from `compile` and from the browser engine given the client view over the wire. */
function bothEngines(ruleset: Ruleset, cases: VectorSuite['cases']): { core: string[]; browser: string[] } {
  const core = compile(ruleset);
  const browser = viewEvaluator(JSON.parse(JSON.stringify(clientView(ruleset))), encoder);
  const answers = (engine: Pick<typeof core, 'evaluate'>) =>
    cases.map((c) => JSON.stringify(engine.evaluate(c.flag, c.context as Record<string, never>, c.default, c.type)));
  return { core: answers(core), browser: answers(browser) };
}

describe("the browser engine (viewEvaluator over a ruleset's client view)", () => {
  it.each(suites.map((s) => [s.name, s] as const))('answers %s as the core does, to the byte', (_, suite) => {
    const { core, browser } = bothEngines(suite.ruleset, suite.cases);
    expect(browser).toEqual(core);
  });

  /**
   * The vectors' rulesets with one part replaced by something else: another value of any JSON
   * type, or the same kind of thing from elsewhere in the file. Most such rulesets hold an
   * invalid flag or segment, or a valid one doing something else; either way both engines must
   * answer every case alike.
   */
  it('answers damaged vector rulesets as the core does', () => {
    const withRuleset = suites.filter((s) => s.ruleset.flags.length > 0);
    const junk = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('', 'on', 'off', 'key', 'in', 'matches', 'semverLt', 'before', '(', '1.2.3', '2025-02-30'),
      fc.integer({ min: -2, max: 100_001 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...withRuleset),
        fc.array(fc.tuple(fc.nat(), junk), { minLength: 1, maxLength: 3 }),
        (suite, damage) => {
          const ruleset = JSON.parse(JSON.stringify(suite.ruleset)) as Ruleset;
          for (const [at, value] of damage) replaceNode(ruleset, at, value);
          let core: ReturnType<typeof bothEngines>;
          try {
            core = bothEngines(ruleset, suite.cases);
          } catch (err) {
            // The ruleset as a whole became unusable (a key damaged): both refuse it.
            expect(err).toBeInstanceOf(SwitchyardError);
            expect(['INVALID_RULESET', 'UNSUPPORTED_SCHEMA_VERSION']).toContain((err as SwitchyardError).code);
            expect(() => viewEvaluator(clientView(ruleset), encoder)).toThrow(
              expect.objectContaining({ name: 'SwitchyardError', code: 'INVALID_RULESET' }),
            );
            return;
          }
          expect(core.browser).toEqual(core.core);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

/**
 * Replaces the `at`-th node (modulo their number, in depth-first order) under the ruleset's
 * flags and segments with `value`; the envelope stays, so the ruleset itself remains usable.
 */
function replaceNode(ruleset: Ruleset, at: number, value: unknown): void {
  const slots: [Record<string | number, unknown>, string | number][] = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    for (const k of Object.keys(node)) {
      slots.push([node as Record<string, unknown>, Array.isArray(node) ? Number(k) : k]);
      walk((node as Record<string, unknown>)[k]);
    }
  };
  for (const item of [...ruleset.flags, ...ruleset.segments]) walk(item);
  const slot = slots[at % slots.length];
  if (slot !== undefined) slot[0][slot[1]] = value;
}
