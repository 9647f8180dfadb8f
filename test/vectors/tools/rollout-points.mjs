#!/usr/bin/env node
// Independent reference for the conformance vectors' rollout cases. It shares no code with
// packages/: murmur3 x86_32 is written out here from the algorithm's definition, so an expected
// variant worked out with this script is not a copy of what the engine computes.
//
//   node rollout-points.mjs --verify                   check the hash against ../murmur3_x86_32.json
//   node rollout-points.mjs SALT VALUE [VALUE...]      print the point of SALT+VALUE for each VALUE
//   node rollout-points.mjs --near SALT POINT [N] [PREFIX]
//                                                      list PREFIX0..PREFIX(N-1) (default user-,
//                                                      10 000) whose points lie within 50 of POINT
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86_32 of a byte array, as an unsigned 32-bit integer. */
export function murmur3(bytes, seed = 0) {
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  for (let b = 0; b < blocks; b++) {
    const i = b * 4;
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  let k = 0;
  switch (bytes.length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the tail bytes accumulate by design
    case 3:
      k ^= bytes[tail + 2] << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the tail bytes accumulate by design
    case 2:
      k ^= bytes[tail + 1] << 8;
    case 1:
      k ^= bytes[tail];
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
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

export function hashString(input, seed = 0) {
  return murmur3(Buffer.from(input, 'utf8'), seed);
}

/** The bucket point 0 … 99 999 of `salt + value`; exact in doubles because h * 100 000 < 2^53. */
export function point(salt, value) {
  return Math.floor((hashString(salt + value) * 100000) / 2 ** 32);
}

/** SMHasher's VerificationTest: hash keys 0..255 of lengths 0..255 with seed 256 - i, then hash the hashes. */
function smhasherVerification() {
  const key = new Uint8Array(256);
  const hashes = Buffer.alloc(256 * 4);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    hashes.writeUInt32LE(murmur3(key.subarray(0, i), 256 - i), i * 4);
  }
  return murmur3(hashes, 0);
}

function verify() {
  const file = new URL('../murmur3_x86_32.json', import.meta.url);
  const { sections } = JSON.parse(readFileSync(file, 'utf8'));
  let checked = 0;
  const failures = [];
  const expect = (label, got, want) => {
    checked++;
    if (got !== want) failures.push(`${label}: got ${got}, want ${want}`);
  };
  for (const e of sections.canonical) {
    const got = e.input.startsWith('<SMHasher') ? smhasherVerification() : hashString(e.input, e.seed);
    expect(`canonical ${JSON.stringify(e.input)} seed ${e.seed}`, got, e.expected_u32);
  }
  for (const e of sections.non_ascii_self_computed) {
    expect(`utf8 ${e.input}`, Buffer.from(e.input, 'utf8').toString('hex'), e.utf8_hex);
    expect(`non-ascii ${e.input}`, hashString(e.input, e.seed), e.derived.u32);
  }
  for (const e of sections.unleash) expect(`unleash ${e.input}`, hashString(e.input, e.seed), e.murmur3_u32);
  for (const e of sections.flagd_fractional) {
    expect(`flagd ${e.input}`, hashString(e.input, e.seed), e.derived.u32);
    // flagd v2 spreads the hash over the total weight of the entry's variants.
    const total = e.weights.reduce((sum, [, w]) => sum + w, 0);
    expect(`flagd bucket ${e.input}`, Math.floor((hashString(e.input, e.seed) * total) / 2 ** 32), e.bucket_v2);
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  console.log(`${checked - failures.length}/${checked} reference values reproduced`);
  if (failures.length > 0) process.exitCode = 1;
}

function near(salt, target, count = 10000, prefix = 'user-') {
  for (let i = 0; i < count; i++) {
    const p = point(salt, `${prefix}${i}`);
    if (Math.abs(p - target) <= 50) console.log(`${prefix}${i}\t${p}`);
  }
}

function main(args) {
  const [first, ...rest] = args;
  if (first === '--verify') verify();
  else if (first === '--near') {
    near(rest[0], Number(rest[1]), rest[2] === undefined ? undefined : Number(rest[2]), rest[3]);
  } else if (first !== undefined && rest.length > 0) {
    for (const value of rest) console.log(`${JSON.stringify(first + value)}\t${point(first, value)}`);
  } else {
    console.error('usage: rollout-points.mjs --verify | SALT VALUE [VALUE...] | --near SALT POINT [N] [PREFIX]');
    process.exitCode = 2;
  }
}

// Run as a command; importing the module (to reuse `point`) runs nothing.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  main(process.argv.slice(2));
