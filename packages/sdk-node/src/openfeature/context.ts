import type { EvaluationContext as OpenFeatureContext } from '@openfeature/server-sdk';
import type { ContextValue, EvaluationContext } from '@switchyard/core';

export class InvalidContext extends Error {}

type Scalar = string | number | boolean;

const scalar = (v: unknown): Scalar | undefined =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? v
    : v instanceof Date
      ? v.toISOString()
      : undefined;

/**
 * An OpenFeature context as a Switchyard context: `targetingKey` becomes `key`; dates become
 * ISO-8601 strings (what date clauses read); lists keep their scalar elements; nested
 * structures are left out, since no clause can read them (an absent attribute, as the engine
 * says). A `targetingKey` that is not a string is refused with `INVALID_CONTEXT`.
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
    // An own `__proto__` attribute is data here, as the engine treats it; plain assignment would
    // set the prototype instead.
    if (name === '__proto__') Object.defineProperty(out, name, { value: mapped, enumerable: true, writable: true });
    else out[name] = mapped;
  }
  const targetingKey: unknown = context.targetingKey;
  if (targetingKey !== undefined) {
    if (typeof targetingKey !== 'string') {
      throw new InvalidContext(
        `targetingKey must be a string, not ${targetingKey === null ? 'null' : typeof targetingKey}`,
      );
    }
    out.key = targetingKey;
  }
  return out;
}
