import { compile, type EvaluationContext, type Flag, type Ruleset, type Serve } from '@switchyard/core';
import type { CreateImplementation } from './implementation.js';
import { type BenchContext, ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from './scenario.js';

const VARIANTS: Flag['variants'] = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

/** Weights are thousandths of a percent. */
function percentOn(percent: number): Serve {
  return {
    rollout: {
      weights: [
        { variant: 'on', weight: percent * 1000 },
        { variant: 'off', weight: (100 - percent) * 1000 },
      ],
    },
  };
}

function booleanFlag(key: string, rest: Pick<Flag, 'defaultServe'> & Partial<Flag>): Flag {
  return { key, type: 'boolean', variants: VARIANTS, enabled: true, version: 1, ...rest };
}

export const switchyardRuleset: Ruleset = {
  schemaVersion: 1,
  environment: 'bench',
  version: 1,
  segments: [],
  flags: [
    booleanFlag(STATIC_FLAG.key, { defaultServe: { variant: 'on' } }),
    booleanFlag(ROLLOUT_FLAG.key, { defaultServe: percentOn(ROLLOUT_FLAG.percent) }),
    booleanFlag(RULES_FLAG.key, {
      rules: [
        {
          id: 'pilot-countries',
          clauses: [{ attribute: 'country', op: 'in', values: [...RULES_FLAG.pilotCountries] }],
          serve: { variant: 'on' },
        },
        {
          id: 'staff',
          clauses: [{ attribute: 'email', op: 'endsWith', values: [RULES_FLAG.staffEmailSuffix] }],
          serve: { variant: 'on' },
        },
        {
          id: 'next-release-betas',
          clauses: [{ attribute: 'appVersion', op: 'semverGt', values: [RULES_FLAG.appVersionAbove] }],
          serve: { variant: 'on' },
        },
        {
          id: 'loyal-customers',
          clauses: [{ attribute: 'orders', op: 'gt', values: [RULES_FLAG.ordersAbove] }],
          serve: { variant: 'on' },
        },
      ],
      defaultServe: percentOn(RULES_FLAG.percent),
    }),
  ],
};

/** Calls `evaluate` with `expectedType: 'boolean'`, as the SDKs' boolean getters do. */
export const createSwitchyard: CreateImplementation = async (contexts) => {
  const evaluator = compile(switchyardRuleset);
  const inputs: EvaluationContext[] = contexts.map((c: BenchContext) => ({ ...c }));
  const flag = (key: string) => (i: number) =>
    evaluator.evaluate(key, inputs[i] as EvaluationContext, false, 'boolean').value;
  return {
    name: '@switchyard/core',
    async: false,
    notes: '`compile(ruleset)` once, then `evaluator.evaluate(key, context, false, "boolean").value`.',
    flags: { a: flag(STATIC_FLAG.key), b: flag(ROLLOUT_FLAG.key), c: flag(RULES_FLAG.key) },
    close() {},
  };
};
