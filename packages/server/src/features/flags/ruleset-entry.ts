import type { Flag } from '@switchyard/core';
import type { ConfigFields, FlagRow } from './store.js';

/** A flag and its configuration in one environment, in the ruleset's JSON form (schemaVersion 1). */
export function toRulesetFlag(flag: FlagRow, config: ConfigFields & { version: number }): Flag {
  const out: Flag = {
    key: flag.key,
    type: flag.type,
    variants: flag.variants,
    enabled: config.enabled,
    defaultServe: config.defaultServe,
    version: config.version,
  };
  if (flag.clientSide) out.clientSide = true;
  if (Object.keys(flag.metadata).length > 0) out.metadata = flag.metadata;
  if (config.offVariant !== null) out.offVariant = config.offVariant;
  if (config.prerequisites.length > 0) out.prerequisites = config.prerequisites;
  if (config.targets.length > 0) out.targets = config.targets;
  if (config.rules.length > 0) out.rules = config.rules;
  if (config.salt !== null) out.salt = config.salt;
  return out;
}

/** What a new flag serves in every environment until someone configures it: off, and safe. */
export function initialConfig(flag: Pick<FlagRow, 'type' | 'variants'>): ConfigFields {
  const first = flag.variants[0]?.key as string;
  const isBoolean = flag.type === 'boolean';
  return {
    enabled: false,
    offVariant: isBoolean ? 'off' : first,
    prerequisites: [],
    targets: [],
    rules: [],
    defaultServe: { variant: isBoolean ? 'on' : first },
    salt: null,
  };
}
