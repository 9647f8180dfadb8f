import isSafePattern from 'safe-regex2';
import { AppError } from '../../errors.js';

interface RuleClauses {
  clauses: readonly { op: string; values: readonly unknown[] }[];
}

/**
 * Refuses a `matches` pattern that can backtrack catastrophically (`(a+)+$`: nested
 * quantifiers, or more than 25 repetitions), before any SDK loads it: one evaluation of such a
 * pattern can block an SDK's event loop for seconds. The engines also never test a subject
 * longer than 1,024 characters, for rulesets that reach an SDK without this check.
 */
export function refuseCatastrophicPatterns(rules: readonly RuleClauses[]): void {
  rules.forEach((rule, i) => {
    rule.clauses.forEach((clause, j) => {
      if (clause.op !== 'matches') return;
      clause.values.forEach((value, k) => {
        if (typeof value === 'string' && !isSafePattern(value)) {
          throw new AppError(
            'CATASTROPHIC_BACKTRACKING',
            `the pattern ${JSON.stringify(value)} can backtrack catastrophically (nested quantifiers such as "(a+)+", or more than 25 repetitions); rewrite it without a repetition inside a repetition`,
            { field: `rules[${i}].clauses[${j}].values[${k}]`, pattern: value },
          );
        }
      });
    });
  });
}
