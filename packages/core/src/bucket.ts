import murmurhash from 'murmurhash';

/** Bucketing resolution: a rollout places every context on one of 100 000 points. */
export const BUCKET_POINTS = 100_000;

const SCRATCH_BYTES = 1024;
const TWO_POW_32 = 4_294_967_296;

/**
 * murmur3 x86_32 over the UTF-8 bytes of a string, with no allocation for inputs up to
 * {@link SCRATCH_BYTES} bytes. murmurhash hashes a `Uint8Array` by its `length`, so the
 * scratch buffer keeps one view per length, made once on first use.
 */
export class Murmur3Utf8 {
  private readonly bytes = new Uint8Array(SCRATCH_BYTES);
  private readonly views: Uint8Array[] = [];

  hash(input: string, seed = 0): number {
    const length = encodeUtf8(input, this.bytes, 0);
    return length < 0 ? murmurhash.v3(utf8Bytes(input), seed) : this.hashScratch(length, seed);
  }

  /**
   * The point (0 … 99 999) of `salt + value`, by multiplication so no point is favoured.
   * Both parts are encoded straight into the scratch buffer: no concatenated string is made.
   */
  point(salt: string, value: string): number {
    const saltEnd = encodeUtf8(salt, this.bytes, 0);
    const end = saltEnd < 0 ? -1 : encodeUtf8(value, this.bytes, saltEnd);
    const h = end < 0 ? murmurhash.v3(utf8Bytes(salt + value), 0) : this.hashScratch(end, 0);
    return Math.floor((h * BUCKET_POINTS) / TWO_POW_32);
  }

  private hashScratch(length: number, seed: number): number {
    let view = this.views[length];
    if (view === undefined) {
      view = this.bytes.subarray(0, length);
      this.views[length] = view;
    }
    return murmurhash.v3(view, seed);
  }
}

/**
 * Writes the UTF-8 encoding of `input` into `out` from `offset` and returns where it ends, or
 * -1 when it does not fit. Unpaired surrogates become U+FFFD, as `TextEncoder` does.
 */
export function encodeUtf8(input: string, out: Uint8Array, offset: number): number {
  const capacity = out.length;
  let n = offset;
  for (let i = 0; i < input.length; i++) {
    let c = input.charCodeAt(i);
    if (c < 0x80) {
      if (n >= capacity) return -1;
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      if (n + 2 > capacity) return -1;
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < input.length ? input.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const codePoint = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        if (n + 4 > capacity) return -1;
        out[n++] = 0xf0 | (codePoint >> 18);
        out[n++] = 0x80 | ((codePoint >> 12) & 0x3f);
        out[n++] = 0x80 | ((codePoint >> 6) & 0x3f);
        out[n++] = 0x80 | (codePoint & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    if (n + 3 > capacity) return -1;
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}

/** The UTF-8 bytes of `input` in a fresh array, for inputs too long for the scratch buffer. */
export function utf8Bytes(input: string): Uint8Array {
  // Three bytes per UTF-16 unit is the worst case: a surrogate pair takes four bytes for two units.
  const out = new Uint8Array(input.length * 3);
  return out.subarray(0, encodeUtf8(input, out, 0));
}
