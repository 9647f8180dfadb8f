import type {
  Flag,
  FlagMetadata,
  FlagType,
  Prerequisite,
  Rule,
  Segment,
  SegmentRule,
  Serve,
  Target,
  Variant,
} from '@switchyard/core';

/** What a flag's ruleset entry takes from the flag itself, the same in every environment. */
export interface FlagDefinition {
  key: string;
  type: FlagType;
  variants: Variant[];
  clientSide: boolean;
  metadata: FlagMetadata;
}

/** What it takes from the flag's configuration in one environment. */
export interface FlagConfiguration {
  enabled: boolean;
  offVariant: string | null;
  prerequisites: Prerequisite[];
  targets: Target[];
  rules: Rule[];
  defaultServe: Serve;
  salt: string | null;
  measured: boolean;
  version: number;
}

export interface SegmentDefinition {
  key: string;
  version: number;
  included: string[];
  excluded: string[];
  rules: SegmentRule[];
}

/** A flag and its configuration in one environment, in the ruleset's JSON form (schemaVersion 1). */
export function toRulesetFlag(flag: FlagDefinition, config: FlagConfiguration): Flag {
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
  if (config.measured) out.measured = true;
  return out;
}

/** A segment in the ruleset's JSON form (schemaVersion 1). */
export function toRulesetSegment(s: SegmentDefinition): Segment {
  const out: Segment = { key: s.key, version: s.version };
  if (s.included.length > 0) out.included = s.included;
  if (s.excluded.length > 0) out.excluded = s.excluded;
  if (s.rules.length > 0) out.rules = s.rules;
  return out;
}
