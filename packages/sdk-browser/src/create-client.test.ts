import type { ChangeEvent, Ruleset } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_VARIANT } from './bootstrap.js';
import { createClient } from './create-client.js';
import { clientFlag } from './flags.fixture.js';

const flag = clientFlag;

const ruleset: Ruleset = {
  schemaVersion: 1,
  environment: 'web/prod',
  version: 7,
  segments: [],
  flags: [
    flag('beta', {
      rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variant: 'on' } }],
    }),
    flag('staff', { targets: [{ variant: 'on', values: ['ada'] }] }),
    flag('always', { defaultServe: { variant: 'on' } }),
  ],
};

const offline = (bootstrap: Ruleset | Record<string, boolean | string | number | null>, context = {}) =>
  createClient({ clientKey: '', baseUrl: '', offline: true, bootstrap, context });

describe('the browser client', () => {
  it('evaluates for the context it was created with, synchronously', () => {
    const client = offline(ruleset, { key: 'bob', country: 'NL' });
    expect(client.getBoolean('beta', false)).toBe(true);
    expect(client.getBoolean('staff', true)).toBe(false);
    expect(client.getDetail('beta', false, 'boolean')).toMatchObject({ reason: 'TARGETING_MATCH', ruleId: 'nl' });
    expect(client.getDetail('missing', 'x')).toMatchObject({
      value: 'x',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
  });

  it('re-evaluates locally on identify and reports only the flags whose value changed', () => {
    const client = offline(ruleset, { key: 'bob', country: 'NL' });
    const changes: ChangeEvent[] = [];
    client.on('change', (event) => changes.push(event));
    client.identify({ key: 'ada', country: 'DE' });
    expect(client.context).toEqual({ key: 'ada', country: 'DE' });
    expect(client.getBoolean('beta', true)).toBe(false);
    expect(client.getBoolean('staff', false)).toBe(true);
    expect(changes).toEqual([{ flags: ['beta', 'staff'], version: 7 }]);
    client.identify({ key: 'ada', country: 'FR' });
    expect(changes).toHaveLength(1);
  });

  it('stops calling a change listener once it is removed', () => {
    const client = offline(ruleset, { key: 'bob' });
    const seen: string[][] = [];
    const stop = client.on('change', (event) => seen.push(event.flags));
    client.identify({ key: 'ada' });
    stop();
    client.identify({ key: 'bob' });
    expect(seen).toEqual([['staff']]);
  });

  it("serves the Node SDK's allFlags output as a bootstrap, each value typed after itself", () => {
    const client = offline({ banner: true, theme: 'dark', limit: 3, layout: null });
    expect(client.getBoolean('banner', false)).toBe(true);
    expect(client.getString('theme', 'light')).toBe('dark');
    expect(client.getNumber('limit', 0)).toBe(3);
    expect(client.getJson('layout', { a: 1 })).toBe(null);
    expect(client.getDetail('theme', '', 'string')).toMatchObject({ variant: BOOTSTRAP_VARIANT, reason: 'STATIC' });
    expect(client.getDetail('theme', false, 'boolean')).toMatchObject({ value: false, errorCode: 'TYPE_MISMATCH' });
    expect(client.allFlags()).toEqual({ banner: true, theme: 'dark', limit: 3, layout: null });
  });

  it('keeps serving what it has after close', async () => {
    const client = offline(ruleset, { key: 'ada' });
    await client.close();
    expect(client.status).toBe('closed');
    expect(client.getBoolean('staff', false)).toBe(true);
  });
});
