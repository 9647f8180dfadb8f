import { type BenchCase, type CaseResult, type HarnessOptions, measure } from '../harness.js';
import { formatNs, installedVersion, type Section, table } from '../report.js';
import { CONTEXT_COUNT, CONTEXT_SEED, generateContexts } from './contexts.js';
import { createFlagd } from './flagd.js';
import { createGrowthbook } from './growthbook.js';
import type { CreateImplementation, Implementation } from './implementation.js';
import { createLaunchdarkly } from './launchdarkly.js';
import { FLAG_IDS, FLAG_TITLES, type FlagId } from './scenario.js';
import { createSwitchyard } from './switchyard.js';
import { createUnleash } from './unleash.js';
import { type Verification, verify } from './verify.js';

/** Switchyard first: it is the reference the others are compared with. */
const IMPLEMENTATIONS: readonly CreateImplementation[] = [
  createSwitchyard,
  createUnleash,
  createGrowthbook,
  createLaunchdarkly,
  createFlagd,
];

/** The budgets: Switchyard's own time, and how much faster than the fastest peer. */
const BUDGETS: Readonly<Record<FlagId, { readonly maxNs: number; readonly minSpeedup: number }>> = {
  a: { maxNs: 50, minSpeedup: 1 },
  b: { maxNs: 200, minSpeedup: 2 },
  c: { maxNs: 500, minSpeedup: 2 },
};

export async function runEvaluationBenchmark(
  options: Omit<HarnessOptions, 'onRound'>,
  log: (line: string) => void,
): Promise<Section> {
  const contexts = generateContexts(CONTEXT_COUNT, CONTEXT_SEED);
  const implementations: Implementation[] = [];
  try {
    for (const create of IMPLEMENTATIONS) implementations.push(await create(contexts));
    log(`evaluation: ${implementations.length} implementations x 3 flags x ${CONTEXT_COUNT} contexts; verifying…`);
    const verification = await verify(implementations, contexts);
    for (const w of verification.warnings) log(`WARNING: ${w}`);

    const cases: BenchCase[] = implementations.flatMap((impl) =>
      FLAG_IDS.map((flag) => ({
        id: caseId(impl, flag),
        async: impl.async,
        size: contexts.length,
        fn: impl.flags[flag],
      })),
    );
    const results = await measure(cases, {
      ...options,
      onRound: (done, total) => {
        if (done % 10 === 0 || done === total) log(`evaluation: round ${done}/${total}`);
      },
    });
    const byId = new Map(results.map((r) => [r.id, r]));
    const warnings = [...verification.warnings];
    for (const r of results) {
      if (r.consistent) continue;
      warnings.push(`${r.id}: "on" count changed between passes over the same contexts`);
      log(`WARNING: ${warnings.at(-1)}`);
    }
    return { title: 'Local evaluation', body: render(implementations, byId, verification, warnings, options) };
  } finally {
    for (const impl of implementations) await impl.close();
  }
}

function caseId(impl: Implementation, flag: FlagId): string {
  return `${impl.name} ${flag}`;
}

function render(
  implementations: readonly Implementation[],
  results: ReadonlyMap<string, CaseResult>,
  verification: Verification,
  warnings: readonly string[],
  options: Omit<HarnessOptions, 'onRound'>,
): string {
  const [self, ...peers] = implementations as [Implementation, ...Implementation[]];
  const ns = (impl: Implementation, flag: FlagId) => results.get(caseId(impl, flag))?.nsPerOp ?? Number.NaN;
  const right = (n: number) => Array.from({ length: n }, () => 'right' as const);
  const flagHeaders = FLAG_IDS.map((f) => FLAG_TITLES[f]);

  const timings = table(
    ['ns/op (median, ±half IQR)', ...flagHeaders],
    implementations.map((impl) => [
      label(impl),
      ...FLAG_IDS.map((flag) => {
        const r = results.get(caseId(impl, flag));
        if (r === undefined) return 'n/a';
        const spread = (100 * (r.q3 - r.q1)) / 2 / r.nsPerOp;
        return `${formatNs(r.nsPerOp)} ±${spread.toFixed(0)} %`;
      }),
    ]),
    ['left', ...right(3)],
  );

  const ratios = table(
    ['peer ns / Switchyard ns', ...flagHeaders],
    peers.map((peer) => [label(peer), ...FLAG_IDS.map((flag) => `×${(ns(peer, flag) / ns(self, flag)).toFixed(1)}`)]),
    ['left', ...right(3)],
  );

  const budgets = table(
    ['flag', 'Switchyard', 'budget', 'met', 'fastest peer', 'speed-up', 'required', 'met'],
    FLAG_IDS.map((flag) => {
      const own = ns(self, flag);
      const fastest = peers.reduce((best, p) => (ns(p, flag) < ns(best, flag) ? p : best));
      const speedup = ns(fastest, flag) / own;
      const { maxNs, minSpeedup } = BUDGETS[flag];
      const faster = minSpeedup === 1 ? 'faster' : `≥ ×${minSpeedup}`;
      return [
        FLAG_TITLES[flag],
        `${formatNs(own)} ns`,
        `≤ ${maxNs} ns`,
        own <= maxNs ? 'yes' : '**no**',
        `${fastest.name} (${formatNs(ns(fastest, flag))} ns)`,
        `×${speedup.toFixed(1)}`,
        faster,
        speedup >= minSpeedup && speedup > 1 ? 'yes' : '**no**',
      ];
    }),
    ['left', 'right', 'right', 'left', 'left', 'right', 'right', 'left'],
  );

  const pct = (n: number) => `${n.toFixed(1)} %`;
  const equivalence = table(
    [
      'implementation',
      '(a) on',
      '(b) on',
      '(c) on',
      '(c) on after its rules',
      'same outcome as Switchyard (a / b / c)',
    ],
    implementations.map((impl) => {
      const c = verification.checks.get(impl.name);
      if (c === undefined) return [label(impl)];
      return [
        label(impl),
        pct(c.a.onPercent),
        pct(c.b.onPercent),
        pct(c.c.onPercent),
        pct(c.rolloutAfterRules),
        FLAG_IDS.map((flag) => pct(c[flag].agreement)).join(' / '),
      ];
    }),
    ['left', ...right(5)],
  );

  return [
    `Three boolean flags evaluated locally for ${CONTEXT_COUNT.toLocaleString('en-US')} prepared contexts ` +
      `(seed 0x${CONTEXT_SEED.toString(16)}): (a) on for everyone; (b) a 25 % rollout on the context key; ` +
      '(c) four rules (country in 20 countries, email ends with, app version semver greater than, orders ' +
      'greater than), about 82 % of contexts falling through all four, then a 30 % rollout. ' +
      `Median of ${options.rounds} interleaved rounds after ${options.warmupRounds} warm-up rounds, ` +
      `about ${options.sliceMs} ms per implementation and flag per round.`,
    '',
    timings,
    '',
    ratios,
    '',
    '### Budgets from the issue',
    '',
    budgets,
    '',
    '### Equivalence, checked before timing',
    '',
    'Every context evaluated once per flag and implementation. Flag (c) must be on for every context a ' +
      'rule matches (worked out independently of all five), and its rollout on about 30 % of the rest. ' +
      'Rollouts hash differently in each product, so only their proportions compare; flagd buckets ' +
      'exactly like Switchyard, so it also agrees context by context.',
    '',
    equivalence,
    '',
    warnings.length === 0 ? 'No warnings.' : warnings.map((w) => `- **WARNING**: ${w}`).join('\n'),
    '',
    '### How each implementation is set up and called',
    '',
    ...implementations.map((impl) => `- **${label(impl)}**: ${impl.notes}`),
    '',
  ].join('\n');
}

function label(impl: Implementation): string {
  return `${impl.name} ${installedVersion(impl.name)}`;
}
