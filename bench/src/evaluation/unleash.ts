import { once } from 'node:events';
import { type ClientFeaturesResponse, type Context, InMemStorageProvider, Unleash } from 'unleash-client';
import { type Constraint, Operator } from 'unleash-client/lib/strategy/strategy.js';
import type { CreateImplementation } from './implementation.js';
import { ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from './scenario.js';

type Feature = ClientFeaturesResponse['features'][number];
type StrategyDefinition = NonNullable<Feature['strategies']>[number];

/** Unleash's built-in "standard" strategy: on, unless its constraints fail. */
function on(constraints: Constraint[] = []): StrategyDefinition {
  return { name: 'default', parameters: {}, constraints };
}

/** Unleash's gradual rollout, sticky on `userId`, grouped by flag so each flag buckets on its own. */
function rollout(flag: string, percent: number): StrategyDefinition {
  return {
    name: 'flexibleRollout',
    parameters: { rollout: String(percent), stickiness: 'default', groupId: flag },
    constraints: [],
  };
}

/** Unleash's list operators (IN, STR_*) read `values`; its single-value ones (NUM_*, SEMVER_*) read `value`. */
function listConstraint(contextName: string, operator: Operator, values: string[]): Constraint {
  return { contextName, operator, values, inverted: false };
}

function valueConstraint(contextName: string, operator: Operator, value: string): Constraint {
  return { contextName, operator, values: [], value, inverted: false };
}

/**
 * Strategies are alternatives (a flag is on when any strategy is on), which for flags whose rules
 * all serve "on" is the same as Switchyard's first-matching-rule order.
 */
export const unleashFeatures: Feature[] = [
  { name: STATIC_FLAG.key, enabled: true, strategies: [on()] },
  { name: ROLLOUT_FLAG.key, enabled: true, strategies: [rollout(ROLLOUT_FLAG.key, ROLLOUT_FLAG.percent)] },
  {
    name: RULES_FLAG.key,
    enabled: true,
    strategies: [
      on([listConstraint('country', Operator.IN, [...RULES_FLAG.pilotCountries])]),
      on([listConstraint('email', Operator.STR_ENDS_WITH, [RULES_FLAG.staffEmailSuffix])]),
      on([valueConstraint('appVersion', Operator.SEMVER_GT, RULES_FLAG.appVersionAbove)]),
      on([valueConstraint('orders', Operator.NUM_GT, String(RULES_FLAG.ordersAbove))]),
      rollout(RULES_FLAG.key, RULES_FLAG.percent),
    ],
  },
];

/**
 * Offline: the features come from `bootstrap.data`, `refreshInterval: 0` turns polling off (the
 * client then never fetches), `disableMetrics` turns the metrics reporter off, and the backup goes
 * to memory instead of a file. The URL is required by the constructor but never contacted.
 */
export const createUnleash: CreateImplementation = async (contexts) => {
  const unleash = new Unleash({
    appName: 'switchyard-bench',
    url: 'http://127.0.0.1:1/api/',
    refreshInterval: 0,
    disableMetrics: true,
    bootstrap: { data: unleashFeatures },
    storageProvider: new InMemStorageProvider<ClientFeaturesResponse>(),
    skipInstanceCountWarning: true,
  });
  // `once` rejects if the client emits `error` first.
  await once(unleash, 'ready');
  const inputs: Context[] = contexts.map((c) => {
    const properties: NonNullable<Context['properties']> = { email: c.email, country: c.country, orders: c.orders };
    if (c.appVersion !== undefined) properties.appVersion = c.appVersion;
    return { userId: c.key, properties };
  });
  const flag = (key: string) => (i: number) => unleash.isEnabled(key, inputs[i], false);
  return {
    name: 'unleash-client',
    async: false,
    notes:
      'Bootstrapped from in-memory `bootstrap.data`, `refreshInterval: 0` (no fetch), `disableMetrics: true`, ' +
      '`InMemStorageProvider`; `unleash.isEnabled(key, {userId, properties}, false)`. Rules are `default` ' +
      'strategies with one constraint each (IN, STR_ENDS_WITH, SEMVER_GT, NUM_GT); rollouts are ' +
      '`flexibleRollout` with `groupId` = flag key, sticky on `userId`.',
    flags: { a: flag(STATIC_FLAG.key), b: flag(ROLLOUT_FLAG.key), c: flag(RULES_FLAG.key) },
    close() {
      unleash.destroy();
    },
  };
};
