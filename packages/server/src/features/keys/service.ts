import { assertOrganisationAdmin, assertProjectAccess, type Principal, projectsWith } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, commitChange, noChange, type Writer } from '../changes/commit-change.js';
import { assertRevision } from '../changes/precondition.js';
import { environmentById, requireEnvironment } from '../environments/service.js';
import { projectById, requireProject } from '../projects/service.js';
import type { KeyPrincipal } from './principal.js';
import * as store from './store.js';
import { digestToken, hashesMatch, type KeyType, newToken } from './tokens.js';

export async function keyView(db: Db, k: store.ApiKey) {
  const project = k.projectId === null ? undefined : await projectById(db, k.projectId);
  const env = k.environmentId === null ? undefined : await environmentById(db, k.environmentId);
  return {
    id: k.id,
    name: k.name,
    type: k.type,
    prefix: k.prefix,
    project: project?.key ?? null,
    environment: env?.key ?? null,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    /** Until when the secret the last rotation replaced still works; `null` if never rotated. */
    previousSecretExpiresAt: k.previousExpiresAt?.toISOString() ?? null,
    /** Recorded in batches: up to a few seconds behind the last request. */
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revision: k.revision,
  };
}

export interface CreateKeyInput {
  name: string;
  type: KeyType;
  project?: string | undefined;
  environment?: string | undefined;
  expiresAt?: Date | undefined;
}

function checkExpiry(expiresAt: Date | null | undefined): void {
  if (expiresAt instanceof Date && expiresAt.getTime() <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future; to stop a key now, revoke it', {
      field: 'expiresAt',
    });
  }
}

/** Creates a key and returns its token: the only time the token is ever shown. */
export async function createKey(w: Writer, actor: Actor, input: CreateKeyInput, token = newToken(input.type)) {
  const { db } = w;
  let projectId: string | null = null;
  let environmentId: string | null = null;
  checkExpiry(input.expiresAt);
  if (input.type === 'admin') {
    if (input.environment !== undefined) {
      throw new AppError(
        'VALIDATION_FAILED',
        'admin keys belong to a project or the organisation, not an environment',
        { field: 'environment' },
      );
    }
    if (input.project === undefined) assertOrganisationAdmin(actor.principal);
  } else if (input.project === undefined || input.environment === undefined) {
    const field = input.project === undefined ? 'project' : 'environment';
    throw new AppError(
      'VALIDATION_FAILED',
      `${input.type} keys belong to one environment: name its project and environment`,
      { field },
    );
  }
  if (input.project !== undefined) {
    const project = await requireProject(db, actor.principal, input.project);
    assertProjectAccess(actor.principal, project.id, 'admin');
    projectId = project.id;
    if (input.environment !== undefined) environmentId = (await requireEnvironment(db, project, input.environment)).id;
  }
  const digest = digestToken(token);
  const key = await commitChange(w, actor, async (tx) => ({
    entries: [],
    apply: async () => {
      const created = await store.insertKey(
        tx,
        { name: input.name, type: input.type, projectId, environmentId, expiresAt: input.expiresAt ?? null },
        digest,
      );
      return {
        result: created,
        audit: [
          {
            projectId,
            environmentId,
            action: 'key.create',
            targetKind: 'key',
            targetKey: created.id,
            before: null,
            after: shown(created),
          },
        ],
      };
    },
  }));
  return { key, token };
}

/** What the audit log records of a key: never a secret or its hash. */
function shown(k: store.ApiKey) {
  return {
    name: k.name,
    type: k.type,
    prefix: k.prefix,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    previousSecretExpiresAt: k.previousExpiresAt?.toISOString() ?? null,
  };
}

function keyAudit(key: store.ApiKey, action: string, before: store.ApiKey, after: store.ApiKey) {
  return {
    projectId: key.projectId,
    environmentId: key.environmentId,
    action,
    targetKind: 'key' as const,
    targetKey: key.id,
    before: shown(before),
    after: shown(after),
  };
}

/** Renames a key or moves its expiry (`null`: never expires). */
export async function updateKey(
  w: Writer,
  actor: Actor,
  id: string,
  patch: { name?: string | undefined; expiresAt?: Date | null | undefined },
  ifMatch: number | undefined,
) {
  checkExpiry(patch.expiresAt);
  return commitChange(w, actor, async (tx) => {
    const key = await lockAt(tx, actor, id, ifMatch);
    if (key.revokedAt !== null) throw new AppError('CONFLICT', 'the key is revoked; create a new one');
    const fields: { name?: string; expiresAt?: Date | null } = {};
    if (patch.name !== undefined) fields.name = patch.name;
    if (patch.expiresAt !== undefined) fields.expiresAt = patch.expiresAt;
    if (Object.keys(fields).length === 0) return noChange(key);
    return {
      entries: [],
      apply: async () => {
        const updated = await store.updateKey(tx, id, fields);
        return { result: updated, audit: [keyAudit(key, 'key.update', key, updated)] };
      },
    };
  });
}

/** Default and longest grace period of a rotation, in seconds: an hour, and a week. */
export const ROTATION_GRACE = { defaultSeconds: 3600, maxSeconds: 7 * 24 * 3600 } as const;

/**
 * Gives a key a new secret, shown once. The secret it replaces keeps working for
 * `graceSeconds` (0: stops at once), long enough to redeploy what uses it; a second rotation
 * within that time ends the first one's grace period, since only one old secret is kept.
 */
export async function rotateKey(
  w: Writer,
  actor: Actor,
  id: string,
  graceSeconds: number,
  ifMatch: number | undefined,
) {
  return commitChange(w, actor, async (tx) => {
    const key = await lockAt(tx, actor, id, ifMatch);
    if (key.revokedAt !== null) throw new AppError('CONFLICT', 'the key is revoked; create a new one');
    const token = newToken(key.type);
    return {
      entries: [],
      apply: async () => {
        const rotated = await store.rotateSecret(tx, id, digestToken(token), graceSeconds);
        return { result: { key: rotated, token }, audit: [keyAudit(key, 'key.rotate', key, rotated)] };
      },
    };
  });
}

/** The keys of one project, or of every project where the caller is `admin` (all keys for the organisation). */
export async function listKeys(db: Db, principal: Principal, projectKey: string | undefined) {
  if (projectKey !== undefined) {
    const project = await requireProject(db, principal, projectKey);
    assertProjectAccess(principal, project.id, 'admin');
    return store.listKeys(db, [project.id]);
  }
  return store.listKeys(db, projectsWith(principal, 'admin'));
}

/** One key, when the caller may see it. */
export async function getKey(db: Db, principal: Principal, id: string): Promise<store.ApiKey> {
  const key = await store.findKey(db, id);
  if (key === undefined) throw notFound('key', id);
  assertKeyAccess(principal, key);
  return key;
}

function assertKeyAccess(principal: Principal, key: store.ApiKey): void {
  if (key.projectId === null) assertOrganisationAdmin(principal);
  else assertProjectAccess(principal, key.projectId, 'admin');
}

/** The key's row, locked, when the caller may change it and at the revision `If-Match` names (if any). */
async function lockAt(tx: Tx, actor: Actor, id: string, ifMatch: number | undefined): Promise<store.ApiKey> {
  const key = await store.lockKey(tx, id);
  if (key === undefined) throw notFound('key', id);
  assertKeyAccess(actor.principal, key);
  assertRevision('key', key.revision, ifMatch);
  return key;
}

/** Revokes a key at once; revoking a revoked key changes nothing. */
export async function revokeKey(w: Writer, actor: Actor, id: string, ifMatch: number | undefined) {
  return commitChange(w, actor, async (tx) => {
    const key = await lockAt(tx, actor, id, ifMatch);
    if (key.revokedAt !== null) return noChange(key);
    return {
      entries: [],
      apply: async () => {
        const revoked = await store.markRevoked(tx, id);
        return { result: revoked, audit: [keyAudit(key, 'key.revoke', key, revoked)] };
      },
    };
  });
}

/** How many unrevoked SDK keys read this environment. */
export async function activeKeysOfEnvironment(tx: Tx, environmentId: string): Promise<number> {
  return store.countActiveForEnvironment(tx, environmentId);
}

/** Which of these keys are revoked or expired: delivery closes the streams they opened. */
export async function revokedAmong(db: Db, ids: string[]): Promise<string[]> {
  return store.revokedAmong(db, ids);
}

export type { KeyChange } from './store.js';

/** Keys whose grant changed (revoked, rotated, expiry moved or passed) since the last call: what every instance polls. */
export async function keysChangedSince(db: Db, since: string | undefined) {
  return store.changedSince(db, since);
}

/** Stamps the last use of these keys, for the key list. */
export async function markKeysUsed(db: Db, ids: string[], at: Date): Promise<void> {
  return store.markUsed(db, ids, at);
}

/** A token's key, and how long the token may be trusted without asking Postgres again. */
export interface Credential {
  principal: KeyPrincipal;
  /** When the token stops working on its own (the key's expiry, the end of a grace period); `null`: only revocation ends it. */
  validUntil: Date | null;
  /** The token is the secret a rotation replaced, in its grace period. */
  previous: boolean;
}

/** The key a token stands for, or `undefined` for an unknown, revoked or expired token. */
export async function authenticateToken(db: Db, token: string): Promise<Credential | undefined> {
  if (token.length === 0 || token.length > 512) return undefined;
  const digest = digestToken(token);
  for (const key of await store.findActiveByLookup(db, digest.lookup)) {
    const current = hashesMatch(key.tokenHash, digest.hash);
    const previous = !current && key.previousTokenHash !== null && hashesMatch(key.previousTokenHash, digest.hash);
    if (!current && !previous) continue;
    const ends = [key.expiresAt, previous ? key.previousExpiresAt : null].filter((d): d is Date => d !== null);
    return {
      principal: {
        keyId: key.id,
        name: key.name,
        type: key.type,
        projectId: key.projectId,
        environmentId: key.environmentId,
      },
      validUntil: ends.length === 0 ? null : new Date(Math.min(...ends.map((d) => d.getTime()))),
      previous,
    };
  }
  return undefined;
}

/** The principal a token stands for, or `undefined` for an unknown, revoked or expired token. */
export async function authenticate(db: Db, token: string): Promise<KeyPrincipal | undefined> {
  return (await authenticateToken(db, token))?.principal;
}
