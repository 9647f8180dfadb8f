import { check } from 'recheck';
import { AppError } from '../../errors.js';

interface RuleClauses {
  clauses: readonly { op: string; values: readonly unknown[] }[];
}

/**
 * The engines never test a subject longer than 1,024 characters, so a pattern whose matching
 * time grows with the square of the subject stays within milliseconds; a cube already reaches
 * a tenth of a second, and `(.*a){3}x` took 175 s against 1,024 `a`s.
 */
const MAX_POLYNOMIAL_DEGREE = 2;

/**
 * One write may wait this long, over all its patterns, before its remaining patterns are refused
 * as unproven. recheck analyses in a worker thread (its pure JavaScript backend; the native and
 * JVM ones are not installed), so the wait costs the event loop nothing.
 */
const CHECK_BUDGET_MS = 2000;

type Verdict = { safe: true } | { safe: false; reason: string; attack?: string };

async function verdictOf(pattern: string, timeoutMs: number): Promise<Verdict> {
  if (timeoutMs <= 0) return { safe: false, reason: 'the write has too many patterns to prove them all safe in time' };
  const diagnosis = await check(pattern, 'u', { timeout: timeoutMs });
  if (diagnosis.status === 'safe') return { safe: true };
  if (diagnosis.status === 'unknown') {
    // A pattern that does not compile is the engine's validation to refuse, with its own message.
    if (diagnosis.error.kind === 'invalid') return { safe: true };
    return { safe: false, reason: `it could not be proven safe (${diagnosis.error.kind})` };
  }
  const { complexity } = diagnosis;
  if (complexity.type === 'polynomial' && complexity.degree <= MAX_POLYNOMIAL_DEGREE) return { safe: true };
  const growth =
    complexity.type === 'exponential' ? 'exponentially' : `with the subject's length to the power ${complexity.degree}`;
  return {
    safe: false,
    reason: `its matching time grows ${growth} on some subjects`,
    attack: diagnosis.attack.pattern,
  };
}

/**
 * Refuses a `matches` pattern that can backtrack catastrophically, before any SDK loads it: one
 * evaluation of such a pattern can block an SDK's event loop for seconds. recheck analyses the
 * pattern's automaton, so it finds overlapping alternatives (`(a|aa)+$`) and polynomial blow-ups
 * (`(.*a){3}x`) that a star-height rule misses, without refusing the usual
 * `([a-z0-9-]+\.)+` of an e-mail pattern as that rule does. The engines also never test a
 * subject longer than 1,024 characters, for rulesets that reach an SDK without this check.
 *
 * Callers check the rules of a request before their transaction: the analysis takes tens to
 * hundreds of milliseconds, too long to hold an environment's write lock.
 */
export async function refuseCatastrophicPatterns(rules: readonly RuleClauses[]): Promise<void> {
  const deadline = Date.now() + CHECK_BUDGET_MS;
  for (const [i, rule] of rules.entries()) {
    for (const [j, clause] of rule.clauses.entries()) {
      if (clause.op !== 'matches') continue;
      for (const [k, value] of clause.values.entries()) {
        if (typeof value !== 'string') continue;
        const verdict = await verdictOf(value, deadline - Date.now());
        if (verdict.safe) continue;
        throw new AppError(
          'CATASTROPHIC_BACKTRACKING',
          `the pattern ${JSON.stringify(value)} can backtrack catastrophically: ${verdict.reason}; rewrite it without a repetition inside a repetition, overlapping alternatives or several unbounded wildcards`,
          {
            field: `rules[${i}].clauses[${j}].values[${k}]`,
            pattern: value,
            ...(verdict.attack === undefined ? {} : { attack: verdict.attack }),
          },
        );
      }
    }
  }
}
