import type { EvaluationContext as OpenFeatureContext } from '@openfeature/web-sdk';
import type { ContextValue, EvaluationContext } from '@switchyard/core';

const attribute = (value: unknown): unknown =>
  value instanceof Date ? value.getTime() : Array.isArray(value) ? value.map(attribute) : value;

/**
 * An OpenFeature context as a Switchyard context: `targetingKey` becomes `key`, dates become
 * epoch milliseconds (what `before`/`after` compare), everything else is passed as it is (the
 * engine treats nested objects as absent). Built with `Object.fromEntries`, so an attribute named
 * `__proto__` stays an attribute.
 */
export function toSwitchyardContext(context: OpenFeatureContext = {}): EvaluationContext {
  const { targetingKey, ...attributes } = context;
  const out = Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, attribute(value)])) as Record<
    string,
    ContextValue
  >;
  if (typeof targetingKey === 'string') out.key = targetingKey;
  return out;
}
