import {
  type Access,
  assertOrganisationAdmin,
  assertProjectAccess,
  ORGANISATION,
  type Principal,
  type Role,
} from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, commitChange, noChange, type Writer } from '../changes/commit-change.js';
import { requireProject } from '../projects/service.js';
import { endSessionsOf } from '../sessions/service.js';
import { decoyHash, hashPassword, verifyPassword } from './password.js';
import * as store from './store.js';

export type { Member, User } from './store.js';

/** Emails are compared trimmed and lower-cased: `Alice@Example.com ` is `alice@example.com`. */
export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function userView(u: store.User) {
  return {
    id: u.id,
    email: u.email,
    owner: u.owner,
    disabledAt: u.disabledAt?.toISOString() ?? null,
    mustChangePassword: u.mustChangePassword,
    createdAt: u.createdAt.toISOString(),
  };
}

/** What a person may reach now: read at every request, so a changed role takes effect at once. */
export async function accessOf(db: Db, user: store.User): Promise<Access> {
  return user.owner ? ORGANISATION : { kind: 'projects', roles: await store.rolesOf(db, user.id) };
}

export async function userById(db: Db, id: string): Promise<store.User | undefined> {
  return store.findUserById(db, id);
}

/** The person these credentials belong to, or `undefined`; as slow for an unknown email as for a wrong password. */
export async function checkPassword(db: Db, email: string, password: string): Promise<store.User | undefined> {
  const found = await store.credentialsOf(db, normaliseEmail(email));
  const matches = await verifyPassword(password, found?.passwordHash ?? (await decoyHash()));
  if (found === undefined || !matches) return undefined;
  const { passwordHash: _, ...user } = found;
  return user;
}

export async function createUser(
  w: Writer,
  actor: Actor,
  input: { email: string; password: string; owner?: boolean | undefined; mustChangePassword?: boolean | undefined },
): Promise<store.User> {
  assertOrganisationAdmin(actor.principal);
  const passwordHash = await hashPassword(input.password);
  return commitChange(w, actor, async (tx) => ({
    entries: [],
    apply: async () => {
      const user = await store.insertUser(tx, {
        email: normaliseEmail(input.email),
        passwordHash,
        owner: input.owner ?? false,
        // Whoever set this password knows it: by default the person replaces it at first sign-in.
        mustChangePassword: input.mustChangePassword ?? true,
      });
      return {
        result: user,
        audit: [
          {
            projectId: null,
            action: 'user.create',
            targetKind: 'user',
            targetKey: user.email,
            before: null,
            after: userView(user),
          },
        ],
      };
    },
  }));
}

export async function listUsers(db: Db, principal: Principal) {
  assertOrganisationAdmin(principal);
  return store.listUsers(db);
}

/**
 * A person changes their own password, proving they know the current one. Every other session
 * of theirs ends with it: whoever signed in with the old password is signed out, while the
 * session making the change (`keepSession`, its cookie's secret) stays. Personal tokens stay:
 * they are revoked one by one.
 */
export async function changePassword(
  w: Writer,
  actor: Actor,
  input: { currentPassword: string; newPassword: string },
  keepSession?: string,
): Promise<void> {
  const userId = actor.principal.userId;
  if (userId === null) throw new AppError('FORBIDDEN', 'only a person has a password');
  if (input.newPassword === input.currentPassword) {
    throw new AppError('VALIDATION_FAILED', 'the new password must differ from the current one', {
      field: 'newPassword',
    });
  }
  const newHash = await hashPassword(input.newPassword);
  await commitChange(w, actor, async (tx) => {
    const user = await store.lockUser(tx, userId);
    if (user === undefined) throw notFound('user', userId);
    if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
      throw new AppError('FORBIDDEN', 'the current password is wrong', { field: 'currentPassword' });
    }
    return {
      entries: [],
      apply: async () => {
        await store.setPasswordHash(tx, userId, newHash);
        await endSessionsOf(tx, userId, keepSession);
        return {
          result: undefined,
          // The audit log records that it changed, never a password or its hash.
          audit: [
            {
              projectId: null,
              action: 'user.password',
              targetKind: 'user',
              targetKey: user.email,
              before: null,
              after: null,
            },
          ],
        };
      },
    };
  });
}

/** The person's row, locked until the transaction ends, without their password hash. */
async function lockPerson(tx: Tx, userId: string): Promise<store.User> {
  const found = await store.lockUser(tx, userId);
  if (found === undefined) throw notFound('user', userId);
  const { passwordHash: _, ...user } = found;
  return user;
}

/**
 * Locks what a disable or delete depends on, enabled owners first (always in one order, so two
 * such changes at once wait for each other instead of deadlocking), then the person; and refuses
 * to lock the organisation out: nobody disables or deletes themselves, nor the last enabled owner.
 */
async function lockForLockout(
  tx: Tx,
  actor: Actor,
  userId: string,
  verb: string,
  losesOwnership = true,
): Promise<store.User> {
  const owners = await store.lockEnabledOwners(tx);
  const user = await lockPerson(tx, userId);
  if (actor.principal.userId === userId) {
    throw new AppError('SELF_LOCKOUT', `you cannot ${verb} your own account; another owner can`);
  }
  if (losesOwnership && owners.includes(userId) && owners.length === 1) {
    throw new AppError(
      'LAST_OWNER',
      `${user.email} is the last enabled owner; make another person owner before you ${verb} them`,
    );
  }
  return user;
}

function userAudit(user: store.User, action: string, before: unknown, after: unknown) {
  return { projectId: null, action, targetKind: 'user' as const, targetKey: user.email, before, after };
}

/**
 * Disables or enables a person. Disabling ends their sessions at once and refuses their personal
 * tokens (and so ends their open change streams at the next check) until they are enabled again.
 */
export async function setUserDisabled(w: Writer, actor: Actor, userId: string, disabled: boolean) {
  assertOrganisationAdmin(actor.principal);
  return commitChange(w, actor, async (tx) => {
    const user = disabled ? await lockForLockout(tx, actor, userId, 'disable') : await lockPerson(tx, userId);
    if ((user.disabledAt !== null) === disabled) return noChange(user);
    return {
      entries: [],
      apply: async () => {
        const after = await store.setDisabled(tx, userId, disabled);
        if (disabled) await endSessionsOf(tx, userId);
        const action = disabled ? 'user.disable' : 'user.enable';
        return { result: after, audit: [userAudit(user, action, userView(user), userView(after))] };
      },
    };
  });
}

/**
 * The owner makes a person owner or not, or sets a password for them (someone who lost theirs):
 * they must replace it at their next sign-in, and their sessions end. Nobody changes these on
 * themselves here (their own password is changed with the current one, at `PUT /me/password`),
 * and the last enabled owner stays owner.
 */
export async function updateUser(
  w: Writer,
  actor: Actor,
  userId: string,
  change: { owner?: boolean | undefined; password?: string | undefined },
) {
  assertOrganisationAdmin(actor.principal);
  const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password);
  return commitChange(w, actor, async (tx) => {
    const verb = change.owner === false ? 'demote' : 'set a password for';
    const user =
      change.owner === false || change.password !== undefined
        ? await lockForLockout(tx, actor, userId, verb, change.owner === false)
        : await lockPerson(tx, userId);
    if (passwordHash === undefined && user.owner === change.owner) return noChange(user);
    return {
      entries: [],
      apply: async () => {
        const after = await store.updateUser(tx, userId, { owner: change.owner, passwordHash });
        if (passwordHash !== undefined) await endSessionsOf(tx, userId);
        // The audit entry says that a password was set, never the password or its hash.
        return { result: after, audit: [userAudit(user, 'user.update', userView(user), userView(after))] };
      },
    };
  });
}

/**
 * Deletes a person with their sessions, tokens and memberships. The audit log keeps every entry
 * they made, signed with their email as it was then.
 */
export async function deleteUser(w: Writer, actor: Actor, userId: string): Promise<void> {
  assertOrganisationAdmin(actor.principal);
  await commitChange(w, actor, async (tx) => {
    const user = await lockForLockout(tx, actor, userId, 'delete');
    return {
      entries: [],
      apply: async () => {
        await store.deleteUser(tx, userId);
        return { result: undefined, audit: [userAudit(user, 'user.delete', userView(user), null)] };
      },
    };
  });
}

/** The first start's owner, when the database has no user yet. */
export async function createFirstOwner(w: Writer, actor: Actor, email: string, password: string) {
  if ((await store.countUsers(w.db)) > 0) return undefined;
  try {
    return await createUser(w, actor, { email, password, owner: true });
  } catch (err) {
    // Two instances starting on one new database: the other one created the owner.
    if (err instanceof AppError && err.code === 'CONFLICT') return undefined;
    throw err;
  }
}

export function memberView(m: store.Member) {
  return { userId: m.userId, email: m.email, role: m.role, createdAt: m.createdAt.toISOString() };
}

export async function listMembers(db: Db, principal: Principal, projectKey: string) {
  const project = await requireProject(db, principal, projectKey);
  return store.listMembers(db, project.id);
}

async function adminProject(w: Writer, actor: Actor, projectKey: string) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  assertProjectAccess(actor.principal, project.id, 'admin');
  return project;
}

function memberAudit(projectId: string, action: string, email: string, before: unknown, after: unknown) {
  return { projectId, action, targetKind: 'member' as const, targetKey: email, before, after };
}

export async function addMember(w: Writer, actor: Actor, projectKey: string, input: { email: string; role: Role }) {
  const project = await adminProject(w, actor, projectKey);
  const email = normaliseEmail(input.email);
  const user = await store.findUserByEmail(w.db, email);
  if (user === undefined) {
    throw new AppError('NOT_FOUND', `no user has the email ${JSON.stringify(email)}; the owner creates users`, {
      field: 'email',
    });
  }
  return commitChange(w, actor, async (tx) => ({
    entries: [],
    apply: async () => {
      const member = await store.insertMember(tx, project.id, user, input.role);
      return { result: member, audit: [memberAudit(project.id, 'member.add', email, null, memberView(member))] };
    },
  }));
}

export async function changeMemberRole(w: Writer, actor: Actor, projectKey: string, userId: string, role: Role) {
  const project = await adminProject(w, actor, projectKey);
  return commitChange(w, actor, async (tx) => {
    const member = await store.lockMember(tx, project.id, userId);
    if (member === undefined) throw notFound('member', userId);
    if (member.role === role) return noChange(member);
    return {
      entries: [],
      apply: async () => {
        await store.setMemberRole(tx, project.id, userId, role);
        const after = { ...member, role };
        return {
          result: after,
          audit: [memberAudit(project.id, 'member.update', member.email, memberView(member), memberView(after))],
        };
      },
    };
  });
}

export async function removeMember(w: Writer, actor: Actor, projectKey: string, userId: string): Promise<void> {
  const project = await adminProject(w, actor, projectKey);
  await commitChange(w, actor, async (tx) => {
    const member = await store.lockMember(tx, project.id, userId);
    if (member === undefined) throw notFound('member', userId);
    return {
      entries: [],
      apply: async () => {
        await store.deleteMember(tx, project.id, userId);
        return {
          result: undefined,
          audit: [memberAudit(project.id, 'member.remove', member.email, memberView(member), null)],
        };
      },
    };
  });
}
