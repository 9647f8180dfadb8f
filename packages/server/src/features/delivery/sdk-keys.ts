import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/database.js';
import { AppError, isDatabaseUnavailable } from '../../errors.js';
import type { Principal } from '../keys/principal.js';
import { authenticate } from '../keys/service.js';
import { digestToken } from '../keys/tokens.js';

interface Entry {
  principal: Principal | undefined;
  expires: number;
}

const MAX_ENTRIES = 50_000;

/**
 * SDK keys resolved from memory: SDK traffic (every poll, every reconnect of thousands of
 * clients) must not become a Postgres query each. A revoked key stops working within `ttlMs`;
 * an unknown key is remembered for `negativeTtlMs`, so a client retrying with a bad key
 * cannot turn into a storm of queries.
 */
export class SdkKeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 10_000,
    private readonly negativeTtlMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(token: string): Promise<Principal | undefined> {
    const id = digestToken(token).hash;
    const cached = this.entries.get(id);
    const now = this.now();
    if (cached !== undefined && cached.expires > now) return cached.principal;
    const principal = await this.authenticateOrRemember(token, cached);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(id, { principal, expires: now + (principal === undefined ? this.negativeTtlMs : this.ttlMs) });
    return principal;
  }

  /**
   * While Postgres cannot answer, a key this instance saw valid keeps working (SDKs are served
   * from memory through an outage), and is remembered as valid for another `ttlMs`, so that not
   * every request waits for the database's timeout first. A key never seen valid gets the 503.
   */
  private async authenticateOrRemember(token: string, cached: Entry | undefined) {
    try {
      return await authenticate(this.db, token);
    } catch (err) {
      if (cached?.principal === undefined || !isDatabaseUnavailable(err)) throw err;
      return cached.principal;
    }
  }
}

export type SdkPrincipal = Principal & { environmentId: string };

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
  const principal = await keys.resolve(token);
  if (principal === undefined) throw new AppError('UNAUTHORIZED', 'the SDK key is unknown or revoked');
  if (principal.type === 'admin' || principal.environmentId === null) {
    throw new AppError('FORBIDDEN', 'SDK routes take a server or client key, not an admin key');
  }
  if (fromHeader === undefined && principal.type !== 'client') {
    throw new AppError(
      'FORBIDDEN',
      'only client keys may be sent in the URL; send server keys in the Authorization header',
    );
  }
  return principal as SdkPrincipal;
}
