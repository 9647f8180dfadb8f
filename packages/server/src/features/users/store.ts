import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Role } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { projectMembers, users } from '../../db/schema.js';
import { AppError, sqlState, UNIQUE_VIOLATION } from '../../errors.js';

export interface User {
  id: string;
  email: string;
  owner: boolean;
  disabledAt: Date | null;
  mustChangePassword: boolean;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

const columns = {
  id: users.id,
  email: users.email,
  owner: users.owner,
  disabledAt: users.disabledAt,
  mustChangePassword: users.mustChangePassword,
  revision: users.revision,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
};

export async function insertUser(
  tx: Db | Tx,
  user: { email: string; passwordHash: string; owner: boolean; mustChangePassword: boolean },
): Promise<User> {
  try {
    const [row] = await tx.insert(users).values(user).returning(columns);
    return row as User;
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `a user with email ${JSON.stringify(user.email)} exists`, { field: 'email' });
    }
    throw err;
  }
}

export async function findUserById(db: Db | Tx, id: string): Promise<User | undefined> {
  const [row] = await db.select(columns).from(users).where(eq(users.id, id));
  return row;
}

export async function findUserByEmail(db: Db | Tx, email: string): Promise<User | undefined> {
  const [row] = await db.select(columns).from(users).where(eq(users.email, email));
  return row;
}

/** The user and the hash to check a password against. */
export async function credentialsOf(db: Db, email: string): Promise<(User & { passwordHash: string }) | undefined> {
  const [row] = await db
    .select({ ...columns, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email));
  return row;
}

export async function lockUser(tx: Tx, id: string): Promise<(User & { passwordHash: string }) | undefined> {
  const [row] = await tx
    .select({ ...columns, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.id, id))
    .for('update');
  return row;
}

/** The person's own new password: nothing more to change at their next sign-in. */
export async function setPasswordHash(tx: Tx, id: string, passwordHash: string): Promise<User> {
  const [row] = await tx
    .update(users)
    .set({ passwordHash, mustChangePassword: false, revision: sql`${users.revision} + 1`, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning(columns);
  return row as User;
}

/** What the owner changes on a person: their owner flag, or a password they must replace at next sign-in. */
export async function updateUser(
  tx: Tx,
  id: string,
  change: { owner?: boolean | undefined; passwordHash?: string | undefined },
): Promise<User> {
  const [row] = await tx
    .update(users)
    .set({
      ...(change.owner === undefined ? {} : { owner: change.owner }),
      ...(change.passwordHash === undefined ? {} : { passwordHash: change.passwordHash, mustChangePassword: true }),
      revision: sql`${users.revision} + 1`,
      updatedAt: new Date(),
    })
    .where(eq(users.id, id))
    .returning(columns);
  return row as User;
}

export async function setDisabled(tx: Tx, id: string, disabled: boolean): Promise<User> {
  const [row] = await tx
    .update(users)
    .set({ disabledAt: disabled ? new Date() : null, revision: sql`${users.revision} + 1`, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning(columns);
  return row as User;
}

/** Removes the person; their sessions, tokens and memberships go with them (the audit log keeps their name). */
export async function deleteUser(tx: Tx, id: string): Promise<void> {
  await tx.delete(users).where(eq(users.id, id));
}

/**
 * The ids of the enabled owners, locked until the transaction ends: two owners disabling each
 * other at once cannot both pass the last-owner check.
 */
export async function lockEnabledOwners(tx: Tx): Promise<string[]> {
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.owner, true), isNull(users.disabledAt)))
    .orderBy(asc(users.id))
    .for('update');
  return rows.map((r) => r.id);
}

export async function listUsers(db: Db): Promise<User[]> {
  return db.select(columns).from(users).orderBy(asc(users.email));
}

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(users);
  return row?.n ?? 0;
}

/** The person's role in each project they are a member of. */
export async function rolesOf(db: Db, userId: string): Promise<Map<string, Role>> {
  const rows = await db
    .select({ projectId: projectMembers.projectId, role: projectMembers.role })
    .from(projectMembers)
    .where(eq(projectMembers.userId, userId));
  return new Map(rows.map((r) => [r.projectId, r.role]));
}

export interface Member {
  userId: string;
  email: string;
  role: Role;
  createdAt: Date;
}

const memberColumns = {
  userId: projectMembers.userId,
  email: users.email,
  role: projectMembers.role,
  createdAt: projectMembers.createdAt,
};

export async function listMembers(db: Db, projectId: string): Promise<Member[]> {
  return db
    .select(memberColumns)
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(eq(projectMembers.projectId, projectId))
    .orderBy(asc(users.email));
}

/** The membership's row, locked until the transaction ends. */
export async function lockMember(tx: Tx, projectId: string, userId: string): Promise<Member | undefined> {
  const [row] = await tx
    .select(memberColumns)
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .for('update', { of: projectMembers });
  return row;
}

export async function insertMember(tx: Tx, projectId: string, user: User, role: Role): Promise<Member> {
  try {
    const [row] = await tx
      .insert(projectMembers)
      .values({ projectId, userId: user.id, role })
      .returning({ createdAt: projectMembers.createdAt });
    return { userId: user.id, email: user.email, role, createdAt: (row as { createdAt: Date }).createdAt };
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `${user.email} is already a member of the project; change their role instead`, {
        field: 'email',
      });
    }
    throw err;
  }
}

export async function setMemberRole(tx: Tx, projectId: string, userId: string, role: Role): Promise<void> {
  await tx
    .update(projectMembers)
    .set({ role })
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)));
}

export async function deleteMember(tx: Tx, projectId: string, userId: string): Promise<void> {
  await tx
    .delete(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)));
}
