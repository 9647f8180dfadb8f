import { and, eq, gt, lt, ne, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { sessions } from '../../db/schema.js';

export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export async function insertSession(
  db: Db,
  s: { userId: string; tokenHash: string; expiresAt: Date },
): Promise<Session> {
  const [row] = await db.insert(sessions).values(s).returning({
    id: sessions.id,
    userId: sessions.userId,
    createdAt: sessions.createdAt,
    lastSeenAt: sessions.lastSeenAt,
    expiresAt: sessions.expiresAt,
  });
  return row as Session;
}

/** The session with this hash, unless it passed its absolute expiry or sat idle for `idleSeconds`. */
export async function findLiveSession(db: Db, tokenHash: string, idleSeconds: number): Promise<Session | undefined> {
  const [row] = await db
    .select({
      id: sessions.id,
      userId: sessions.userId,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .where(
      and(
        eq(sessions.tokenHash, tokenHash),
        gt(sessions.expiresAt, sql`now()`),
        gt(sessions.lastSeenAt, sql`now() - make_interval(secs => ${idleSeconds})`),
      ),
    );
  return row;
}

export async function touchSession(db: Db, id: string): Promise<void> {
  await db.update(sessions).set({ lastSeenAt: sql`now()` }).where(eq(sessions.id, id));
}

export async function deleteByHash(db: Db, tokenHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, tokenHash));
}

/** Sessions past their absolute expiry or idle too long: nobody can use them any more. */
export async function deleteExpired(db: Db, idleSeconds: number): Promise<void> {
  await db
    .delete(sessions)
    .where(
      sql`${lt(sessions.expiresAt, sql`now()`)} or ${lt(sessions.lastSeenAt, sql`now() - make_interval(secs => ${idleSeconds})`)}`,
    );
}

export async function deleteForUser(tx: Db | Tx, userId: string, exceptHash?: string): Promise<void> {
  const except = exceptHash === undefined ? undefined : ne(sessions.tokenHash, exceptHash);
  await tx.delete(sessions).where(and(eq(sessions.userId, userId), except));
}
