import type { Implementation } from './implementation.js';
import { type BenchContext, type FlagId, matchesRule, ROLLOUT_FLAG, RULES_FLAG } from './scenario.js';

/**
 * A rollout's share of "on" may differ from its nominal percentage by sampling alone (about
 * 0.5 point for these sample sizes) and by a peer's rounding; 2 points is well beyond both.
 */
const TOLERANCE_POINTS = 2;

export interface FlagCheck {
  /** Percentage of all contexts served "on". */
  readonly onPercent: number;
  /** Percentage of contexts with the same outcome as Switchyard. */
  readonly agreement: number;
}

export interface ImplementationCheck extends Readonly<Record<FlagId, FlagCheck>> {
  /** Flag (c): percentage of the contexts that no rule matches served "on" by the rollout. */
  readonly rolloutAfterRules: number;
}

export interface Verification {
  readonly checks: ReadonlyMap<string, ImplementationCheck>;
  readonly warnings: readonly string[];
}

/**
 * Evaluates every flag for every context with every implementation before anything is timed,
 * and checks that they do the same thing:
 * (a) on for every context; (b) about 25 % on; (c) on for every context a rule matches (worked out
 * independently in `matchesRule`) and about 30 % of the rest. Peers hash differently, so only
 * rollout proportions compare, not which context lands where.
 */
export async function verify(
  implementations: readonly Implementation[],
  contexts: readonly BenchContext[],
): Promise<Verification> {
  const ruled = contexts.map(matchesRule);
  const outcomes = new Map<string, Record<FlagId, boolean[]>>();
  for (const impl of implementations) {
    const run = async (flag: FlagId) => {
      const out: boolean[] = [];
      for (let i = 0; i < contexts.length; i++) out.push((await impl.flags[flag](i)) === true);
      return out;
    };
    outcomes.set(impl.name, { a: await run('a'), b: await run('b'), c: await run('c') });
  }

  const reference = outcomes.get(implementations[0]?.name ?? '');
  const warnings: string[] = [];
  const checks = new Map<string, ImplementationCheck>();
  for (const [name, byFlag] of outcomes) {
    const percent = (n: number) => (100 * n) / contexts.length;
    const agreement = (flag: FlagId) => percent(byFlag[flag].filter((on, i) => on === reference?.[flag][i]).length);

    const offA = byFlag.a.filter((on) => !on).length;
    if (offA > 0) warnings.push(`${name}: flag (a) is off for ${offA} contexts; it should be on for everyone`);

    const onB = percent(byFlag.b.filter(Boolean).length);
    expectShare(warnings, name, '(b)', onB, ROLLOUT_FLAG.percent);

    let missedRules = 0;
    let fellThrough = 0;
    let onAfterRules = 0;
    byFlag.c.forEach((on, i) => {
      if (ruled[i]) {
        if (!on) missedRules++;
      } else {
        fellThrough++;
        if (on) onAfterRules++;
      }
    });
    if (missedRules > 0) warnings.push(`${name}: flag (c) is off for ${missedRules} contexts that a rule matches`);
    const rolloutC = fellThrough === 0 ? 0 : (100 * onAfterRules) / fellThrough;
    expectShare(warnings, name, '(c) after its rules', rolloutC, RULES_FLAG.percent);

    checks.set(name, {
      a: { onPercent: percent(byFlag.a.length - offA), agreement: agreement('a') },
      b: { onPercent: onB, agreement: agreement('b') },
      c: { onPercent: percent(byFlag.c.filter(Boolean).length), agreement: agreement('c') },
      rolloutAfterRules: rolloutC,
    });
  }
  return { checks, warnings };
}

function expectShare(warnings: string[], name: string, what: string, actual: number, nominal: number): void {
  if (Math.abs(actual - nominal) > TOLERANCE_POINTS) {
    warnings.push(`${name}: flag ${what} serves "on" to ${actual.toFixed(1)} %, expected about ${nominal} %`);
  }
}
