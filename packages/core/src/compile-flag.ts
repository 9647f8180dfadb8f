import { BUCKET_POINTS, utf8Bytes } from './bucket.js';
import { allOf, contextKey } from './compile-segment.js';
import { ConfigError } from './config-error.js';
import type { EvaluationResult, Reason } from './reasons.js';
import { type EvalScope, enter, leave, type Matcher } from './scope.js';
import type { EvaluationContext, Flag, FlagMetadata, FlagType, FlagValue, Serve } from './types.js';

export const FLAG_TYPES: readonly FlagType[] = ['boolean', 'string', 'number', 'json'];

export interface FlagScope extends EvalScope {
  readonly flags: Map<string, CompiledFlag>;
}

export type Result = EvaluationResult<unknown>;

/**
 * A flag ready to evaluate. `run` serves the flag's own logic; type checks, cycle reporting and
 * exception safety belong to the evaluator that calls it.
 */
export interface CompiledFlag {
  readonly key: string;
  readonly type: FlagType | undefined;
  readonly version: number;
  readonly definition: Flag;
  readonly metadata: Readonly<FlagMetadata> | undefined;
  /** Why the flag cannot be evaluated; it then always answers with `PARSE_ERROR`. */
  readonly error: string | undefined;
  /** Where in the flag the problem is, e.g. `rules[0].serve.rollout.weights`. */
  readonly errorPath?: string;
  run(context: EvaluationContext, defaultValue: unknown): Result;
}

type Resolver = (context: EvaluationContext) => Result;

/**
 * Compiles one flag. Every result that does not involve the caller's default is built here,
 * frozen, and shared, so an evaluation allocates nothing on its usual paths.
 */
export function compileFlag(input: unknown, fallbackKey: string, scope: FlagScope): CompiledFlag {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Flag;
  const key = typeof raw.key === 'string' ? raw.key : fallbackKey;
  const version = typeof raw.version === 'number' ? raw.version : 0;
  const type = FLAG_TYPES.includes(raw.type) ? raw.type : undefined;
  const metadata = readMetadata(raw.metadata);
  const base = { key, type, version, definition: raw, metadata };
  try {
    return { ...base, error: undefined, run: flagRunner(raw, key, type, metadata, scope) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      ...base,
      error: err.message,
      errorPath: err.path,
      run: (_context, defaultValue) => ({
        value: defaultValue,
        reason: 'ERROR',
        errorCode: 'PARSE_ERROR',
        errorMessage: err.message,
      }),
    };
  }
}

function flagRunner(
  flag: Flag,
  key: string,
  type: FlagType | undefined,
  metadata: Readonly<FlagMetadata> | undefined,
  scope: FlagScope,
): CompiledFlag['run'] {
  if (typeof flag.key !== 'string' || flag.key === '') throw new ConfigError('must be a non-empty string', 'key');
  if (type === undefined) throw new ConfigError(`must be one of ${FLAG_TYPES.join(', ')}`, 'type');
  if (typeof flag.enabled !== 'boolean') throw new ConfigError('must be a boolean', 'enabled');
  const variants = compileVariants(flag, type);
  const made = (variant: string, reason: Reason, ruleId?: string): Result =>
    frozenResult(variants.get(variant)?.value, variant, reason, ruleId, metadata);
  const variantAt = (name: unknown, path: string): string => {
    if (typeof name !== 'string' || !variants.has(name)) {
      throw new ConfigError(`unknown variant ${JSON.stringify(name)}`, path);
    }
    return name;
  };
  const salt = flag.salt === undefined ? key : flag.salt;
  if (typeof salt !== 'string') throw new ConfigError('must be a string', 'salt');
  const order = [...variants.keys()];
  const serve = (s: Serve, path: string, matchReason: Reason, ruleId?: string): Resolver =>
    compileServe(s, path, { order, salt, scope, variantAt, made, matchReason, ruleId });

  const offVariant =
    flag.offVariant === undefined ? undefined : made(variantAt(flag.offVariant, 'offVariant'), 'DISABLED');
  const prerequisiteOff =
    offVariant === undefined ? undefined : made(offVariant.variant as string, 'PREREQUISITE_FAILED');
  const prerequisites = compilePrerequisites(flag.prerequisites, scope);
  const targets = compileTargets(flag.targets, variantAt, made);
  const rules = flag.rules ?? [];
  if (!Array.isArray(rules)) throw new ConfigError('must be an array', 'rules');
  const compiledRules = rules.map((rule, i) => compileRule(rule, `rules[${i}]`, serve));
  const dynamic = prerequisites !== undefined || targets !== undefined || compiledRules.length > 0;
  const fallthrough = serve(flag.defaultServe, 'defaultServe', dynamic ? 'DEFAULT' : 'STATIC');

  if (!flag.enabled) {
    return (_context, defaultValue) => offVariant ?? withDefault(defaultValue, 'DISABLED', metadata);
  }
  if (!dynamic) return fallthrough;
  return (context, defaultValue) => {
    if (prerequisites !== undefined && !prerequisites(context)) {
      return prerequisiteOff ?? withDefault(defaultValue, 'PREREQUISITE_FAILED', metadata);
    }
    if (targets !== undefined) {
      const k = contextKey(context);
      const targeted = k === undefined ? undefined : targets.get(k);
      if (targeted !== undefined) return targeted;
    }
    for (const rule of compiledRules) {
      if (rule.matches(context, scope)) return rule.resolve(context);
    }
    return fallthrough(context);
  };
}

function compileVariants(flag: Flag, type: FlagType): Map<string, { value: FlagValue }> {
  if (!Array.isArray(flag.variants) || flag.variants.length === 0) {
    throw new ConfigError('must be a non-empty array', 'variants');
  }
  const variants = new Map<string, { value: FlagValue }>();
  flag.variants.forEach((v, i) => {
    const path = `variants[${i}]`;
    if (typeof v !== 'object' || v === null || typeof v.key !== 'string' || v.key === '') {
      throw new ConfigError('must be an object with a non-empty string key', path);
    }
    if (variants.has(v.key)) throw new ConfigError(`duplicate variant ${JSON.stringify(v.key)}`, `${path}.key`);
    if (!valueHasType(v.value, type)) throw new ConfigError(`must be a ${type} value`, `${path}.value`);
    variants.set(v.key, { value: frozenCopy(v.value) });
  });
  return variants;
}

/** Whether a value may be served by a flag of `type`. */
export function valueHasType(value: unknown, type: FlagType): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'json':
      return value !== undefined;
  }
}

interface ServeContext {
  order: string[];
  salt: string;
  scope: EvalScope;
  variantAt: (name: unknown, path: string) => string;
  made: (variant: string, reason: Reason, ruleId?: string) => Result;
  /** Reason for a fixed variant: TARGETING_MATCH in a rule, DEFAULT or STATIC as the fallthrough. */
  matchReason: Reason;
  ruleId: string | undefined;
}

function compileServe(serve: Serve, path: string, c: ServeContext): Resolver {
  if (typeof serve !== 'object' || serve === null) throw new ConfigError('must be {variant} or {rollout}', path);
  if ('variant' in serve) {
    const result = c.made(c.variantAt(serve.variant, `${path}.variant`), c.matchReason, c.ruleId);
    return () => result;
  }
  if (!('rollout' in serve) || typeof serve.rollout !== 'object' || serve.rollout === null) {
    throw new ConfigError('must be {variant} or {rollout}', path);
  }
  return compileRollout(serve.rollout, `${path}.rollout`, c);
}

function compileRollout(rollout: { bucketBy?: string; weights: unknown }, path: string, c: ServeContext): Resolver {
  const bucketBy = rollout.bucketBy ?? 'key';
  if (typeof bucketBy !== 'string' || bucketBy === '')
    throw new ConfigError('must be a non-empty string', `${path}.bucketBy`);
  const { bounds, results, unbucketed } = rolloutLayout(rollout.weights, `${path}.weights`, c);
  if (results.length === 1) return () => unbucketed;
  return bucketer(bucketBy, bounds, results, unbucketed, c.salt, c.scope);
}

/**
 * The resolver of a rollout, made in a function of its own: a closure keeps alive every
 * variable of the function it is made in, and the compile-time maps and paths must not stay in
 * memory for as long as the flag does.
 */
function bucketer(
  bucketBy: string,
  bounds: number[],
  results: Result[],
  unbucketed: Result,
  salt: string,
  scope: EvalScope,
): Resolver {
  // The salt is encoded once here. A salt ending in half a surrogate pair would pair up with the
  // value's first code unit in utf8(salt + value), so such a salt is hashed as a string instead.
  const last = salt.charCodeAt(salt.length - 1);
  const saltBytes = last >= 0xd800 && last <= 0xdbff ? undefined : utf8Bytes(salt);
  return (context) => {
    const value = context[bucketBy];
    let input: string;
    if (typeof value === 'string') input = value;
    else if (typeof value === 'number' || typeof value === 'boolean') input = String(value);
    // Without the attribute a context cannot be bucketed; it gets what most contexts get.
    else return unbucketed;
    const point =
      saltBytes === undefined ? scope.hasher.point(NO_BYTES, salt + input) : scope.hasher.point(saltBytes, input);
    for (let i = 0; i < bounds.length; i++) if ((bounds[i] as number) > point) return results[i] as Result;
    return unbucketed;
  };
}

const NO_BYTES = new Uint8Array(0);

/**
 * Buckets laid out in the flag's variant order, whatever order the weights are listed in, so
 * that raising one variant's weight only ever moves contexts onto it. Zero weights take no
 * bucket; a context that cannot be bucketed gets the largest weight (the first on a tie).
 */
function rolloutLayout(weights: unknown, path: string, c: ServeContext) {
  if (!Array.isArray(weights) || weights.length === 0) throw new ConfigError('must be a non-empty array', path);
  const weightOf = new Map<string, number>();
  let total = 0;
  for (const [i, w] of (weights as { variant?: unknown; weight?: unknown }[]).entries()) {
    const at = `${path}[${i}]`;
    const variant = c.variantAt(w?.variant, `${at}.variant`);
    if (weightOf.has(variant))
      throw new ConfigError(`variant ${JSON.stringify(variant)} appears twice`, `${at}.variant`);
    const weight = w.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
      throw new ConfigError('must be a non-negative integer (thousandths of a percent)', `${at}.weight`);
    }
    weightOf.set(variant, weight);
    total += weight;
  }
  if (total !== BUCKET_POINTS) throw new ConfigError(`weights sum to ${total}, not ${BUCKET_POINTS}`, path);
  const bounds: number[] = [];
  const results: Result[] = [];
  let cumulative = 0;
  let unbucketed: Result | undefined;
  let largest = -1;
  for (const variant of c.order) {
    const weight = weightOf.get(variant) ?? 0;
    if (weight === 0) continue;
    cumulative += weight;
    const result = c.made(variant, 'SPLIT', c.ruleId);
    bounds.push(cumulative);
    results.push(result);
    if (weight > largest) {
      unbucketed = result;
      largest = weight;
    }
  }
  return { bounds, results, unbucketed: unbucketed as Result };
}

function compileRule(
  rule: { id?: unknown; clauses?: unknown; serve?: unknown },
  path: string,
  serve: (s: Serve, path: string, reason: Reason, ruleId?: string) => Resolver,
): { matches: Matcher; resolve: Resolver } {
  if (typeof rule !== 'object' || rule === null) throw new ConfigError('must be an object', path);
  if (typeof rule.id !== 'string' || rule.id === '') throw new ConfigError('must be a non-empty string', `${path}.id`);
  return {
    matches: allOf(rule.clauses, path),
    resolve: serve(rule.serve as Serve, `${path}.serve`, 'TARGETING_MATCH', rule.id),
  };
}

function compilePrerequisites(
  list: Flag['prerequisites'],
  scope: FlagScope,
): ((context: EvaluationContext) => boolean) | undefined {
  // null reads as none, as it does for rules: JSON writers often send null for an empty field.
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new ConfigError('must be an array', 'prerequisites');
  if (list.length === 0) return undefined;
  const checks = list.map((p, i) => {
    const path = `prerequisites[${i}]`;
    if (typeof p?.flag !== 'string') throw new ConfigError('must be a flag key', `${path}.flag`);
    if (!Array.isArray(p.variants) || p.variants.some((v) => typeof v !== 'string')) {
      throw new ConfigError('must be an array of variant keys', `${path}.variants`);
    }
    return { flag: p.flag, variants: new Set(p.variants) };
  });
  return (context) => {
    for (const check of checks) {
      const flag = scope.flags.get(check.flag);
      if (flag === undefined || !enter(scope, check.flag)) return false;
      const result = flag.run(context, undefined);
      leave(scope);
      // A prerequisite that is killed, failed its own prerequisites or errored is not met,
      // whatever value it fell back to.
      const served =
        result.reason === 'DISABLED' || result.reason === 'PREREQUISITE_FAILED' || result.reason === 'ERROR';
      if (served || result.variant === undefined || !check.variants.has(result.variant)) return false;
    }
    return true;
  };
}

function compileTargets(
  list: Flag['targets'],
  variantAt: (name: unknown, path: string) => string,
  made: (variant: string, reason: Reason) => Result,
): Map<string, Result> | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new ConfigError('must be an array', 'targets');
  if (list.length === 0) return undefined;
  const targets = new Map<string, Result>();
  list.forEach((t, i) => {
    const result = made(variantAt(t?.variant, `targets[${i}].variant`), 'TARGETING_MATCH');
    if (!Array.isArray(t.values)) throw new ConfigError('must be an array of context keys', `targets[${i}].values`);
    t.values.forEach((k, j) => {
      if (typeof k !== 'string') throw new ConfigError('must be a string', `targets[${i}].values[${j}]`);
      // The first target naming a key wins, as it is listed first.
      if (!targets.has(k)) targets.set(k, result);
    });
  });
  return targets;
}

function frozenResult(
  value: FlagValue | undefined,
  variant: string,
  reason: Reason,
  ruleId: string | undefined,
  metadata: Readonly<FlagMetadata> | undefined,
): Result {
  const result: { -readonly [K in keyof Result]: Result[K] } = { value, variant, reason };
  if (ruleId !== undefined) result.ruleId = ruleId;
  if (metadata !== undefined) result.flagMetadata = metadata;
  return Object.freeze(result);
}

function withDefault(value: unknown, reason: Reason, metadata: Readonly<FlagMetadata> | undefined): Result {
  return metadata === undefined ? { value, reason } : { value, reason, flagMetadata: metadata };
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
function frozenCopy(value: FlagValue): FlagValue {
  return typeof value === 'object' && value !== null
    ? deepFreeze(JSON.parse(JSON.stringify(value)) as FlagValue)
    : value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
