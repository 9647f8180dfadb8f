import { describe, expect, it } from 'vitest';
import { BUCKET_POINTS, encodeUtf8, Murmur3Utf8, pointOf, saltState, utf8Bytes } from './bucket.js';

/** The runtime's own encoder, typed by hand: the core's tsconfig carries no DOM or Node types on purpose. */
const platform = new (
  globalThis as unknown as { TextEncoder: new () => { encode(input: string): Uint8Array } }
).TextEncoder();

function encoded(input: string, capacity = input.length * 3 + 4): number[] {
  const out = new Uint8Array(capacity);
  const end = encodeUtf8(input, out, 0);
  return end < 0 ? [] : [...out.subarray(0, end)];
}

const TWO_POW_32 = 2 ** 32;

describe('encodeUtf8', () => {
  const samples: [string, string][] = [
    ['ASCII', 'user-42@example.com'],
    ['the empty string', ''],
    ['two-byte characters', 'café ÿ Ωμέγα'],
    ['three-byte characters', '日本語 € ☃ \uffff'],
    ['four-byte characters', '😀 𝄞 🌍 \u{10ffff}'],
    ['the boundaries of each width', '\u007f\u0080\u07ff\u0800\ud7ff\ue000'],
    ['a mix of every width', 'Feature.UTF-8.😊_φriend_你好_🌍:user-1'],
    ['a lone high surrogate at the end', 'abc\ud800'],
    ['a lone high surrogate before a letter', '\udbffx'],
    ['a lone high surrogate before a character above the surrogates', '\ud800\ue000\udbff\uffff'],
    ['a lone low surrogate', 'x\udc00y'],
    ['two high surrogates in a row', '\ud83d\ud83d\ude00'],
    ['a reversed surrogate pair', '\ude00\ud83d'],
  ];

  for (const [what, input] of samples) {
    it(`writes the same bytes as TextEncoder for ${what}`, () => {
      expect(encoded(input)).toEqual([...platform.encode(input)]);
    });
  }

  it('writes from the given offset and returns where the encoding ends', () => {
    const out = new Uint8Array(8).fill(0xaa);
    expect(encodeUtf8('é', out, 3)).toBe(5);
    expect([...out]).toEqual([0xaa, 0xaa, 0xaa, 0xc3, 0xa9, 0xaa, 0xaa, 0xaa]);
  });

  it('returns -1 unless the worst case fits, three bytes per UTF-16 unit, whatever the characters', () => {
    expect(encodeUtf8('abcd', new Uint8Array(11), 0)).toBe(-1);
    expect(encodeUtf8('abcd', new Uint8Array(12), 0)).toBe(4);
    expect(encodeUtf8('aé', new Uint8Array(8), 3)).toBe(-1);
    expect(encodeUtf8('aé', new Uint8Array(9), 3)).toBe(6);
  });

  it('fits the longest encodings in the worst-case room: 3 bytes for a lone unit, 4 for a pair', () => {
    const out = new Uint8Array(9);
    expect(encodeUtf8('€😀', out, 0)).toBe(7);
    expect([...out.subarray(0, 7)]).toEqual([0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
    expect(encodeUtf8('\ud800\ud800\ud800', out, 0)).toBe(9);
  });
});

describe('utf8Bytes', () => {
  it('returns exactly the UTF-8 bytes, however long the input', () => {
    const input = `${'😀é'.repeat(3000)}\ud800`;
    expect([...utf8Bytes(input)]).toEqual([...platform.encode(input)]);
  });
});

describe('Murmur3Utf8', () => {
  // Reference values from ../shared/vectors/murmur3_x86_32-vectors.json (SMHasher, Guava, mmh3,
  // and UTF-8 inputs computed over their bytes).
  const reference: [string, number, number][] = [
    ['', 0, 0],
    ['', 1, 1364076727],
    ['', 4294967295, 2180083513],
    ['abc', 0, 3017643002],
    ['aaaa', 2538058380, 1519878282],
    ['Hello, world!', 2538058380, 612912314],
    ['The quick brown fox jumps over the lazy dog', 0, 776992547],
    ['foo', 42, 2972666014],
    ['café', 0, 605818632],
    ['ÿ', 0, 2978568462],
    ['日本語', 0, 2779017879],
    ['😀', 0, 3199479546],
    ['Feature.UTF-8.😊_φriend_你好_🌍:user-1', 0, 1095494584],
  ];

  for (const [input, seed, expected] of reference) {
    it(`hashes ${JSON.stringify(input)} with seed ${seed} to the reference value`, () => {
      expect(new Murmur3Utf8().hash(input, seed)).toBe(expected);
      expect(referenceHash(platform.encode(input), seed)).toBe(expected);
    });
  }

  it('hashes inputs longer than its scratch buffer exactly as the plain UTF-8 hash', () => {
    const hasher = new Murmur3Utf8();
    for (const input of ['k'.repeat(1023), 'k'.repeat(1024), 'k'.repeat(1025), '日'.repeat(400), '😀'.repeat(5000)]) {
      const bytes = utf8Bytes(input);
      // Split between code points: point() joins the salt's bytes and the value's bytes.
      const viaTwoHalves = hasher.point(saltState(input.slice(0, 8)), input.slice(8));
      expect(hasher.hash(input)).toBe(referenceHash(bytes));
      expect(viaTwoHalves).toBe(Math.floor((referenceHash(bytes) * BUCKET_POINTS) / TWO_POW_32));
    }
  });

  it('gives the same point whether salt and value fit the scratch buffer or not', () => {
    const hasher = new Murmur3Utf8();
    const longSalt = 's'.repeat(1020);
    const expected = Math.floor((hasher.hash(`${longSalt}user-12345`) * BUCKET_POINTS) / TWO_POW_32);
    expect(hasher.point(saltState(longSalt), 'user-12345')).toBe(expected);
    expect(hasher.point(saltState('s'.repeat(2000)), 'x')).toBe(
      Math.floor((referenceHash(platform.encode(`${'s'.repeat(2000)}x`)) * BUCKET_POINTS) / TWO_POW_32),
    );
  });

  it('goes on from the salt state exactly as hashing salt and value together, whatever the salt length', () => {
    const hasher = new Murmur3Utf8();
    // Salts of every remainder modulo 4 in bytes, ASCII and multi-byte, with short and long values.
    for (const salt of [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'abcde',
      'é',
      'aé',
      '日',
      'a日',
      '😀',
      'flag-0001',
      'x'.repeat(1030),
    ]) {
      for (const value of ['', 'u', 'user-42', '日本', 'v'.repeat(1100)]) {
        const expected = Math.floor((referenceHash(platform.encode(salt + value)) * BUCKET_POINTS) / TWO_POW_32);
        expect(hasher.point(saltState(salt), value), JSON.stringify([salt.slice(0, 12), value.slice(0, 12)])).toBe(
          expected,
        );
      }
    }
  });

  it('is not disturbed by an earlier, longer input left in its scratch buffer', () => {
    const hasher = new Murmur3Utf8();
    hasher.hash('a much longer input that fills more of the buffer');
    expect(hasher.hash('abc')).toBe(3017643002);
    hasher.point(saltState('salt-that-is-long'), 'and-a-long-value');
    expect(hasher.hash('😀')).toBe(3199479546);
  });

  it('hashes the salt and the value concatenated, with no separator', () => {
    const hasher = new Murmur3Utf8();
    expect(hasher.point(saltState('fractional-flag'), 'jack')).toBe(hasher.point(saltState('fractional-flagja'), 'ck'));
    expect(hasher.point(saltState(''), 'fractional-flagjack')).toBe(
      Math.floor((2682799072 * BUCKET_POINTS) / TWO_POW_32),
    );
  });

  // Keys whose murmur3 is 0, 1, 2^31 - 1, 2^31 and 2^32 - 1 (flagd's edge vectors).
  it('maps hashes onto points 0 … 99 999 by multiplication, with both ends reachable', () => {
    const hasher = new Murmur3Utf8();
    expect(hasher.point(saltState(''), 'ejOoVL')).toBe(0);
    expect(hasher.point(saltState(''), 'bY9fO-')).toBe(0);
    expect(hasher.point(saltState(''), 'SI7p-')).toBe(49_999);
    expect(hasher.point(saltState(''), '6LvT0')).toBe(50_000);
    expect(hasher.point(saltState(''), 'ceQdGm')).toBe(99_999);
  });
});

describe('pointOf', () => {
  it("gives the reference hash's point for every length modulo 4, high bytes included", () => {
    let seed = 7;
    const byte = () => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed >>> 24;
    };
    for (let length = 0; length <= 64; length++) {
      for (let round = 0; round < 20; round++) {
        const bytes = Uint8Array.from({ length }, byte);
        expect(pointOf(bytes), `${bytes}`).toBe(Math.floor((referenceHash(bytes) * BUCKET_POINTS) / TWO_POW_32));
      }
    }
  });

  it('agrees with Murmur3Utf8 on salt and value hashed together', () => {
    const hasher = new Murmur3Utf8();
    for (const [salt, value] of [
      ['', 'fractional-flagjack'],
      ['abc', 'd'],
      ['🚀 rollout', 'ünïcode-ključ'],
      ['x'.repeat(999), 'y'],
    ] as const) {
      expect(pointOf(platform.encode(salt + value))).toBe(hasher.point(saltState(salt), value));
    }
  });
});

/** murmur3 x86_32 written out from its definition, independent of the library under test. */
function referenceHash(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  const at = (i: number) => bytes[i] ?? 0;
  for (let b = 0; b < blocks; b++) {
    const i = b * 4;
    let k = at(i) | (at(i + 1) << 8) | (at(i + 2) << 16) | (at(i + 3) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = at(tail);
    if (rest >= 2) k ^= at(tail + 1) << 8;
    if (rest === 3) k ^= at(tail + 2) << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
