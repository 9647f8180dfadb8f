import type { ContextValue, EvaluationContext } from '../types.js';

/** An OpenFeature evaluation context, structurally: the core depends on no OpenFeature package. */
export type OpenFeatureContext = Readonly<Record<string, unknown>>;

/** The context cannot be evaluated; a provider answers `INVALID_CONTEXT` with this message. */
export class InvalidContextError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidContextError';
  }
}

type Scalar = string | number | boolean;

const scalar = (v: unknown): Scalar | undefined =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? v
    : v instanceof Date
      ? v.toISOString()
      : undefined;

/**
 * An OpenFeature context as a Switchyard context, the one mapping both OpenFeature providers
 * (server and web) use:
 *
 * - `targetingKey` becomes `key`. One that is present but not a string throws
 *   `InvalidContextError`, which a provider answers with `INVALID_CONTEXT` (OpenFeature says the
 *   targeting key is a string; guessing what a number or an object meant would bucket users
 *   differently from one SDK to the next);
 * - a `Date` becomes an ISO-8601 string: what `before`/`after` read, and, unlike epoch
 *   milliseconds, also what `in`, `startsWith` or `matches` would compare with a date a rule
 *   author typed. A `Date` whose `toISOString` throws (an invalid date) propagates;
 * - a list keeps its scalar elements (and dates, as above);
 * - `null` stays `null` (absent, as the engine reads it); nested objects are left out, since no
 *   clause can read them;
 * - an own `__proto__` attribute stays data, never a prototype.
 */
export function toSwitchyardContext(context: OpenFeatureContext | undefined): EvaluationContext {
  const out: EvaluationContext = {};
  if (context === undefined || context === null) return out;
  for (const [name, value] of Object.entries(context)) {
    if (name === 'targetingKey') continue;
    let mapped: ContextValue;
    if (value === null) mapped = null;
    else if (Array.isArray(value)) mapped = value.map(scalar).filter((v): v is Scalar => v !== undefined);
    else mapped = scalar(value);
    if (mapped === undefined) continue;
    // Plain assignment of `__proto__` would set the prototype instead.
    if (name === '__proto__') Object.defineProperty(out, name, { value: mapped, enumerable: true, writable: true });
    else out[name] = mapped;
  }
  const targetingKey = context.targetingKey;
  if (targetingKey !== undefined) {
    if (typeof targetingKey !== 'string') {
      throw new InvalidContextError(
        `targetingKey must be a string, not ${targetingKey === null ? 'null' : typeof targetingKey}`,
      );
    }
    out.key = targetingKey;
  }
  return out;
}
