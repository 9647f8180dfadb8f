/** Bucketing resolution: a rollout places every context on one of 100 000 points. */
export const BUCKET_POINTS = 100_000;

const SCRATCH_BYTES = 1024;
const TWO_POW_32 = 4_294_967_296;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3 x86_32 of the first `length` bytes of `bytes`, as an unsigned 32-bit integer.
 * Written here rather than taken from the `murmurhash` package: that one multiplies in 16-bit
 * halves and hashes a whole array (so a reused buffer needs a view per length); `Math.imul` over
 * a length made bucketing about a third faster in `pnpm bench`, and the core has no runtime
 * dependency left. The conformance suite checks it against the reference hashes and the package.
 *
 * `seed` may also be the state {@link saltState} left after a prefix's whole blocks, with
 * `total` the length of prefix and bytes together: the hash then covers both.
 */
export function murmur3(bytes: Uint8Array, length: number, seed: number, total = length): number {
  let h = blocks(bytes, length, seed >>> 0);
  const at = length & ~3;
  const tail = length & 3;
  if (tail !== 0) {
    let k = bytes[at] as number;
    if (tail > 1) k ^= (bytes[at + 1] as number) << 8;
    if (tail > 2) k ^= (bytes[at + 2] as number) << 16;
    h ^= scramble(k);
  }
  return finish(h ^ total);
}

/**
 * The rollout point of `bytes`, hashed whole, in the least code: the browser's engine, which
 * hashes `salt + value` anew each time, needs nothing of {@link murmur3}'s resumable state. Past
 * its end a typed array reads `undefined`, which shifts and ors as 0, so the last partial block
 * is read as the whole ones are; unlike them it is not mixed into the state.
 */
export function pointOf(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = 0;
  for (let i = 0; i < length; i += 4) {
    h ^= scramble(word(bytes, i));
    if (i + 4 <= length) h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  // Below 2 ** 31, `| 0` floors as Math.floor does.
  return ((finish(h ^ length) * BUCKET_POINTS) / TWO_POW_32) | 0;
}

/** murmur3's final avalanche, as an unsigned 32-bit integer. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The murmur3 state after the whole 4-byte blocks among the first `length` bytes. */
function blocks(bytes: Uint8Array, length: number, h: number): number {
  const end = length & ~3;
  for (let i = 0; i < end; i += 4) {
    h ^= scramble(word(bytes, i));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return h;
}

/** The little-endian 32-bit word at `i`. */
function word(bytes: Uint8Array, i: number): number {
  return (
    (bytes[i] as number) |
    ((bytes[i + 1] as number) << 8) |
    ((bytes[i + 2] as number) << 16) |
    ((bytes[i + 3] as number) << 24)
  );
}

function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/**
 * A bucketing salt, hashed once when a rollout is compiled: the murmur3 state after its whole
 * 4-byte blocks, and its last 0-3 bytes packed into `tail` (their count in bits 24-25). Three
 * numbers per rollout instead of a byte array, and no salt bytes to copy per evaluation.
 */
export interface SaltState {
  /**
   * Empty, or the whole salt when it ends in half a surrogate pair: that would pair up with the
   * value's first code unit in utf8(salt + value), so it cannot be hashed ahead and is put
   * before the value instead; the numbers below are then those of the empty salt.
   */
  readonly prefix: string;
  readonly seed: number;
  readonly tail: number;
  readonly saltLength: number;
}

export function saltState(salt: string): SaltState {
  const split = /[\ud800-\udbff]$/.test(salt);
  const bytes = utf8Bytes(split ? '' : salt);
  const length = bytes.length;
  const at = length & ~3;
  let tail = (length - at) << 24;
  for (let i = at; i < length; i++) tail |= (bytes[i] as number) << (8 * (i - at));
  return { prefix: split ? salt : '', seed: blocks(bytes, length, 0), tail, saltLength: length };
}

/**
 * How rollouts hash `salt + value`: murmur3 x86_32 over its UTF-8 bytes, which every
 * implementation must give alike. Each compiled ruleset holds one.
 */
export interface Hasher {
  /** The state {@link Hasher.point} goes on from, worked out once per rollout. */
  salt(salt: string): SaltState;
  /** The point (0 … 99 999) of `salt + value`, by multiplication so no point is favoured. */
  point(salt: SaltState, value: string): number;
}

/**
 * murmur3 x86_32 over the UTF-8 bytes of strings, with no allocation for inputs of up to a
 * third of {@link SCRATCH_BYTES} UTF-16 units (see `encodeUtf8`): they are encoded into a
 * buffer each compiled ruleset owns. Context keys and bucketing attributes are far shorter.
 */
export class Murmur3Utf8 implements Hasher {
  private readonly bytes = new Uint8Array(SCRATCH_BYTES);

  hash(input: string, seed = 0): number {
    const length = encodeUtf8(input, this.bytes, 0);
    if (length >= 0) return murmur3(this.bytes, length, seed);
    const long = utf8Bytes(input);
    return murmur3(long, long.length, seed);
  }

  salt(salt: string): SaltState {
    return saltState(salt);
  }

  /**
   * The hash goes on from the salt's state: only its tail bytes and the value are encoded, into
   * the scratch buffer, so no concatenated string is made.
   */
  point(salt: SaltState, input: string): number {
    const value = salt.prefix === '' ? input : salt.prefix + input;
    const tail = salt.tail;
    const n = tail >>> 24;
    const bytes = this.bytes;
    for (let i = 0; i < n; i++) bytes[i] = tail >>> (8 * i);
    const end = encodeUtf8(value, bytes, n);
    if (end < 0) return pointAfter(salt, utf8Bytes(value));
    const h = murmur3(bytes, end, salt.seed, salt.saltLength - n + end);
    return Math.floor((h * BUCKET_POINTS) / TWO_POW_32);
  }
}

/** {@link Hasher.point} from the value's bytes, with the salt's tail bytes put before them in a fresh array. */
function pointAfter(salt: SaltState, rest: Uint8Array): number {
  const tail = salt.tail;
  const n = tail >>> 24;
  const bytes = new Uint8Array(n + rest.length);
  for (let i = 0; i < n; i++) bytes[i] = tail >>> (8 * i);
  bytes.set(rest, n);
  const h = murmur3(bytes, bytes.length, salt.seed, salt.saltLength + rest.length);
  return Math.floor((h * BUCKET_POINTS) / TWO_POW_32);
}

/**
 * Writes the UTF-8 encoding of `input` into `out` from `offset` and returns where it ends, or
 * -1 when the worst case, three bytes per UTF-16 unit, would not fit: one check up front rather
 * than one per character. Unpaired surrogates become U+FFFD, as `TextEncoder` does.
 */
export function encodeUtf8(input: string, out: Uint8Array, offset: number): number {
  if (offset + input.length * 3 > out.length) return -1;
  let n = offset;
  for (let i = 0; i < input.length; i++) {
    let c = input.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      // NaN past the end of the input, which is no low surrogate.
      const next = input.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        // Four bytes for two units: within the room checked for them.
        const codePoint = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[n++] = 0xf0 | (codePoint >> 18);
        out[n++] = 0x80 | ((codePoint >> 12) & 0x3f);
        out[n++] = 0x80 | ((codePoint >> 6) & 0x3f);
        out[n++] = 0x80 | (codePoint & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}

/** The UTF-8 bytes of `input` in a fresh array, for inputs too long for the scratch buffer. */
export function utf8Bytes(input: string): Uint8Array {
  // Room for the worst case, which encodeUtf8 needs.
  const out = new Uint8Array(input.length * 3);
  // A copy of the exact length: a view would keep the whole worst-case buffer alive.
  return out.slice(0, encodeUtf8(input, out, 0));
}
