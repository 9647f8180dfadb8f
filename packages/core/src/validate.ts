import { BUCKET_POINTS } from './bucket.js';
import { FLAG_TYPES, valueHasType } from './compile-flag.js';
import { ConfigError } from './config-error.js';
import { MAX_REGEX_LENGTH, SEMANTICS } from './operators.js';
import { type FlagType, OPERATORS, type Operator } from './types.js';

// The engine's compilers make these same checks tersely (a browser bundle has no room for the
// messages); here each failure says what is wrong and where, for the server to answer with.
// Both stop at the first failure, and a property test holds them to the same verdict.

const NON_EMPTY = 'must be a non-empty array';

type Fields = Record<string, unknown>;

/** Throws a {@link ConfigError} for the first problem of a flag, in the order the flag is read. */
export function validateFlag(input: unknown): void {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Fields;
  const key = raw.key;
  if (typeof key !== 'string' || key === '') throw new ConfigError('must be a non-empty string', 'key');
  const type = raw.type as FlagType;
  if (!FLAG_TYPES.includes(type)) throw new ConfigError(`must be one of ${FLAG_TYPES.join(', ')}`, 'type');
  if (typeof raw.enabled !== 'boolean') throw new ConfigError('must be a boolean', 'enabled');
  const variants = variantKeys(raw.variants, type);
  const variant = (name: unknown, path: string): string => {
    if (typeof name !== 'string' || !variants.has(name)) {
      throw new ConfigError(`unknown variant ${JSON.stringify(name)}`, path);
    }
    return name;
  };
  if (typeof (raw.salt ?? key) !== 'string') throw new ConfigError('must be a string', 'salt');
  if (raw.offVariant !== undefined) variant(raw.offVariant, 'offVariant');
  if (raw.measured !== undefined && typeof raw.measured !== 'boolean')
    throw new ConfigError('must be a boolean', 'measured');
  optionalList(raw.prerequisites, 'prerequisites')?.forEach((p, i) => {
    const path = `prerequisites[${i}]`;
    const { flag, variants: names } = (p ?? {}) as Fields;
    if (typeof flag !== 'string') throw new ConfigError('must be a flag key', `${path}.flag`);
    const message = 'must be an array of variant keys';
    if (list(names, `${path}.variants`, message).some((v) => typeof v !== 'string')) {
      throw new ConfigError(message, `${path}.variants`);
    }
  });
  optionalList(raw.targets, 'targets')?.forEach((t, i) => {
    const { variant: name, values } = (t ?? {}) as Fields;
    variant(name, `targets[${i}].variant`);
    list(values, `targets[${i}].values`).forEach((k, j) => {
      if (typeof k !== 'string') throw new ConfigError('must be a string', `targets[${i}].values[${j}]`);
    });
  });
  list(raw.rules ?? [], 'rules').forEach((rule, i) => {
    const path = `rules[${i}]`;
    if (typeof rule !== 'object' || rule === null) throw new ConfigError('must be an object', path);
    const { id, clauses, serve } = rule as Fields;
    if (typeof id !== 'string' || id === '') throw new ConfigError('must be a non-empty string', `${path}.id`);
    validateClauses(clauses, path);
    validateServe(serve, `${path}.serve`, variant);
  });
  validateServe(raw.defaultServe, 'defaultServe', variant);
}

/** Throws a {@link ConfigError} for the first problem of a segment. */
export function validateSegment(input: unknown): void {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Fields;
  for (const path of ['included', 'excluded']) {
    if (raw[path] === undefined) continue;
    list(raw[path], path, 'must be an array of context keys').forEach((k, i) => {
      if (typeof k !== 'string') throw new ConfigError('must be a string', `${path}[${i}]`);
    });
  }
  list(raw.rules ?? [], 'rules').forEach((rule, i) => {
    validateClauses((rule as { clauses?: unknown } | null)?.clauses, `rules[${i}]`);
  });
}

function variantKeys(input: unknown, type: FlagType): Set<string> {
  const items = list(input, 'variants', NON_EMPTY);
  if (items.length === 0) throw new ConfigError(NON_EMPTY, 'variants');
  const keys = new Set<string>();
  items.forEach((v, i) => {
    const path = `variants[${i}]`;
    const { key, value } = (v ?? {}) as Fields;
    if (typeof v !== 'object' || v === null || typeof key !== 'string' || key === '') {
      throw new ConfigError('must be an object with a non-empty string key', path);
    }
    if (keys.has(key)) throw new ConfigError(`duplicate variant ${JSON.stringify(key)}`, `${path}.key`);
    if (!valueHasType(value, type)) throw new ConfigError(`must be a ${type} value`, `${path}.value`);
    keys.add(key);
  });
  return keys;
}

function validateServe(input: unknown, path: string, variant: (name: unknown, path: string) => string): void {
  if (typeof input !== 'object' || input === null) throw new ConfigError('must be {variant} or {rollout}', path);
  if ('variant' in input) {
    variant(input.variant, `${path}.variant`);
    return;
  }
  const rollout = (input as Fields).rollout;
  if (typeof rollout !== 'object' || rollout === null) throw new ConfigError('must be {variant} or {rollout}', path);
  const { bucketBy, weights } = rollout as Fields;
  const by = bucketBy ?? 'key';
  if (typeof by !== 'string' || by === '') {
    throw new ConfigError('must be a non-empty string', `${path}.rollout.bucketBy`);
  }
  const at = `${path}.rollout.weights`;
  const items = list(weights, at, NON_EMPTY);
  if (items.length === 0) throw new ConfigError(NON_EMPTY, at);
  const seen = new Set<string>();
  let total = 0;
  items.forEach((w, i) => {
    const { variant: name, weight } = (w ?? {}) as Fields;
    if (seen.has(variant(name, `${at}[${i}].variant`))) {
      throw new ConfigError(`variant ${JSON.stringify(name)} appears twice`, `${at}[${i}].variant`);
    }
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
      throw new ConfigError('must be a non-negative integer (thousandths of a percent)', `${at}[${i}].weight`);
    }
    seen.add(name as string);
    total += weight;
  });
  if (total !== BUCKET_POINTS) throw new ConfigError(`weights sum to ${total}, not ${BUCKET_POINTS}`, at);
}

function validateClauses(input: unknown, path: string): void {
  list(input, `${path}.clauses`).forEach((c, i) => {
    validateClause(c, `${path}.clauses[${i}]`);
  });
}

function validateClause(clause: unknown, path: string): void {
  if (typeof clause !== 'object' || clause === null) throw new ConfigError('must be an object', path);
  const { attribute, op, values } = clause as Fields;
  if (!OPERATORS.includes(op as Operator))
    throw new ConfigError(`unknown operator ${JSON.stringify(op)}`, `${path}.op`);
  const items = list(values, `${path}.values`);
  if (op !== 'inSegment' && (typeof attribute !== 'string' || attribute === '')) {
    throw new ConfigError('must be a non-empty string', `${path}.attribute`);
  }
  items.forEach((v, i) => {
    const problem = valueProblem(op as Operator, v);
    if (problem !== undefined) throw new ConfigError(problem, `${path}.values[${i}]`);
  });
}

/**
 * What is wrong with a value of a clause with operator `op`, if anything. Whether a value is
 * wrong is the operator table's to say (`prepare`); this only puts it into words.
 */
function valueProblem(op: Operator, v: unknown): string | undefined {
  if (SEMANTICS[op].prepare(v) !== undefined) return undefined;
  switch (op) {
    case 'in':
      return 'must be a string, a finite number or a boolean';
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return 'must be a finite number';
    case 'before':
    case 'after':
      return 'must be an ISO-8601 date or epoch milliseconds';
  }
  if (typeof v !== 'string') return 'must be a string';
  if (op === 'matches') {
    if (v.length > MAX_REGEX_LENGTH) return `longer than ${MAX_REGEX_LENGTH} characters`;
    try {
      new RegExp(v, 'u');
    } catch (err) {
      return `not a valid regular expression: ${(err as Error).message}`;
    }
  }
  return `${JSON.stringify(v)} is not a semantic version`;
}

function optionalList(input: unknown, path: string): unknown[] | undefined {
  // null reads as none: JSON writers often send null for an empty field.
  if (input === undefined || input === null) return undefined;
  const items = list(input, path);
  return items.length === 0 ? undefined : items;
}

/** The items of an array, holes read as `undefined`: a sparse array must not skip its checks. */
function list(input: unknown, path: string, message = 'must be an array'): unknown[] {
  if (!Array.isArray(input)) throw new ConfigError(message, path);
  return Array.from(input);
}
