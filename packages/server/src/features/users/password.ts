import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Node's scrypt (OpenSSL's implementation), rather than Argon2: Node 20, the oldest Node this
 * server supports, has no Argon2 of its own, and the npm Argon2 packages are native add-ons,
 * one more binary that `pnpm install` and the container image must find for every platform.
 *
 * N = 2^15, r = 8, p = 3: one of the equivalent scrypt settings OWASP's password storage cheat
 * sheet lists as its minimum (32 MiB of memory; about 0.2 s of one core per hash here). They
 * are stored with each hash, so raising them later keeps every existing password working.
 */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 3, saltBytes: 16, keyBytes: 32 } as const;

/** Longest password accepted: long passphrases are welcome, megabytes are not. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 12;

function derive(password: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  // OpenSSL refuses a computation that needs more than `maxmem`; 128·N·r bytes plus slack.
  const maxmem = 128 * (options.N ?? 0) * (options.r ?? 0) + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, { ...options, maxmem }, (err, key) =>
      err === null ? resolve(key) : reject(err),
    );
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const { N, r, p } = SCRYPT;
  const key = await derive(password, salt, SCRYPT.keyBytes, { N, r, p });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` is the one `stored` was made from, compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(key, expected);
}

/**
 * A hash of no one's password, verified when the email is unknown: a sign-in then takes as long
 * whether or not the account exists.
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

/** A random password for the first start's owner: 24 characters of base64url (144 bits). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}
