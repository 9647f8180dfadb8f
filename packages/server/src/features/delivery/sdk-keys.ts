import type { Db } from '../../db/database.js';
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
    const principal = await authenticate(this.db, token);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(id, { principal, expires: now + (principal === undefined ? this.negativeTtlMs : this.ttlMs) });
    return principal;
  }
}
