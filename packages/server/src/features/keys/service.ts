import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Actor, commitChange, noChange, type Writer } from '../changes/commit-change.js';
import { assertRevision } from '../changes/precondition.js';
import { environmentById, requireEnvironment } from '../environments/service.js';
import { projectById, requireProject } from '../projects/service.js';
import { assertOrganisationAdmin, assertProjectAccess, type Principal } from './principal.js';
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
    revision: k.revision,
  };
}

export interface CreateKeyInput {
  name: string;
  type: KeyType;
  project?: string | undefined;
  environment?: string | undefined;
}

/** Creates a key and returns its token: the only time the token is ever shown. */
export async function createKey(w: Writer, actor: Actor, input: CreateKeyInput, token = newToken(input.type)) {
  const { db } = w;
  let projectId: string | null = null;
  let environmentId: string | null = null;
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
    projectId = project.id;
    if (input.environment !== undefined) environmentId = (await requireEnvironment(db, project, input.environment)).id;
  }
  const digest = digestToken(token);
  const key = await commitChange(w, actor, async (tx) => ({
    entries: [],
    apply: async () => {
      const created = await store.insertKey(
        tx,
        { name: input.name, type: input.type, projectId, environmentId },
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
            after: { name: created.name, type: created.type, prefix: created.prefix },
          },
        ],
      };
    },
  }));
  return { key, token };
}

export async function listKeys(db: Db, principal: Principal, projectKey: string | undefined) {
  const projectId = projectKey === undefined ? undefined : (await requireProject(db, principal, projectKey)).id;
  if (projectId === undefined && principal.projectId !== null) return store.listKeys(db, principal.projectId);
  return store.listKeys(db, projectId);
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
  else assertProjectAccess(principal, key.projectId);
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
        const shown = { name: key.name, type: key.type, prefix: key.prefix };
        return {
          result: revoked,
          audit: [
            {
              projectId: key.projectId,
              environmentId: key.environmentId,
              action: 'key.revoke',
              targetKind: 'key',
              targetKey: key.id,
              before: { ...shown, revokedAt: null },
              after: { ...shown, revokedAt: revoked.revokedAt?.toISOString() },
            },
          ],
        };
      },
    };
  });
}

/** How many unrevoked SDK keys read this environment. */
export async function activeKeysOfEnvironment(tx: Tx, environmentId: string): Promise<number> {
  return store.countActiveForEnvironment(tx, environmentId);
}

/** Which of these keys are revoked: delivery closes the streams they opened. */
export async function revokedAmong(db: Db, ids: string[]): Promise<string[]> {
  return store.revokedAmong(db, ids);
}

/** The principal a token stands for, or `undefined` for an unknown or revoked token. */
export async function authenticate(db: Db, token: string): Promise<Principal | undefined> {
  if (token.length === 0 || token.length > 512) return undefined;
  const digest = digestToken(token);
  const candidates = await store.findActiveByLookup(db, digest.lookup);
  const key = candidates.find((k) => hashesMatch(k.tokenHash, digest.hash));
  if (key === undefined) return undefined;
  return { keyId: key.id, name: key.name, type: key.type, projectId: key.projectId, environmentId: key.environmentId };
}
