import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { clientView, type Flag, type Ruleset } from '@switchyard/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../create-client.js';
import { fakeServer } from '../fake-server.fixture.js';
import { clientFlag } from '../flags.fixture.js';
import { SwitchyardWebProvider } from './provider.js';

const boolean = (key: string, extra: Partial<Flag> = {}): Flag =>
  clientFlag(key, { defaultServe: { variant: 'on' }, ...extra });

/** As the server sends it to browsers: its client view, `broken` marked invalid. */
const ruleset: Ruleset = clientView({
  schemaVersion: 1,
  environment: 'web/prod',
  version: 3,
  segments: [],
  flags: [
    boolean('static', { metadata: { owner: 'web-team', ticket: 42 } }),
    boolean('targeted', {
      targets: [{ variant: 'on', values: ['ada'] }],
      defaultServe: { variant: 'off' },
    }),
    boolean('split', { defaultServe: { rollout: { weights: [{ variant: 'on', weight: 100_000 }] } } }),
    boolean('killed', { enabled: false, offVariant: 'off' }),
    boolean('gated', { prerequisites: [{ flag: 'killed', variants: ['on'] }], offVariant: 'off' }),
    boolean('broken', { defaultServe: { variant: 'nope' } }),
    {
      key: 'theme',
      type: 'json',
      variants: [{ key: 'dark', value: { bg: 'black' } }],
      enabled: true,
      defaultServe: { variant: 'dark' },
      version: 1,
    },
  ],
});

const provider = () => new SwitchyardWebProvider({ clientKey: '', baseUrl: '', offline: true, bootstrap: ruleset });

afterEach(async () => {
  vi.unstubAllGlobals();
  await OpenFeature.clearProviders();
  await OpenFeature.clearContext();
  OpenFeature.clearHandlers();
});

describe('the OpenFeature web provider', () => {
  it('resolves synchronously with the value, variant, reason and flag metadata', async () => {
    await OpenFeature.setProviderAndWait(provider(), { targetingKey: 'ada' });
    const client = OpenFeature.getClient();
    expect(client.getBooleanDetails('static', false)).toEqual({
      flagKey: 'static',
      value: true,
      variant: 'on',
      reason: 'STATIC',
      flagMetadata: { owner: 'web-team', ticket: 42 },
    });
    expect(client.getObjectValue('theme', {})).toEqual({ bg: 'black' });
  });

  it('passes every reason through unchanged', async () => {
    await OpenFeature.setProviderAndWait(provider(), { targetingKey: 'ada' });
    const client = OpenFeature.getClient();
    const reason = (flag: string) => client.getBooleanDetails(flag, true).reason;
    expect(['static', 'targeted', 'split', 'killed', 'gated'].map(reason)).toEqual([
      'STATIC',
      'TARGETING_MATCH',
      'SPLIT',
      'DISABLED',
      'PREREQUISITE_FAILED',
    ]);
  });

  it("answers an error with the caller's default, its OpenFeature error code, no variant and empty metadata", async () => {
    await OpenFeature.setProviderAndWait(provider(), { targetingKey: 'ada' });
    const client = OpenFeature.getClient();
    const expectError = (details: object, value: unknown, errorCode: string) =>
      expect(details).toMatchObject({ value, reason: 'ERROR', errorCode, flagMetadata: {} });
    const missing = client.getBooleanDetails('missing', true);
    expectError(missing, true, 'FLAG_NOT_FOUND');
    expect(missing.variant).toBeUndefined();
    expectError(client.getStringDetails('static', 'fallback'), 'fallback', 'TYPE_MISMATCH');
    expectError(client.getNumberDetails('theme', 7), 7, 'TYPE_MISMATCH');
    expectError(client.getBooleanDetails('broken', false), false, 'PARSE_ERROR');
  });

  it('re-evaluates on a context change without reporting a configuration change', async () => {
    await OpenFeature.setProviderAndWait(provider(), { targetingKey: 'ada' });
    const client = OpenFeature.getClient();
    const seen: string[] = [];
    for (const event of [ProviderEvents.ConfigurationChanged, ProviderEvents.ContextChanged]) {
      client.addHandler(event, () => seen.push(event));
    }
    expect(client.getBooleanValue('targeted', false)).toBe(true);
    await OpenFeature.setContext({ targetingKey: 'bob' });
    expect(client.getBooleanValue('targeted', true)).toBe(false);
    expect(seen).toEqual([ProviderEvents.ContextChanged]);
  });

  it('is ready at once with bootstrapped flags, and evaluates before any request', async () => {
    const client = createClient({ clientKey: '', baseUrl: '', offline: true, bootstrap: { banner: true } });
    const p = new SwitchyardWebProvider(client);
    expect(p.client).toBe(client);
    await OpenFeature.setProviderAndWait(p);
    expect(OpenFeature.getClient().getBooleanValue('banner', false)).toBe(true);
  });

  it("leaves a page's own client open when replaced, and stops listening to it; closes a client it made", async () => {
    const client = createClient({ clientKey: '', baseUrl: '', offline: true, bootstrap: ruleset });
    const p = new SwitchyardWebProvider(client);
    await OpenFeature.setProviderAndWait(p, { targetingKey: 'bob' });
    const changed: unknown[] = [];
    p.events.addHandler(ProviderEvents.ConfigurationChanged, (e) => changed.push(e));
    await OpenFeature.clearProviders();
    expect(client.status).toBe('ready');
    // `targeted` serves ada `on`: a change the provider would have passed on while it listened.
    client.identify({ key: 'ada' });
    expect(client.getBoolean('targeted', false)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(changed).toEqual([]);

    const own = provider();
    await OpenFeature.setProviderAndWait(own);
    await OpenFeature.clearProviders();
    expect(own.client.status).toBe('closed');
  });

  it('fails to initialise with PROVIDER_FATAL when the server refuses the key', async () => {
    const server = fakeServer();
    server.plan(401);
    const p = new SwitchyardWebProvider({ clientKey: 'sy_client_x', baseUrl: 'https://flags.test' });
    await expect(OpenFeature.setProviderAndWait(p)).rejects.toMatchObject({ code: 'PROVIDER_FATAL' });
    expect(p.client.status).toBe('failed');
  });

  it('tracks through the Switchyard client', async () => {
    const p = provider();
    const tracked: unknown[] = [];
    p.client.track = (event, value) => {
      tracked.push([event, value]);
    };
    await OpenFeature.setProviderAndWait(p, { targetingKey: 'ada' });
    OpenFeature.getClient().track('checkout', { value: 12 });
    expect(tracked).toEqual([['checkout', 12]]);
  });
});

describe('the OpenFeature web provider: contexts, as the server provider maps them', () => {
  it('evaluates dates as ISO strings, so a rule on a date string matches', async () => {
    const dated = clientView({
      ...ruleset,
      flags: [
        boolean('spring', {
          rules: [
            {
              id: 'march',
              clauses: [{ attribute: 'signedUp', op: 'startsWith', values: ['2025-03'] }],
              serve: { variant: 'on' },
            },
          ],
          defaultServe: { variant: 'off' },
        }),
      ],
    });
    const p = new SwitchyardWebProvider({ clientKey: '', baseUrl: '', offline: true, bootstrap: dated });
    await OpenFeature.setProviderAndWait(p, { targetingKey: 'ada', signedUp: new Date('2025-03-01T00:00:00Z') });
    expect(p.client.context).toEqual({ key: 'ada', signedUp: '2025-03-01T00:00:00.000Z' });
    expect(OpenFeature.getClient().getBooleanDetails('spring', false)).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
  });

  it('answers INVALID_CONTEXT while the targeting key is not a string, and evaluates again after a good one', async () => {
    await OpenFeature.setProviderAndWait(provider(), { targetingKey: 'ada' });
    const client = OpenFeature.getClient();
    await OpenFeature.setContext({ targetingKey: 42 as unknown as string });
    expect(client.getBooleanDetails('static', false)).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: 'INVALID_CONTEXT',
      errorMessage: 'targetingKey must be a string, not number',
    });
    await OpenFeature.setContext({ targetingKey: 'ada' });
    expect(client.getBooleanDetails('static', false)).toMatchObject({ value: true, reason: 'STATIC' });
  });
});
