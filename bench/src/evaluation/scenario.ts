/**
 * The three flags every implementation evaluates, described once so that each adapter builds its
 * own configuration from the same numbers. All three are boolean flags serving `true` ("on") or
 * `false` ("off"); a rollout buckets on the context key, salted with the flag key.
 */

export type FlagId = 'a' | 'b' | 'c';

export const FLAG_IDS: readonly FlagId[] = ['a', 'b', 'c'];

/** The subject of an evaluation, in a neutral form that each adapter converts to its own. */
export interface BenchContext {
  key: string;
  email: string;
  country: string;
  /** Absent for web users, who run no app. */
  appVersion?: string;
  /** Lifetime orders. */
  orders: number;
}

/** (a) A boolean flag on for everyone: no rules, no rollout. */
export const STATIC_FLAG = { key: 'dark-mode' } as const;

/** (b) A 25 % rollout on the context key. */
export const ROLLOUT_FLAG = { key: 'new-search', percent: 25 } as const;

/**
 * (c) Four targeting rules serving "on", tried in order, then a 30 % rollout for everyone else.
 * The rules match few contexts (about 18 %), so most evaluations test every rule and then bucket.
 */
export const RULES_FLAG = {
  key: 'checkout-redesign',
  /** Rule 1: the redesign is piloted in twenty smaller markets. */
  pilotCountries: [
    'NZ',
    'IE',
    'PT',
    'FI',
    'DK',
    'NO',
    'AT',
    'BE',
    'CH',
    'CZ',
    'GR',
    'HU',
    'RO',
    'SK',
    'SI',
    'HR',
    'BG',
    'EE',
    'LV',
    'LT',
  ],
  /** Rule 2: staff dogfood it. */
  staffEmailSuffix: '@switchyard.dev',
  /** Rule 3: app versions newer than this (the next release's betas) have it. */
  appVersionAbove: '5.4.2',
  /** Rule 4: customers with more than this many orders have it. */
  ordersAbove: 100,
  /** Everyone else: a 30 % rollout. */
  percent: 30,
} as const;

export const FLAG_KEYS: Readonly<Record<FlagId, string>> = {
  a: STATIC_FLAG.key,
  b: ROLLOUT_FLAG.key,
  c: RULES_FLAG.key,
};

export const FLAG_TITLES: Readonly<Record<FlagId, string>> = {
  a: '(a) on for everyone',
  b: '(b) 25 % rollout',
  c: '(c) 4 rules + 30 % rollout',
};

/** App versions the generator hands out that order after {@link RULES_FLAG.appVersionAbove}. */
export const NEWER_APP_VERSIONS: readonly string[] = ['5.5.0-beta.1', '5.5.0-beta.2', '5.5.0-rc.1', '5.5.0'];

const pilot = new Set<string>(RULES_FLAG.pilotCountries);
const newer = new Set(NEWER_APP_VERSIONS);

/**
 * Whether one of flag (c)'s rules matches, worked out independently of every implementation:
 * such a context must be on everywhere, whatever the rollout's hashing.
 */
export function matchesRule(context: BenchContext): boolean {
  return (
    pilot.has(context.country) ||
    context.email.endsWith(RULES_FLAG.staffEmailSuffix) ||
    (context.appVersion !== undefined && newer.has(context.appVersion)) ||
    context.orders > RULES_FLAG.ordersAbove
  );
}
