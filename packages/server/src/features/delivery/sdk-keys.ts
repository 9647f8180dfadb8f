import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/database.js';
import { AppError, isDatabaseUnavailable } from '../../errors.js';
import type { KeyPrincipal as Principal } from '../keys/principal.js';
import { authenticateToken, type Credential } from '../keys/service.js';
import { digestToken } from '../keys/tokens.js';

interface Entry {
  credential: Credential | undefined;
  expires: number;
}

const MAX_ENTRIES = 50_000;

/**
 * SDK keys resolved from memory: SDK traffic (every poll, every reconnect of thousands of
 * clients) must not become a Postgres query each. A revoked or rotated key is evicted by the
 * key check within a second (`evict`); `ttlMs` bounds how long an entry is trusted should the
 * key check stall. An entry never outlives its key's expiry or its secret's grace period. An
 * unknown key is remembered for `negativeTtlMs`, so a client retrying with a bad key cannot
 * turn into a storm of queries.
 */
export class SdkKeyCache {
  private readonly entries = new Map<string, Entry>();
  /** The token hashes cached for each key id, so that a key's entries can be evicted by its id. */
  private readonly byKey = new Map<string, Set<string>>();

  constructor(
    private readonly db: Db,
    private readonly onUse: (keyId: string) => void = () => undefined,
    private readonly ttlMs = 10_000,
    private readonly negativeTtlMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(token: string): Promise<Credential | undefined> {
    const hash = digestToken(token).hash;
    const cached = this.entries.get(hash);
    const now = this.now();
    let credential: Credential | undefined;
    if (cached !== undefined && cached.expires > now) {
      credential = cached.credential;
    } else {
      credential = await this.authenticateOrRemember(token, cached, now);
      this.remember(hash, credential, now);
    }
    if (credential !== undefined) this.onUse(credential.principal.keyId);
    return credential;
  }

  /** Forgets every token of this key: its next request asks Postgres. */
  evict(keyId: string): void {
    for (const hash of this.byKey.get(keyId) ?? []) this.entries.delete(hash);
    this.byKey.delete(keyId);
  }

  /**
   * While Postgres cannot answer, a key this instance saw valid keeps working (SDKs are served
   * from memory through an outage), and is remembered as valid for another `ttlMs`, so that not
   * every request waits for the database's timeout first. A key never seen valid gets the 503,
   * and a key's own end (expiry, a rotation's grace) still applies.
   */
  private async authenticateOrRemember(token: string, cached: Entry | undefined, now: number) {
    try {
      return await authenticateToken(this.db, token);
    } catch (err) {
      const seen = cached?.credential;
      if (seen === undefined || !isDatabaseUnavailable(err)) throw err;
      if (seen.validUntil !== null && seen.validUntil.getTime() <= now) throw err;
      return seen;
    }
  }

  private remember(hash: string, credential: Credential | undefined, now: number): void {
    if (this.entries.size >= MAX_ENTRIES) {
      this.entries.clear();
      this.byKey.clear();
    }
    let expires = now + (credential === undefined ? this.negativeTtlMs : this.ttlMs);
    if (credential !== undefined && credential.validUntil !== null)
      expires = Math.min(expires, credential.validUntil.getTime());
    this.entries.set(hash, { credential, expires });
    if (credential === undefined) return;
    const keyId = credential.principal.keyId;
    let hashes = this.byKey.get(keyId);
    if (hashes === undefined) {
      hashes = new Set();
      this.byKey.set(keyId, hashes);
    }
    hashes.add(hash);
  }
}

/** `previousSecret`: the request used the secret a rotation replaced, still in its grace period. */
export type SdkPrincipal = Principal & { environmentId: string; previousSecret: boolean };

/**
 * The SDK key of a request: a server or client key from `Authorization: Bearer`, or a client
 * key from `?key=` (EventSource and sendBeacon cannot set headers). Server keys never go in a
 * URL, where logs and proxies would keep them.
 */
export async function sdkPrincipal(request: FastifyRequest, keys: SdkKeyCache): Promise<SdkPrincipal> {
  const header = request.headers.authorization;
  const fromHeader = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  const fromQuery = (request.query as { key?: unknown } | undefined)?.key;
  const token = fromHeader ?? (typeof fromQuery === 'string' ? fromQuery : undefined);
  if (token === undefined) throw new AppError('UNAUTHORIZED', 'send an SDK key as "Authorization: Bearer <key>"');
  const credential = await keys.resolve(token);
  if (credential === undefined) throw new AppError('UNAUTHORIZED', 'the SDK key is unknown, revoked or expired');
  const principal = credential.principal;
  if (principal.type === 'admin' || principal.environmentId === null) {
    throw new AppError('FORBIDDEN', 'SDK routes take a server or client key, not an admin key');
  }
  if (fromHeader === undefined && principal.type !== 'client') {
    throw new AppError(
      'FORBIDDEN',
      'only client keys may be sent in the URL; send server keys in the Authorization header',
    );
  }
  return { ...principal, environmentId: principal.environmentId, previousSecret: credential.previous };
}
