import { and, desc, eq, inArray, isNull, lt, or } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { personalTokens } from '../../db/schema.js';

export interface PersonalToken {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

const columns = {
  id: personalTokens.id,
  userId: personalTokens.userId,
  name: personalTokens.name,
  prefix: personalTokens.prefix,
  createdAt: personalTokens.createdAt,
  revokedAt: personalTokens.revokedAt,
  expiresAt: personalTokens.expiresAt,
  lastUsedAt: personalTokens.lastUsedAt,
};

export async function insertToken(
  tx: Tx,
  t: { userId: string; name: string; prefix: string; lookup: string; tokenHash: string; expiresAt: Date | null },
): Promise<PersonalToken> {
  const [row] = await tx.insert(personalTokens).values(t).returning(columns);
  return row as PersonalToken;
}

/** Unrevoked tokens whose hash starts like this one (expired ones too: they are refused by name): almost always one row, or none. */
export async function findActiveByLookup(db: Db, lookup: string): Promise<(PersonalToken & { tokenHash: string })[]> {
  return db
    .select({ ...columns, tokenHash: personalTokens.tokenHash })
    .from(personalTokens)
    .where(and(eq(personalTokens.lookup, lookup), isNull(personalTokens.revokedAt)));
}

export async function listTokens(db: Db, userId: string): Promise<PersonalToken[]> {
  return db
    .select(columns)
    .from(personalTokens)
    .where(eq(personalTokens.userId, userId))
    .orderBy(desc(personalTokens.createdAt));
}

export async function lockToken(tx: Tx, id: string): Promise<PersonalToken | undefined> {
  const [row] = await tx.select(columns).from(personalTokens).where(eq(personalTokens.id, id)).for('update');
  return row;
}

export async function markRevoked(tx: Tx, id: string): Promise<PersonalToken> {
  const [row] = await tx
    .update(personalTokens)
    .set({ revokedAt: new Date() })
    .where(eq(personalTokens.id, id))
    .returning(columns);
  return row as PersonalToken;
}

/** Moves `last_used_at` forward for these tokens, in one statement (never backwards: batches may land out of order). */
export async function markUsed(db: Db, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(personalTokens)
    .set({ lastUsedAt: at })
    .where(
      and(inArray(personalTokens.id, ids), or(isNull(personalTokens.lastUsedAt), lt(personalTokens.lastUsedAt, at))),
    );
}
