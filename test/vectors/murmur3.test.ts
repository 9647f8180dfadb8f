import { readFileSync } from 'node:fs';
import { compile, Murmur3Utf8, type Ruleset, utf8Bytes } from '@switchyard/core';
import murmurhash from 'murmurhash';
import { describe, expect, it } from 'vitest';

/** The parts of murmur3_x86_32.json these tests read; see its `notes` and the `*_note` sections. */
interface Derived {
  u32: number;
}

interface CanonicalEntry {
  input: string;
  seed: number;
  expected_u32: number;
  source: string;
}

interface NonAsciiEntry {
  input: string;
  seed: number;
  utf8_hex: string;
  derived: Derived;
  murmurhash3js_style_u32: number;
}

interface UnleashEntry {
  suite: 'unleash' | 'unleash-variant' | 'unleash-strategy-variant';
  file: string;
  input: string;
  seed: number;
  murmur3_u32: number;
  normalizer: number;
  bucket_1_to_100?: number;
  rollout_percent?: number;
  expected_enabled?: boolean;
  bucket?: number;
  weights?: [string, number][];
  expected_variant?: string;
}

interface FlagdEntry {
  input: string;
  seed: number;
  flag: string;
  weights: [string, number][];
  expected_variant_v1: string | null;
  expected_variant_v2: string | null;
  derived: Derived;
  bucket_v2: number;
}

interface ReferenceFile {
  sections: {
    canonical: CanonicalEntry[];
    non_ascii_self_computed: NonAsciiEntry[];
    unleash: UnleashEntry[];
    unleash_note: string;
    flagd_fractional: FlagdEntry[];
    flagd_fractional_note: string;
  };
}

const reference = JSON.parse(readFileSync(new URL('murmur3_x86_32.json', import.meta.url), 'utf8')) as ReferenceFile;
const { sections } = reference;
const hasher = new Murmur3Utf8();
const SMHASHER_ENTRY = '<SMHasher VerificationTest';
const INT32_MAX = 2_147_483_647;

/**
 * SMHasher's VerificationTest for a 32-bit hash: key i is the bytes 0, 1, … i-1 hashed with
 * seed 256 - i; the 256 hashes, little-endian, are hashed again with seed 0.
 */
function smhasherVerification(): number {
  const key = new Uint8Array(256);
  const hashes = new Uint8Array(256 * 4);
  const view = new DataView(hashes.buffer);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    view.setUint32(i * 4, murmurhash.v3(key.subarray(0, i), 256 - i), true);
  }
  return murmurhash.v3(hashes, 0);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('murmur3_x86_32.json', () => {
  it('has no section these tests do not know how to read', () => {
    expect(Object.keys(sections).sort()).toEqual([
      'canonical',
      'flagd_fractional',
      'flagd_fractional_note',
      'non_ascii_self_computed',
      'unleash',
      'unleash_note',
    ]);
  });

  describe('canonical', () => {
    for (const e of sections.canonical) {
      if (e.input.startsWith(SMHASHER_ENTRY)) {
        it(`the murmurhash package passes SMHasher's verification test (${e.source})`, () => {
          // Keys with bytes >= 0x80 are not UTF-8 text, so this runs on the bytes through the
          // package that Murmur3Utf8 hashes with.
          expect(smhasherVerification()).toBe(e.expected_u32);
        });
      } else {
        it(`hashes ${JSON.stringify(e.input)} with seed ${e.seed} (${e.source})`, () => {
          expect(hasher.hash(e.input, e.seed)).toBe(e.expected_u32);
        });
      }
    }
  });

  describe('non_ascii_self_computed', () => {
    for (const e of sections.non_ascii_self_computed) {
      it(`hashes the UTF-8 bytes of ${JSON.stringify(e.input)}, not its UTF-16 code units`, () => {
        expect(hex(utf8Bytes(e.input))).toBe(e.utf8_hex);
        expect(hasher.hash(e.input, e.seed)).toBe(e.derived.u32);
        expect(hasher.hash(e.input, e.seed)).not.toBe(e.murmurhash3js_style_u32);
      });
    }
  });

  describe('unleash', () => {
    // unleash_note: n = murmur3(input, seed) % normalizer + 1; a rollout is enabled when
    // n <= percentage; a variant is the first whose cumulative weight is >= n.
    for (const e of sections.unleash) {
      it(`${e.suite} ${e.file}: hashes ${JSON.stringify(e.input)} with seed ${e.seed}`, () => {
        const h = hasher.hash(e.input, e.seed);
        expect(h).toBe(e.murmur3_u32);
        const n = (h % e.normalizer) + 1;
        if (e.suite === 'unleash') {
          expect(n).toBe(e.bucket_1_to_100);
          const percent = e.rollout_percent as number;
          expect(percent > 0 && n <= percent).toBe(e.expected_enabled);
        } else {
          expect(n).toBe(e.bucket);
        }
        if (e.suite === 'unleash-variant') {
          const weights = e.weights as [string, number][];
          let cumulative = 0;
          const chosen = weights.find(([, w]) => {
            cumulative += w;
            return cumulative >= n;
          });
          expect(chosen?.[0]).toBe(e.expected_variant);
        }
        // unleash-strategy-variant entries carry no weights, so only the hash and bucket are checked.
      });
    }
  });

  describe('flagd_fractional', () => {
    // flagd_fractional_note: the bucketing input is flag key + targeting key (or a custom
    // concatenation); v2 is the algorithm Switchyard shares, v1 is flagd's older one.
    for (const e of sections.flagd_fractional) {
      const shape = e.input.startsWith(e.flag)
        ? `flag ${e.flag}, key ${JSON.stringify(e.input.slice(e.flag.length))}`
        : `bucketing input ${JSON.stringify(e.input)} taken whole`;

      it(`hashes ${JSON.stringify(e.input)} to the listed value`, () => {
        expect(hasher.hash(e.input, e.seed)).toBe(e.derived.u32);
      });

      if (e.expected_variant_v2 !== null) {
        it(`serves ${e.expected_variant_v2} as flagd v2 does (${shape})`, () => {
          const { ruleset, flagKey, context } = fractionalFlag(e);
          const result = compile(ruleset).evaluate(flagKey, context, 'none', 'string');
          expect(result.reason).toBe('SPLIT');
          expect(result.variant).toBe(e.expected_variant_v2);
        });
      } else if (e.expected_variant_v1 !== null) {
        // No v2 expectation: the hash is still pinned by flagd's v1 expectation,
        // bucket = |int32(h)| / INT32_MAX * 100 against cumulative percentages.
        it(`${JSON.stringify(e.input)} has only a flagd v1 expectation, which the hash meets: ${e.expected_variant_v1}`, () => {
          const signed = hasher.hash(e.input, e.seed) | 0;
          const bucket = (Math.abs(signed) / INT32_MAX) * 100;
          let cumulative = 0;
          const chosen = e.weights.find(([, w]) => {
            cumulative += w;
            return cumulative > bucket;
          });
          expect(chosen?.[0]).toBe(e.expected_variant_v1);
        });
      } else {
        it(`${JSON.stringify(e.input)} has an expectation`, () => {
          expect.fail('entry has neither expected_variant_v1 nor expected_variant_v2');
        });
      }
    }
  });
});

/**
 * A string flag laid out like the flagd entry: its variants in the entry's order, weights scaled
 * to thousandths of a percent. When the input starts with the flag key, the flag has that key
 * and its default salt, and the rest of the input is the context key; otherwise the whole input
 * is the context key of a flag whose salt is empty.
 */
function fractionalFlag(e: FlagdEntry): { ruleset: Ruleset; flagKey: string; context: { key: string } } {
  const total = e.weights.reduce((sum, [, w]) => sum + w, 0);
  expect(100_000 % total, `weights of ${e.input} do not scale to 100 000`).toBe(0);
  const ownSalt = e.input.startsWith(e.flag);
  const flagKey = ownSalt ? e.flag : 'fractional-whole-input';
  const ruleset: Ruleset = {
    schemaVersion: 1,
    environment: 'flagd',
    version: 1,
    segments: [],
    flags: [
      {
        key: flagKey,
        type: 'string',
        variants: e.weights.map(([name]) => ({ key: name, value: name })),
        enabled: true,
        ...(ownSalt ? {} : { salt: '' }),
        defaultServe: {
          rollout: { weights: e.weights.map(([variant, w]) => ({ variant, weight: (w * 100_000) / total })) },
        },
        version: 1,
      },
    ],
  };
  return { ruleset, flagKey, context: { key: ownSalt ? e.input.slice(e.flag.length) : e.input } };
}
