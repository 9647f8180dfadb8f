import type { ConfigFields, FlagRow } from './store.js';

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
    measured: false,
  };
}
