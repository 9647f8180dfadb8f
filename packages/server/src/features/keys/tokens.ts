import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyType = 'admin' | 'server' | 'client';

export interface TokenDigest {
  /** What a list shows: enough to tell keys apart, too little to use. */
  prefix: string;
  /** The first 16 hex digits of the SHA-256: finds the row, proves nothing. */
  lookup: string;
  /** The whole SHA-256, compared in constant time. */
  hash: string;
}

/** A new random token, its type readable at a glance: `sy_server_…`. */
export function newToken(type: KeyType): string {
  return `sy_${type}_${randomBytes(24).toString('base64url')}`;
}

export function digestToken(token: string): TokenDigest {
  const hash = createHash('sha256').update(token, 'utf8').digest('hex');
  return { prefix: token.slice(0, token.startsWith('sy_') ? 16 : 4), lookup: hash.slice(0, 16), hash };
}

export function hashesMatch(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
