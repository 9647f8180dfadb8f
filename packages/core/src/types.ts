/**
 * The ruleset and its parts in their `schemaVersion: 1` JSON form: what the server serves at
 * `/sdk/v1/ruleset`, what SDKs cache, and what the conformance vectors are written in.
 */

export const SCHEMA_VERSION = 1;

export type FlagType = 'boolean' | 'string' | 'number' | 'json';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A value a flag can serve; its JavaScript type follows the flag's `type`. */
export type FlagValue = boolean | string | number | JsonValue;

export interface Variant {
  key: string;
  value: FlagValue;
}

/** The clause operators of the schema; what each means is in `operators.ts` (`SEMANTICS`). */
export const OPERATORS = [
  'in',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'before',
  'after',
  'semverEq',
  'semverLt',
  'semverGt',
  'inSegment',
] as const;

export type Operator = (typeof OPERATORS)[number];

export type ClauseValue = string | number | boolean;

/** Matches when any of `values` matches the context attribute; `negate` inverts the outcome. */
export interface Clause {
  attribute: string;
  op: Operator;
  values: ClauseValue[];
  negate?: boolean;
}

export interface WeightedVariant {
  variant: string;
  /** Thousandths of a percent: all weights of a rollout sum to 100 000. */
  weight: number;
}

export interface Rollout {
  /** Context attribute hashed into a bucket; defaults to `key`. */
  bucketBy?: string;
  weights: WeightedVariant[];
}

export type Serve = { variant: string } | { rollout: Rollout };

export interface Rule {
  id: string;
  description?: string;
  /** All clauses must match. */
  clauses: Clause[];
  serve: Serve;
}

export interface Prerequisite {
  flag: string;
  /** The prerequisite is met when that flag serves one of these variants. */
  variants: string[];
}

export interface Target {
  variant: string;
  /** Context keys served `variant`. */
  values: string[];
}

export type FlagMetadata = Record<string, string | number | boolean>;

/** A flag together with its configuration in one environment. */
export interface Flag {
  key: string;
  type: FlagType;
  variants: Variant[];
  clientSide?: boolean;
  metadata?: FlagMetadata;
  /** `false` means the flag is killed. */
  enabled: boolean;
  /** What a killed flag serves; without it the caller's default is served. */
  offVariant?: string;
  prerequisites?: Prerequisite[];
  targets?: Target[];
  rules?: Rule[];
  defaultServe: Serve;
  /** Bucketing salt; defaults to the flag key. */
  salt?: string;
  /** SDKs record an exposure the first time a context is served a variant of a measured flag (DESIGN §9). */
  measured?: boolean;
  version: number;
}

export interface SegmentRule {
  id: string;
  clauses: Clause[];
}

export interface Segment {
  key: string;
  /** Context keys always in the segment (unless excluded). */
  included?: string[];
  /** Context keys never in the segment; exclusion wins over inclusion and rules. */
  excluded?: string[];
  /** A context matching any rule is in the segment. */
  rules?: SegmentRule[];
  version: number;
}

export interface Ruleset {
  schemaVersion: typeof SCHEMA_VERSION;
  environment: string;
  version: number;
  flags: Flag[];
  segments: Segment[];
}

/** A change to one flag or segment; `value: null` deletes it. */
export type Patch =
  | { kind: 'flag'; key: string; version: number; value: Flag | null }
  | { kind: 'segment'; key: string; version: number; value: Segment | null };

export type ContextValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[];

/** Who a flag is evaluated for. `key` identifies the subject; other attributes feed the rules. */
export interface EvaluationContext {
  key?: string;
  [attribute: string]: ContextValue;
}
