import type { EvaluationContext } from '@openfeature/core';
import { FlagdCore } from '@openfeature/flagd-core';
import type { CreateImplementation } from './implementation.js';
import { ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from './scenario.js';

const VARIANTS = { on: true, off: false };

/**
 * `fractional` without a bucketing expression hashes the flag key followed by the targeting key:
 * the same input, hash and point arithmetic as Switchyard's rollouts with the default salt, so on
 * these ASCII keys flagd and Switchyard put every context in the same bucket.
 */
function fractional(percent: number) {
  return {
    fractional: [
      ['on', percent],
      ['off', 100 - percent],
    ],
  };
}

/** The flagd flag definitions (its JSON schema), evaluated by json-logic with flagd's operators. */
export const flagdConfiguration = {
  flags: {
    [STATIC_FLAG.key]: { state: 'ENABLED', variants: VARIANTS, defaultVariant: 'on' },
    [ROLLOUT_FLAG.key]: {
      state: 'ENABLED',
      variants: VARIANTS,
      defaultVariant: 'off',
      targeting: fractional(ROLLOUT_FLAG.percent),
    },
    [RULES_FLAG.key]: {
      state: 'ENABLED',
      variants: VARIANTS,
      defaultVariant: 'off',
      // `if` with several condition/variant pairs tries them in order, like Switchyard's rules.
      targeting: {
        if: [
          { in: [{ var: 'country' }, [...RULES_FLAG.pilotCountries]] },
          'on',
          { ends_with: [{ var: 'email' }, RULES_FLAG.staffEmailSuffix] },
          'on',
          { sem_ver: [{ var: 'appVersion' }, '>', RULES_FLAG.appVersionAbove] },
          'on',
          { '>': [{ var: 'orders' }, RULES_FLAG.ordersAbove] },
          'on',
          fractional(RULES_FLAG.percent),
        ],
      },
    },
  },
};

/**
 * `FlagdCore` is the evaluation engine of flagd's in-process providers, with no connection of its
 * own: the configuration is handed to it as a string, as a sync stream would.
 */
export const createFlagd: CreateImplementation = async (contexts) => {
  const core = new FlagdCore();
  core.setConfigurations(JSON.stringify(flagdConfiguration));
  const inputs: EvaluationContext[] = contexts.map(({ key, ...rest }) => ({ targetingKey: key, ...rest }));
  const flag = (key: string) => (i: number) =>
    core.resolveBooleanEvaluation(key, false, inputs[i] as EvaluationContext).value;
  return {
    name: '@openfeature/flagd-core',
    async: false,
    notes:
      '`new FlagdCore()` and `setConfigurations(json)` (no sync connection); ' +
      '`core.resolveBooleanEvaluation(key, false, {targetingKey, ...}).value`. Rules are one `if` with ' +
      '`in`, `ends_with`, `sem_ver ">"` and `>` conditions; rollouts are `fractional` on the targeting key.',
    flags: { a: flag(STATIC_FLAG.key), b: flag(ROLLOUT_FLAG.key), c: flag(RULES_FLAG.key) },
    close() {},
  };
};
