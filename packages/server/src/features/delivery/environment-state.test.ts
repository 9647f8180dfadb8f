import type { Flag, Ruleset } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { EnvironmentState } from './environment-state.js';

const flag = (key: string, extra: Partial<Flag> = {}): Flag => ({
  key,
  type: 'boolean',
  variants: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
  clientSide: true,
  enabled: true,
  defaultServe: { variant: 'on' },
  version: 1,
  ...extra,
});

describe('the client view an environment serves', () => {
  // The API refuses such a flag; one stored before a check existed must still reach browsers as an error.
  const broken = flag('broken', { defaultServe: { variant: 'nope' }, metadata: { owner: 'web' } });
  const state = () =>
    new EnvironmentState({
      environmentId: 'env',
      name: 'web/prod',
      version: 1,
      flags: [flag('fine'), broken, flag('server-only', { clientSide: false })],
      segments: [],
    });

  it('marks a flag browsers cannot evaluate invalid, and keeps the others as stored', () => {
    const served = JSON.parse(state().body('client').json) as Ruleset;
    expect(served.flags).toEqual([
      flag('fine'),
      { key: 'broken', version: 1, type: 'boolean', metadata: { owner: 'web' }, invalid: true },
    ]);
    expect((JSON.parse(state().body('server').json) as Ruleset).flags).toContainEqual(broken);
  });

  it('sends browsers a patch only for what changed', () => {
    const s = state();
    const patches = s.apply({
      environmentId: 'env',
      version: 2,
      changes: [{ kind: 'flag', key: 'fine', version: 2, value: flag('fine', { version: 2, enabled: false }) }],
      oldestAt: 0,
    });
    expect(patches.client.map((p) => p.key)).toEqual(['fine']);
    expect(s.patchesSince('client', 1)).toEqual(patches.client);
  });
});
