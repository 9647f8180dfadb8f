import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PERMISSIONS, type Permission } from '../auth/permissions.js';
import {
  assertOrganisationAdmin,
  isOrganisationWide,
  type Principal,
  projectsWith,
  roleAtLeast,
  roleIn,
} from '../auth/principal.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { adminKeyPrincipal } from '../features/keys/principal.js';
import { authenticate } from '../features/keys/service.js';
import { findProjectByKey } from '../features/projects/service.js';
import { csrfMatches, resumeSession, type SessionSettings, sessionSecretOf } from '../features/sessions/service.js';
import { authenticatePersonalToken, isExpired, isPersonalToken } from '../features/tokens/service.js';
import { accessOf, userById } from '../features/users/service.js';

export function bearerToken(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** The header a cookie-authenticated write carries its session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS'];

export interface GuardOptions {
  db: Db;
  sessions: SessionSettings;
  /** Called with the id of every admin key that authenticates a request (its last-used time). */
  onKeyUse: (keyId: string) => void;
  /** Called with the id of every personal token that authenticates a request (its last-used time). */
  onTokenUse: (tokenId: string) => void;
}

/** `METHOD /path` as the permission table names a route (a `HEAD` is its `GET`). */
const routeOf = (request: FastifyRequest) =>
  `${request.method === 'HEAD' ? 'GET' : request.method} ${request.routeOptions.url}`;

/** The route's entry in the permission table; a route without one is refused to everyone. */
export function permissionOf(request: FastifyRequest): Permission {
  const permission = PERMISSIONS[routeOf(request)];
  if (permission === undefined) throw new AppError('FORBIDDEN', 'this route has no permission entry');
  return permission;
}

/**
 * What a person whose password someone else set may still do: choose their own, and see who
 * they are (`GET /me`, which also gives the console the CSRF token the change needs after a
 * reload). Signing out is public.
 */
const BEFORE_PASSWORD_CHANGE: readonly string[] = ['PUT /api/v1/me/password', 'GET /api/v1/me'];

/**
 * The principal of a person's session or token. `undefined` when the person no longer exists;
 * refused when they are disabled, or must change their password and `route` is not that change.
 */
async function personPrincipal(
  db: Db,
  userId: string,
  via: 'session' | 'token',
  credential: { id: string; name?: string },
  route: string | undefined,
): Promise<Principal | undefined> {
  const user = await userById(db, userId);
  if (user === undefined) return undefined;
  if (user.disabledAt !== null) {
    throw new AppError('USER_DISABLED', 'this account is disabled; the organisation owner can enable it');
  }
  if (user.mustChangePassword && (route === undefined || !BEFORE_PASSWORD_CHANGE.includes(route))) {
    throw new AppError(
      'PASSWORD_CHANGE_REQUIRED',
      'choose your own password first (PUT /api/v1/me/password with currentPassword and newPassword)',
    );
  }
  return {
    name: via === 'token' ? `${user.email} (token ${JSON.stringify(credential.name)})` : user.email,
    id: via === 'token' ? `token:${credential.id}` : `user:${user.id}`,
    userId: user.id,
    via,
    access: await accessOf(db, user),
  };
}

/** What a request authenticates with: its `Authorization` and `Cookie` headers. */
export interface Credentials {
  headers: IncomingHttpHeaders;
}

/**
 * Who sent the request: a bearer token (admin key or personal token) first, else the session
 * cookie. `recheck`: asking again for a request that is still open (a change stream), which
 * neither counts as use of the session (it must still end when idle) nor checks CSRF.
 * `route`: the route asked for, as the permission table names it.
 */
async function authenticateRequest(
  request: Credentials & { method: string },
  route: string | undefined,
  options: GuardOptions,
  recheck = false,
): Promise<Principal> {
  const { db } = options;
  const token = bearerToken(request);
  if (token !== undefined) {
    if (isPersonalToken(token)) {
      const found = await authenticatePersonalToken(db, token);
      if (found === undefined) throw new AppError('UNAUTHORIZED', 'the personal token is unknown or revoked');
      if (isExpired(found)) {
        throw new AppError('TOKEN_EXPIRED', `the personal token expired at ${found.expiresAt?.toISOString()}`);
      }
      const principal = await personPrincipal(db, found.userId, 'token', found, route);
      if (principal === undefined) throw new AppError('UNAUTHORIZED', 'the personal token is unknown or revoked');
      if (!recheck) options.onTokenUse(found.id);
      return principal;
    }
    const key = await authenticate(db, token);
    if (key === undefined) throw new AppError('UNAUTHORIZED', 'the API key is unknown, revoked or expired');
    if (!recheck) options.onKeyUse(key.keyId);
    if (key.type !== 'admin') {
      throw new AppError(
        'FORBIDDEN',
        `a ${key.type} key cannot use this API; it needs an admin key or a person's token`,
      );
    }
    return adminKeyPrincipal(key);
  }
  const secret = sessionSecretOf(request.headers.cookie);
  if (secret !== undefined) {
    const session = await resumeSession(db, secret, options.sessions, { touch: !recheck });
    if (session === undefined) throw new AppError('UNAUTHORIZED', 'the session has ended; sign in again');
    if (!SAFE_METHODS.includes(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (typeof header !== 'string' || !csrfMatches(secret, header)) {
        throw new AppError('CSRF', `a write signed in by cookie must send the session's csrfToken in ${CSRF_HEADER}`);
      }
    }
    const principal = await personPrincipal(db, session.userId, 'session', session, route);
    if (principal === undefined) throw new AppError('UNAUTHORIZED', 'the session has ended; sign in again');
    return principal;
  }
  throw new AppError(
    'UNAUTHORIZED',
    'sign in (POST /api/v1/session), or send an admin key or personal token as "Authorization: Bearer <token>"',
  );
}

/**
 * Who the credentials of a request that is still open stand for now: `undefined` once the
 * session has ended or the token or key was revoked, expired or lost its rights to this API.
 */
export async function recheckCredentials(
  credentials: Credentials,
  options: GuardOptions,
): Promise<Principal | undefined> {
  try {
    return await authenticateRequest({ ...credentials, method: 'GET' }, undefined, options, true);
  } catch (err) {
    if (err instanceof AppError) return undefined;
    throw err;
  }
}

/** The project a request names: `:project` in its path, else `project` in its query or body. */
function projectNamed(request: FastifyRequest): string | undefined {
  const places = [request.params, request.query, request.body];
  for (const place of places) {
    if (place === null || typeof place !== 'object') continue;
    const value = (place as Record<string, unknown>).project;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

async function authorize(request: FastifyRequest, permission: Permission, db: Db): Promise<void> {
  const principal = request.principal;
  if (permission === 'public' || permission === 'signed-in' || principal === undefined) return;
  if (permission === 'person') {
    if (principal.userId === null)
      throw new AppError('FORBIDDEN', 'this is for people, signed in or with a personal token; not for keys');
    return;
  }
  if (permission === 'owner') return assertOrganisationAdmin(principal);
  if (isOrganisationWide(principal)) return;
  const key = projectNamed(request);
  if (key === undefined) {
    if (projectsWith(principal, permission)?.length === 0) {
      throw new AppError('FORBIDDEN', `this needs the ${permission} role in a project`);
    }
    return;
  }
  // A project that does not exist is refused like one the caller has no role in: the answer
  // tells nobody which project keys exist.
  const project = await findProjectByKey(db, key);
  const held = project === undefined ? undefined : roleIn(principal, project.id);
  if (held === undefined) throw new AppError('FORBIDDEN', `you have no role in project ${JSON.stringify(key)}`);
  if (!roleAtLeast(held, permission)) {
    throw new AppError(
      'FORBIDDEN',
      `this needs the ${permission} role in project ${JSON.stringify(key)}; you are ${held}`,
    );
  }
}

/**
 * Guards every route of the scope it is called in, from the one permission table: the caller
 * is authenticated before anything else (401), a cookie-authenticated write must carry the
 * CSRF token (403 `CSRF`), and the caller's role is judged before the body is validated (403),
 * so a refused caller learns nothing from validation errors.
 */
export function guardApi(app: FastifyInstance, options: GuardOptions): void {
  app.addHook('onRequest', async (request) => {
    if (permissionOf(request) === 'public') return;
    request.principal = await authenticateRequest(request, routeOf(request), options);
  });
  app.addHook('preValidation', async (request) => {
    await authorize(request, permissionOf(request), options.db);
  });
}
