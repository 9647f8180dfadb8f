import { randomBytes } from 'node:crypto';
import type { Principal } from '../../auth/principal.js';
import type { Db } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, commitChange, noChange, type Writer } from '../changes/commit-change.js';
import { digestToken, hashesMatch } from '../keys/tokens.js';
import * as store from './store.js';

export type { PersonalToken } from './store.js';

/** Personal tokens read `sy_pat_…`, told apart from keys at a glance (and redacted from logged URLs). */
export const PERSONAL_TOKEN_PREFIX = 'sy_pat_';

export const isPersonalToken = (token: string) => token.startsWith(PERSONAL_TOKEN_PREFIX);

export function tokenView(t: store.PersonalToken) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    createdAt: t.createdAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  };
}

function audit(t: store.PersonalToken, action: string, before: unknown, after: unknown) {
  return { projectId: null, action, targetKind: 'token' as const, targetKey: t.id, before, after };
}

/**
 * A person signed in with a password makes a token for scripts; it is shown this once. A token
 * cannot make another: a leaked token must not be able to outlive its own revocation.
 */
export async function createToken(w: Writer, actor: Actor, input: { name: string; expiresAt?: Date | undefined }) {
  const { userId, via } = { userId: actor.principal.userId, via: actor.principal.via };
  if (userId === null || via !== 'session') {
    throw new AppError('FORBIDDEN', 'personal tokens are made by a person signed in with a password');
  }
  const { name, expiresAt = null } = input;
  if (expiresAt !== null && expiresAt.getTime() <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future', { field: 'expiresAt' });
  }
  const token = `${PERSONAL_TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
  const digest = digestToken(token);
  const created = await commitChange(w, actor, async (tx) => ({
    entries: [],
    apply: async () => {
      const row = await store.insertToken(tx, {
        userId,
        name,
        prefix: token.slice(0, PERSONAL_TOKEN_PREFIX.length + 6),
        lookup: digest.lookup,
        tokenHash: digest.hash,
        expiresAt,
      });
      return { result: row, audit: [audit(row, 'token.create', null, tokenView(row))] };
    },
  }));
  return { created, token };
}

function personOf(principal: Principal): string {
  if (principal.userId === null) throw new AppError('FORBIDDEN', 'personal tokens belong to people; sign in');
  return principal.userId;
}

export async function listTokens(db: Db, principal: Principal) {
  return store.listTokens(db, personOf(principal));
}

/** Revokes one of the caller's own tokens (the owner may revoke anyone's); revoking twice changes nothing. */
export async function revokeToken(w: Writer, actor: Actor, id: string) {
  const userId = personOf(actor.principal);
  return commitChange(w, actor, async (tx) => {
    const token = await store.lockToken(tx, id);
    if (token === undefined || (token.userId !== userId && actor.principal.access.kind !== 'organisation')) {
      throw notFound('token', id);
    }
    if (token.revokedAt !== null) return noChange(token);
    return {
      entries: [],
      apply: async () => {
        const revoked = await store.markRevoked(tx, id);
        return { result: revoked, audit: [audit(token, 'token.revoke', tokenView(token), tokenView(revoked))] };
      },
    };
  });
}

/** The unrevoked token this secret is, or `undefined`; an expired one is returned, for the caller to refuse by name. */
export async function authenticatePersonalToken(db: Db, token: string): Promise<store.PersonalToken | undefined> {
  if (!isPersonalToken(token) || token.length > 512) return undefined;
  const digest = digestToken(token);
  for (const row of await store.findActiveByLookup(db, digest.lookup)) {
    if (hashesMatch(row.tokenHash, digest.hash)) {
      const { tokenHash: _, ...found } = row;
      return found;
    }
  }
  return undefined;
}

/** Records, in one statement, that these tokens authenticated requests (see `UsageBatch`). */
export async function markTokensUsed(db: Db, ids: string[], at: Date): Promise<void> {
  return store.markUsed(db, ids, at);
}

export const isExpired = (t: store.PersonalToken, now = Date.now()) =>
  t.expiresAt !== null && t.expiresAt.getTime() <= now;
