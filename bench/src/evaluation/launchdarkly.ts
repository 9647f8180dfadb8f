import { basicLogger, init, type LDContext } from '@launchdarkly/node-server-sdk';
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import type { CreateImplementation } from './implementation.js';
import { ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from './scenario.js';

const ON = 0;
const OFF = 1;

/** LaunchDarkly rollout weights are thousandths of a percent, like Switchyard's. */
function rollout(percent: number) {
  return {
    rollout: {
      contextKind: 'user',
      variations: [
        { variation: ON, weight: percent * 1000 },
        { variation: OFF, weight: (100 - percent) * 1000 },
      ],
    },
  };
}

function rule(id: string, attribute: string, op: string, values: (string | number)[]) {
  return { id, clauses: [{ contextKind: 'user', attribute, op, values, negate: false }], variation: ON };
}

function flag(key: string, fallthrough: object, rules: object[] = []) {
  return {
    key,
    version: 1,
    on: true,
    variations: [true, false],
    offVariation: OFF,
    fallthrough,
    rules,
    targets: [],
    contextTargets: [],
    prerequisites: [],
    salt: key,
  };
}

/**
 * Full flag data models, loaded with `TestData#usePreconfiguredFlag`: the flag builder has
 * neither percentage rollouts nor the semver and number operators.
 */
export const launchdarklyFlags: object[] = [
  flag(STATIC_FLAG.key, { variation: ON }),
  flag(ROLLOUT_FLAG.key, rollout(ROLLOUT_FLAG.percent)),
  flag(RULES_FLAG.key, rollout(RULES_FLAG.percent), [
    rule('pilot-countries', 'country', 'in', [...RULES_FLAG.pilotCountries]),
    rule('staff', 'email', 'endsWith', [RULES_FLAG.staffEmailSuffix]),
    rule('next-release-betas', 'appVersion', 'semVerGreaterThan', [RULES_FLAG.appVersionAbove]),
    rule('loyal-customers', 'orders', 'greaterThan', [RULES_FLAG.ordersAbove]),
  ]),
];

/**
 * Offline: the `TestData` integration is the data source (no streaming or polling connection),
 * `sendEvents: false` removes the event processor, `diagnosticOptOut` the diagnostics. The SDK
 * key is never sent anywhere. `variation` is the SDK's only evaluation API and it is async: the
 * harness awaits each call in turn, as a request handler would, so the time includes the
 * promise's resolution.
 */
export const createLaunchdarkly: CreateImplementation = async (contexts) => {
  const td = new TestData();
  for (const f of launchdarklyFlags) await td.usePreconfiguredFlag(f);
  const client = init('sdk-bench-offline', {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: basicLogger({ level: 'warn' }),
  });
  await client.waitForInitialization({ timeout: 10 });
  const inputs: LDContext[] = contexts.map((c) => ({ kind: 'user', ...c }));
  const flagOf = (key: string) => (i: number) =>
    client.variation(key, inputs[i] as LDContext, false) as Promise<boolean>;
  return {
    name: '@launchdarkly/node-server-sdk',
    async: true,
    notes:
      '`init(sdkKey, {updateProcessor: TestData#getFactory(), sendEvents: false, diagnosticOptOut: true})` ' +
      'with the flags loaded through `TestData#usePreconfiguredFlag`; `await client.variation(key, ' +
      '{kind: "user", ...}, false)`, one awaited call after another (the SDK has no synchronous ' +
      'evaluation). Rules use `in`, `endsWith`, `semVerGreaterThan`, `greaterThan`; rollouts are ' +
      'fallthrough rollouts on the user key, salted with the flag key.',
    flags: { a: flagOf(STATIC_FLAG.key), b: flagOf(ROLLOUT_FLAG.key), c: flagOf(RULES_FLAG.key) },
    close() {
      client.close();
    },
  };
};
