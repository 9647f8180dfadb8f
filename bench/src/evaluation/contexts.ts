import { Random } from '../random.js';
import { type BenchContext, NEWER_APP_VERSIONS, RULES_FLAG } from './scenario.js';

/**
 * Countries weighted roughly like the traffic of a SaaS product sold mostly in North America and
 * Europe. The twenty pilot countries of flag (c) together draw about 10 % of contexts.
 */
const COUNTRIES: readonly (readonly [string, number])[] = [
  ['US', 30],
  ['GB', 9],
  ['DE', 8],
  ['IN', 7],
  ['FR', 6],
  ['CA', 5],
  ['BR', 5],
  ['JP', 4],
  ['AU', 3],
  ['ES', 3],
  ['IT', 3],
  ['NL', 2],
  ['MX', 2],
  ['PL', 2],
  ['SE', 1],
  ...RULES_FLAG.pilotCountries.map((c) => [c, 0.5] as const),
];

const EMAIL_DOMAINS: readonly (readonly [string, number])[] = [
  ['gmail.com', 40],
  ['outlook.com', 12],
  ['yahoo.com', 10],
  ['icloud.com', 8],
  ['hotmail.com', 6],
  ['proton.me', 3],
  ['acme.io', 6],
  ['globex.com', 5],
  ['initech.com', 4],
  ['umbrella-corp.com', 4],
  ['switchyard.dev', 2],
];

const FIRST_NAMES = ['ana', 'ben', 'chloe', 'dmitri', 'emma', 'farid', 'grace', 'hiro', 'ines', 'jonas', 'kofi', 'lea'];
const LAST_NAMES = ['silva', 'smith', 'muller', 'sharma', 'martin', 'tanaka', 'rossi', 'kowalski', 'nguyen', 'okafor'];

/** Released app versions in the field, weighted by adoption; web users (no app) are separate. */
const RELEASES: readonly (readonly [string, number])[] = [
  ['5.4.2', 25],
  ['5.4.1', 15],
  ['5.3.0', 12],
  ['5.2.3', 10],
  ['5.1.0', 8],
  ['5.0.4', 6],
];

const KEY_CHARS: readonly string[] = [...'0123456789abcdefghijklmnopqrstuvwxyz'];

/** How many contexts every evaluation benchmark runs through, and the seed they are drawn from. */
export const CONTEXT_COUNT = 10_000;
export const CONTEXT_SEED = 0x5717c4;

/**
 * `count` contexts drawn from a fixed seed: the same contexts on every run and every machine.
 * A quarter are web users without `appVersion`; the rest run a release (most), an older 4.x
 * version, or a beta of the next release.
 */
export function generateContexts(count: number, seed: number): BenchContext[] {
  const random = new Random(seed);
  const contexts: BenchContext[] = [];
  for (let i = 0; i < count; i++) {
    let key = 'usr_';
    for (let j = 0; j < 12; j++) key += random.pick(KEY_CHARS);
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const email = `${first}.${last}${random.int(1, 999)}@${random.weighted(EMAIL_DOMAINS)}`;
    const country = random.weighted(COUNTRIES);
    // An exponential spread with a mean of 30: about 3.6 % have more than 100 orders.
    const orders = Math.floor(-Math.log(1 - random.next()) * 30);
    const context: BenchContext = { key, email, country, orders };
    const platform = random.next();
    if (platform < 0.75) context.appVersion = appVersion(random);
    contexts.push(context);
  }
  // A round trip through JSON leaves flat strings, as contexts parsed from a request have, not the
  // ropes that concatenation builds (the first engine to read a rope would pay to flatten it).
  return JSON.parse(JSON.stringify(contexts)) as BenchContext[];
}

function appVersion(random: Random): string {
  const kind = random.next();
  if (kind < 0.05) return random.pick(NEWER_APP_VERSIONS);
  if (kind < 0.25) return `4.${random.int(0, 9)}.${random.int(0, 12)}`;
  return random.weighted(RELEASES);
}
