import { type EventDetails, OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import type { Ruleset } from '@switchyard/core';
import { createClient } from '@switchyard/sdk-node';
import { SwitchyardProvider } from '@switchyard/sdk-node/openfeature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackEventsOf } from '../../packages/server/src/features/events/store.js';
import { buildServer } from '../../packages/server/src/server.js';
import { API, createFlag, eventually, FAST_DELIVERY, type LiveServer, startLiveServer } from './support.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let live: LiveServer;
let token: string;
let domains = 0;
/** The server instance started in place of the first one, when a test restarted it. */
let restarted: Awaited<ReturnType<typeof buildServer>> | undefined;

const options = () => ({
  sdkKey: token,
  baseUrl: live.url,
  logger: silent,
  initialRetryDelayMs: 20,
  maxRetryDelayMs: 100,
  flushIntervalMs: 60_000,
});

/** A provider on its own OpenFeature domain, ready. */
async function ready(provider = new SwitchyardProvider(options())) {
  const domain = `d${domains++}`;
  await OpenFeature.setProviderAndWait(domain, provider);
  return { client: OpenFeature.getClient(domain), provider, domain };
}

const onOff = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

beforeAll(async () => {
  live = await startLiveServer();
  await live.ok('POST', `${API}/environments/prod/segments`, { key: 'beta', name: 'Beta', included: ['ann'] });
  await createFlag(live, 'static-flag', { enabled: true, defaultServe: { variant: 'on' } });
  await createFlag(live, 'ruled-flag', {
    enabled: true,
    targets: [{ variant: 'on', values: ['target-me'] }],
    rules: [
      {
        id: 'beta-users',
        clauses: [{ attribute: 'key', op: 'inSegment', values: ['beta'] }],
        serve: { variant: 'on' },
      },
      {
        id: 'signed-up-2024',
        clauses: [{ attribute: 'signedUp', op: 'after', values: ['2024-01-01'] }],
        serve: { variant: 'on' },
      },
    ],
    defaultServe: { variant: 'off' },
  });
  await createFlag(live, 'split-flag', {
    enabled: true,
    defaultServe: {
      rollout: {
        weights: [
          { variant: 'on', weight: 50_000 },
          { variant: 'off', weight: 50_000 },
        ],
      },
    },
  });
  await createFlag(live, 'killed-flag', { enabled: false, defaultServe: { variant: 'on' } });
  await createFlag(live, 'killed-with-off', { enabled: false, offVariant: 'off', defaultServe: { variant: 'on' } });
  await createFlag(live, 'needs-killed', {
    enabled: true,
    offVariant: 'off',
    prerequisites: [{ flag: 'killed-flag', variants: ['on'] }],
    defaultServe: { variant: 'on' },
  });
  await createFlag(live, 'false-flag', { enabled: true, defaultServe: { variant: 'off' } });
  await createFlag(live, 'zero-flag', { enabled: true, defaultServe: { variant: 'zero' } }, 'number', [
    { key: 'zero', value: 0 },
    { key: 'pi', value: 3.14 },
  ]);
  await createFlag(live, 'empty-flag', { enabled: true, defaultServe: { variant: 'empty' } }, 'string', [
    { key: 'empty', value: '' },
    { key: 'word', value: 'hello' },
  ]);
  await createFlag(
    live,
    'object-flag',
    { enabled: true, defaultServe: { variant: 'empty' } },
    'json',
    [
      { key: 'empty', value: {} },
      { key: 'full', value: { limit: 10, tiers: ['gold'] } },
    ],
    { metadata: { owner: 'payments', ticket: 42, experimental: true } },
  );
  token = (await live.key()).token;
});

afterAll(async () => {
  await OpenFeature.close();
  await restarted?.close();
  await live?.s.close();
});

describe('the OpenFeature provider: values and reasons', () => {
  it('names itself and resolves each reason the engine gives, with variants', async () => {
    const { client } = await ready();
    expect(client.metadata.providerMetadata.name).toBe('switchyard');
    const anon = { targetingKey: 'bob' };
    expect(await client.getBooleanDetails('static-flag', false, anon)).toMatchObject({
      value: true,
      variant: 'on',
      reason: 'STATIC',
    });
    expect(await client.getBooleanDetails('ruled-flag', true, anon)).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
    });
    expect(await client.getBooleanDetails('ruled-flag', false, { targetingKey: 'target-me' })).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    expect(await client.getBooleanDetails('ruled-flag', false, { targetingKey: 'ann' })).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    // A Date attribute reaches a date clause.
    expect(
      await client.getBooleanDetails('ruled-flag', false, { targetingKey: 'cy', signedUp: new Date('2024-06-01') }),
    ).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect((await client.getBooleanDetails('split-flag', false, anon)).reason).toBe('SPLIT');
    expect(await client.getBooleanDetails('killed-flag', true, anon)).toEqual({
      flagKey: 'killed-flag',
      value: true,
      reason: 'DISABLED',
      flagMetadata: {},
    });
    expect(await client.getBooleanDetails('killed-with-off', true, anon)).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'DISABLED',
    });
    expect(await client.getBooleanDetails('needs-killed', true, anon)).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'PREREQUISITE_FAILED',
    });
  });

  it('resolves false, 0, "" and {} as the values they are, never as absent', async () => {
    const { client } = await ready();
    const ctx = { targetingKey: 'bob' };
    const zero = (value: unknown, variant: string) => ({ value, variant, reason: 'STATIC' });
    expect(await client.getBooleanDetails('false-flag', true, ctx)).toMatchObject(zero(false, 'off'));
    expect(await client.getNumberDetails('zero-flag', 7, ctx)).toMatchObject(zero(0, 'zero'));
    expect(await client.getStringDetails('empty-flag', 'fallback', ctx)).toMatchObject(zero('', 'empty'));
    expect(await client.getObjectDetails('object-flag', { x: 1 }, ctx)).toMatchObject(zero({}, 'empty'));
    for (const d of [
      await client.getBooleanDetails('false-flag', true, ctx),
      await client.getNumberDetails('zero-flag', 7, ctx),
    ]) {
      expect(d.errorCode).toBeUndefined();
      expect(d.errorMessage).toBeUndefined();
    }
  });

  it("passes the flag's metadata through", async () => {
    const { client } = await ready();
    expect((await client.getObjectDetails('object-flag', {}, { targetingKey: 'bob' })).flagMetadata).toEqual({
      owner: 'payments',
      ticket: 42,
      experimental: true,
    });
  });

  it('serves the largest-weight variant, not TARGETING_KEY_MISSING, for a rollout without a targeting key', async () => {
    // The engine's documented choice (docs/architecture.md, Bucketing): every SDK answers the same.
    const { client } = await ready();
    const details = await client.getBooleanDetails('split-flag', true, {});
    expect(details.reason).toBe('SPLIT');
    expect(details.errorCode).toBeUndefined();
  });
});

describe('the OpenFeature provider: error codes', () => {
  it('FLAG_NOT_FOUND and TYPE_MISMATCH return the default without throwing', async () => {
    const { client } = await ready();
    expect(await client.getBooleanDetails('missing-flag', true, { targetingKey: 'bob' })).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    for (const details of [
      await client.getStringDetails('static-flag', 'dflt', {}),
      await client.getNumberDetails('static-flag', 1, {}),
      await client.getObjectDetails('static-flag', { a: 1 }, {}),
      await client.getBooleanDetails('zero-flag', true, {}),
    ]) {
      expect(details).toMatchObject({ reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    }
    expect(await client.getStringValue('static-flag', 'dflt', {})).toBe('dflt');
  });

  it('PARSE_ERROR for a flag whose configuration cannot be evaluated', async () => {
    const broken: Ruleset = {
      schemaVersion: 1,
      environment: 'offline',
      version: 1,
      segments: [],
      flags: [
        {
          key: 'broken',
          type: 'boolean',
          variants: onOff,
          enabled: true,
          defaultServe: { variant: 'nope' },
          version: 1,
        },
      ],
    };
    const { client } = await ready(new SwitchyardProvider({ offline: true, bootstrap: broken, logger: silent }));
    expect(await client.getBooleanDetails('broken', true, {})).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    });
  });

  it('INVALID_CONTEXT for a targeting key that is not a string, GENERAL when the context cannot be read', async () => {
    const { client } = await ready();
    expect(
      await client.getBooleanDetails('static-flag', false, { targetingKey: 42 as unknown as string }),
    ).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'INVALID_CONTEXT' });
    const unreadable = new Date();
    unreadable.toISOString = () => {
      throw new Error('unreadable');
    };
    expect(
      await client.getBooleanDetails('static-flag', false, { targetingKey: 'bob', when: unreadable }),
    ).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: 'GENERAL',
    });
  });

  it('PROVIDER_NOT_READY before initialisation, from the provider itself too', async () => {
    const provider = new SwitchyardProvider(options());
    expect(await provider.resolveBooleanEvaluation('static-flag', true, {})).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'PROVIDER_NOT_READY',
    });
    const domain = `d${domains++}`;
    OpenFeature.setProvider(domain, provider);
    const details = await OpenFeature.getClient(domain).getBooleanDetails('static-flag', false, {});
    expect(details).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
    await OpenFeature.getClient(domain).getBooleanValue('static-flag', false); // settles the pending initialisation
  });

  it('PROVIDER_FATAL, an ERROR event and status FATAL when the key is refused', async () => {
    const provider = new SwitchyardProvider({ ...options(), sdkKey: 'sy_server_revoked000000000000000000' });
    const domain = `d${domains++}`;
    const errors: EventDetails[] = [];
    OpenFeature.getClient(domain).addHandler(ProviderEvents.Error, (d) => errors.push(d as EventDetails));
    await expect(OpenFeature.setProviderAndWait(domain, provider)).rejects.toMatchObject({ code: 'PROVIDER_FATAL' });
    const client = OpenFeature.getClient(domain);
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(await client.getBooleanDetails('static-flag', false, {})).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: 'PROVIDER_FATAL',
    });
    await eventually(() => errors.length > 0, 'the error event');
  });
});

describe('the OpenFeature provider: events, tracking, lifecycle', () => {
  it('emits CONFIGURATION_CHANGED with the changed keys, STALE during an outage and READY after it', async () => {
    const { client } = await ready();
    const changed: string[][] = [];
    const statuses: string[] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (d) => changed.push(d?.flagsChanged ?? []));
    client.addHandler(ProviderEvents.Stale, () => statuses.push('stale'));
    client.addHandler(ProviderEvents.Ready, () => statuses.push('ready'));
    statuses.length = 0; // a handler added to a ready provider runs at once

    await live.ok('PATCH', `${API}/flags/false-flag/environments/prod`, { defaultServe: { variant: 'on' } });
    await eventually(() => changed.length > 0, 'the configuration change');
    expect(changed[0]).toEqual(['false-flag']);
    // Applied, not only announced.
    expect(await client.getBooleanValue('false-flag', false, {})).toBe(true);

    const port = live.port;
    await live.s.app.close();
    await eventually(() => statuses.includes('stale'), 'the stale event');
    expect(client.providerStatus).toBe(ProviderStatus.STALE);
    expect(await client.getBooleanValue('false-flag', false, {})).toBe(true);
    restarted = await buildServer({ database: live.s.testDb.database, logger: false, delivery: FAST_DELIVERY });
    await restarted.listen({ port, host: '127.0.0.1' });
    await eventually(() => statuses.at(-1) === 'ready', 'the ready event after the outage');
    expect(client.providerStatus).toBe(ProviderStatus.READY);
  });

  it("keeps OpenFeature's status STALE while the client it wraps is stale, and READY only once the client is", async () => {
    const other = await startLiveServer();
    await createFlag(other, 'static-flag', { enabled: true, defaultServe: { variant: 'on' } });
    const sdk = createClient({ ...options(), sdkKey: (await other.key()).token, baseUrl: other.url });
    await sdk.waitForReady();
    const port = other.port;
    await other.s.app.close();
    await eventually(() => sdk.status === 'stale', 'the client losing its stream');

    const { client } = await ready(new SwitchyardProvider(sdk));
    const statuses: string[] = [];
    client.addHandler(ProviderEvents.Stale, () => statuses.push('stale'));
    client.addHandler(ProviderEvents.Ready, () => statuses.push('ready'));
    await eventually(() => client.providerStatus === ProviderStatus.STALE, 'the provider following its client');
    expect(sdk.status).toBe('stale');
    expect(await client.getBooleanValue('static-flag', false, {})).toBe(true);

    const back = await buildServer({ database: other.s.testDb.database, logger: false, delivery: FAST_DELIVERY });
    try {
      await back.listen({ port, host: '127.0.0.1' });
      await eventually(() => sdk.status === 'ready', 'the client streaming again');
      await eventually(() => client.providerStatus === ProviderStatus.READY, 'the provider following its client');
      expect(statuses.at(-1)).toBe('ready');
    } finally {
      await sdk.close();
      await back.close();
      await other.s.close();
    }
  });

  it('tracks events through the provider and flushes them on shutdown', async () => {
    const { client, provider } = await ready();
    client.track('purchase', { targetingKey: 'ann' }, { value: 9.99 });
    await provider.onClose();
    const events = await trackEventsOf(live.s.testDb.database.db, await live.environmentId());
    expect(events.map((e) => [e.event, e.contextKey, e.value])).toContainEqual(['purchase', 'ann', 9.99]);
  });

  it('shuts down idempotently and initialises again', async () => {
    const provider = new SwitchyardProvider(options());
    const { client } = await ready(provider);
    await provider.onClose();
    await provider.onClose();
    expect((await provider.resolveBooleanEvaluation('static-flag', false, {})).errorCode).toBe('PROVIDER_NOT_READY');
    await provider.initialize();
    expect(await client.getBooleanValue('static-flag', false, {})).toBe(true);
    await provider.onClose();
  });

  it('wraps an existing client without taking over its lifecycle', async () => {
    const sdk = createClient(options());
    const provider = new SwitchyardProvider(sdk);
    const { client } = await ready(provider);
    expect(await client.getBooleanValue('static-flag', false, {})).toBe(true);
    await provider.onClose();
    expect(sdk.status).toBe('ready');
    await sdk.close();
  });
});
