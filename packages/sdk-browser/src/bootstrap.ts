import type { Flag, FlagType, FlagValue, Ruleset } from '@switchyard/core';

/**
 * What `bootstrap` takes: a whole client view of a ruleset, or the values a server computed for
 * this page's user, as the Node SDK's `allFlags(context, {clientSideOnly: true})` returns them.
 */
export type Bootstrap = Ruleset | Readonly<Record<string, FlagValue>>;

/** The variant key bootstrapped values are served under until the server's ruleset arrives. */
export const BOOTSTRAP_VARIANT = 'bootstrap';

/**
 * A ruleset to compile. Values become flags that serve that one value to everyone (`STATIC`),
 * which is what they are: already evaluated for this page's context. A JSON flag whose value is
 * a string, number or boolean is typed after its value (`allFlags` does not say). A ruleset is
 * recognised by its `schemaVersion`, which no flag key can spell (keys are lower case).
 */
export function bootstrapRuleset(bootstrap: Bootstrap): Ruleset {
  if ('schemaVersion' in bootstrap) return bootstrap as Ruleset;
  const flags = Object.entries(bootstrap).map(
    ([key, value]): Flag => ({
      key,
      // JSON values are objects, arrays and null; the other values are typed by `typeof`.
      type: (typeof value === 'object' ? 'json' : typeof value) as FlagType,
      variants: [{ key: BOOTSTRAP_VARIANT, value }],
      enabled: true,
      defaultServe: { variant: BOOTSTRAP_VARIANT },
      version: 0,
    }),
  );
  return { schemaVersion: 1, environment: BOOTSTRAP_VARIANT, version: 0, flags, segments: [] };
}
