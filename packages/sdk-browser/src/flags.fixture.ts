import type { Flag } from '@switchyard/core';

/** A client-side boolean flag for the browser SDK's tests; it serves `off` unless told otherwise. */
export const clientFlag = (key: string, extra: Partial<Flag> = {}): Flag => ({
  key,
  type: 'boolean',
  variants: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
  clientSide: true,
  enabled: true,
  defaultServe: { variant: 'off' },
  version: 1,
  ...extra,
});
