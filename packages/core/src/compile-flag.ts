import { BUCKET_POINTS, type Hasher } from './bucket.js';
import { clauses, NONE } from './compile-segment.js';
import { bad, caught, list, nonEmpty, obj, str } from './config-error.js';
import { type CompiledFlag, type Result, Rollout, type Serve } from './flag-walk.js';
import type { CompiledClause } from './operators.js';
import type { Reason } from './reasons.js';
import type { FlagMetadata, FlagType, FlagValue } from './types.js';
import { exactly } from './v8-exact-arrays.js';
import { frozenResult } from './v8-in-object-results.js';

export const FLAG_TYPES: readonly FlagType[] = ['boolean', 'string', 'number', 'json'];

/** Compiles one flag; a configuration that cannot be evaluated gives a flag marked invalid. */
export function compileFlag(input: unknown, fallbackKey: string, hasher: Hasher): CompiledFlag {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const type = FLAG_TYPES.includes(raw.type as FlagType) ? (raw.type as FlagType) : undefined;
  const metadata = readMetadata(raw.metadata);
  let logic: Logic | undefined;
  let invalid = false;
  try {
    logic = compileLogic(raw, type, metadata, hasher);
  } catch (err) {
    invalid = caught(err);
  }
  // One literal with every field: each compiled flag gets the same in-object layout (as results
  // do, see v8-in-object-results.ts).
  return {
    key: typeof raw.key === 'string' ? raw.key : fallbackKey,
    type,
    version: typeof raw.version === 'number' ? raw.version : 0,
    clientSide: raw.clientSide === true,
    metadata,
    invalid,
    enabled: logic?.enabled === true,
    off: logic?.off,
    prerequisiteFailed: logic?.prerequisiteFailed,
    prerequisites: logic?.prerequisites,
    targets: logic?.targets,
    rules: logic?.rules ?? NONE,
    fallthrough: logic?.fallthrough,
    constant: logic?.constant,
  };
}

type Logic = ReturnType<typeof compileLogic>;

/** Makes every check `validate.ts` makes, without saying which one failed. */
function compileLogic(
  raw: Record<string, unknown>,
  type: FlagType | undefined,
  metadata: FlagMetadata | undefined,
  hasher: Hasher,
) {
  const key = nonEmpty(raw.key);
  const enabled = raw.enabled;
  if (type === undefined || typeof enabled !== 'boolean') bad();
  const values = variantValues(raw.variants, type);
  const variant = (name: unknown): string => (values.has(name as string) ? (name as string) : bad());
  const made = (name: unknown, reason: Reason, ruleId?: string) =>
    frozenResult(values.get(variant(name)), name as string, reason, ruleId, metadata);
  const salt = str(raw.salt ?? key);
  const order = [...values.keys()];
  const serve = (input: unknown, reason: Reason, ruleId?: string): Serve => {
    const what = obj(input);
    if ('variant' in what) return made(what.variant, reason, ruleId);
    const rollout = obj(what.rollout);
    const by = nonEmpty(rollout.bucketBy ?? 'key');
    const weights = rolloutWeights(rollout.weights, variant);
    return rolloutOf(by, order, weights, salt, hasher, (name) => made(name, 'SPLIT', ruleId));
  };

  const off = raw.offVariant === undefined ? undefined : made(raw.offVariant, 'DISABLED');
  const prerequisites = optionalList(raw.prerequisites)?.map((p) => {
    const { flag, variants } = (p ?? {}) as Record<string, unknown>;
    return { flag: str(flag), variants: list(variants).map(str) };
  });
  const targets = compileTargets(raw.targets, made);
  const rules = list(raw.rules ?? []).flatMap((input) => {
    const rule = obj(input);
    const id = nonEmpty(rule.id);
    return [clauses(rule.clauses), serve(rule.serve, 'TARGETING_MATCH', id)];
  });
  const dynamic = prerequisites !== undefined || targets !== undefined || rules.length > 0;
  const fallthrough = serve(raw.defaultServe, dynamic ? 'DEFAULT' : 'STATIC');
  return {
    enabled,
    off,
    prerequisiteFailed:
      off?.variant === undefined || prerequisites === undefined ? undefined : made(off.variant, 'PREREQUISITE_FAILED'),
    prerequisites,
    targets,
    rules: rules.length === 0 ? NONE : exactly(rules),
    fallthrough,
    constant: !enabled ? off : dynamic || fallthrough instanceof Rollout ? undefined : fallthrough,
  };
}

/** The clauses of each rule of a flag, for telling which segments it names. */
export function ruleClauses(flag: CompiledFlag): (readonly CompiledClause[])[] {
  return flag.rules.filter((_, i) => i % 2 === 0) as (readonly CompiledClause[])[];
}

/** Whether a value may be served by a flag of `type`. */
export function valueHasType(value: unknown, type: FlagType): boolean {
  // The other types are typeof names; a number must also be finite.
  if (type === 'json') return value !== undefined;
  return typeof value === type && (type !== 'number' || Number.isFinite(value));
}

function variantValues(input: unknown, type: FlagType): Map<string, FlagValue> {
  const values = new Map<string, FlagValue>();
  for (const v of list(input)) {
    const { key, value } = obj(v);
    if (values.has(nonEmpty(key)) || !valueHasType(value, type)) bad();
    values.set(key as string, frozenCopy(value as FlagValue));
  }
  return values.size === 0 ? bad() : values;
}

function optionalList(input: unknown): unknown[] | undefined {
  // null reads as none: JSON writers often send null for an empty field.
  if (input === undefined || input === null) return undefined;
  const items = list(input);
  return items.length === 0 ? undefined : items;
}

function compileTargets(
  input: unknown,
  made: (name: unknown, reason: Reason) => Result,
): Map<string, Result> | undefined {
  const items = optionalList(input);
  if (items === undefined) return undefined;
  const targets = new Map<string, Result>();
  for (const t of items) {
    const { variant, values } = (t ?? {}) as Record<string, unknown>;
    const result = made(variant, 'TARGETING_MATCH');
    // The first target naming a key wins, as it is listed first.
    for (const k of list(values)) if (!targets.has(str(k))) targets.set(k as string, result);
  }
  return targets;
}

function rolloutWeights(input: unknown, variant: (name: unknown) => string): Map<string, number> {
  const weights = new Map<string, number>();
  let total = 0;
  for (const w of list(input)) {
    const name = variant((w as { variant?: unknown } | undefined)?.variant);
    const weight = (w as { weight?: unknown }).weight;
    if (weights.has(name) || !Number.isInteger(weight) || (weight as number) < 0) bad();
    weights.set(name, weight as number);
    total += weight as number;
  }
  return total === BUCKET_POINTS ? weights : bad();
}

/**
 * Buckets laid out in the flag's variant order, whatever order the weights are listed in, so
 * that raising one variant's weight only ever moves contexts onto it. Zero weights take no
 * bucket. A single bucket needs no hashing and compiles to its plain result.
 */
function rolloutOf(
  by: string,
  order: readonly string[],
  weights: ReadonlyMap<string, number>,
  salt: string,
  hasher: Hasher,
  made: (variant: string) => Result,
): Rollout | Result {
  const buckets: (number | Result)[] = [];
  let cumulative = 0;
  let unbucketed: Result | undefined;
  let largest = -1;
  for (const name of order) {
    const weight = weights.get(name) ?? 0;
    if (weight === 0) continue;
    cumulative += weight;
    const result = made(name);
    buckets.push(cumulative, result);
    if (weight > largest) {
      unbucketed = result;
      largest = weight;
    }
  }
  if (buckets.length === 2) return unbucketed as Result;
  return new Rollout(by, exactly(buckets), unbucketed as Result, hasher.salt(salt));
}

function readMetadata(input: unknown): Readonly<FlagMetadata> | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const out: FlagMetadata = {};
  let any = false;
  for (const [k, v] of Object.entries(input)) {
    if (k === '__proto__') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[k] = v;
      any = true;
    }
  }
  return any ? Object.freeze(out) : undefined;
}

/**
 * Served values are shared by every evaluation, so a caller must not be able to change them;
 * a copy keeps the caller's own ruleset objects unfrozen.
 */
export function frozenCopy<T>(value: T): T {
  // The reviver sees every value, innermost first; freezing a primitive leaves it as it is.
  return typeof value === 'object' && value !== null
    ? (JSON.parse(JSON.stringify(value), (_key, v) => Object.freeze(v)) as T)
    : value;
}
