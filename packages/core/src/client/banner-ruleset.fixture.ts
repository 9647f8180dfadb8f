import type { Ruleset } from '../types.js';

/** One boolean flag with a target, a rule and a default: a result of each reason the analytics count. */
export const ruleset: Ruleset = {
  schemaVersion: 1,
  environment: 'web/prod',
  version: 3,
  segments: [],
  flags: [
    {
      key: 'banner',
      type: 'boolean',
      variants: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      enabled: true,
      targets: [{ variant: 'on', values: ['ann'] }],
      rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } }],
      defaultServe: { variant: 'off' },
      version: 3,
    },
  ],
};
