import { type FeatureDefinition, type FeatureRule, GrowthBookClient, type UserContext } from '@growthbook/growthbook';
import type { CreateImplementation } from './implementation.js';
import { ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from './scenario.js';

/** A rule forcing "on" for a share of contexts, hashed on `id` with the flag key as seed. */
function rollout(percent: number): FeatureRule<boolean> {
  return { force: true, coverage: percent / 100, hashAttribute: 'id' };
}

function when(condition: FeatureRule['condition']): FeatureRule<boolean> {
  return condition === undefined ? { force: true } : { condition, force: true };
}

/** GrowthBook has no ends-with operator: a regex anchored at the end is its way to say it. */
function endsWith(suffix: string): string {
  return `${suffix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

export const growthbookFeatures: Record<string, FeatureDefinition<boolean>> = {
  [STATIC_FLAG.key]: { defaultValue: true },
  [ROLLOUT_FLAG.key]: { defaultValue: false, rules: [rollout(ROLLOUT_FLAG.percent)] },
  [RULES_FLAG.key]: {
    defaultValue: false,
    rules: [
      when({ country: { $in: [...RULES_FLAG.pilotCountries] } }),
      when({ email: { $regex: endsWith(RULES_FLAG.staffEmailSuffix) } }),
      when({ appVersion: { $vgt: RULES_FLAG.appVersionAbove } }),
      when({ orders: { $gt: RULES_FLAG.ordersAbove } }),
      rollout(RULES_FLAG.percent),
    ],
  },
};

/**
 * The multi-user `GrowthBookClient` (GrowthBook's server-side client) loaded with `initSync`,
 * no client key, no streaming and no polling, so it never touches the network. Each call passes
 * the context's prepared `UserContext`: a synchronous evaluation with no per-context instance,
 * which is cheaper than `new GrowthBook({attributes})` per context and, unlike the single-user
 * `GrowthBook#setAttributes` (async, re-renders), correct for concurrent requests.
 */
export const createGrowthbook: CreateImplementation = async (contexts) => {
  const client = new GrowthBookClient().initSync({ payload: { features: growthbookFeatures } });
  const inputs: UserContext[] = contexts.map((c) => ({ attributes: { id: c.key, ...c } }));
  const flag = (key: string) => (i: number) => client.isOn(key, inputs[i] as UserContext);
  return {
    name: '@growthbook/growthbook',
    async: false,
    notes:
      '`new GrowthBookClient().initSync({payload: {features}})` (no client key, no streaming or polling); ' +
      '`client.isOn(key, {attributes})` with a prepared user context per context. Rules are force rules ' +
      'with conditions (`$in`, `$regex` anchored at the end, `$vgt`, `$gt`); rollouts are force rules ' +
      'with `coverage` hashed on `id`.',
    flags: { a: flag(STATIC_FLAG.key), b: flag(ROLLOUT_FLAG.key), c: flag(RULES_FLAG.key) },
    close() {
      client.destroy();
    },
  };
};
