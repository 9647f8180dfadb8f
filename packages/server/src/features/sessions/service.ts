import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Tx } from '../../db/database.js';
import * as store from './store.js';

export interface SessionSettings {
  /** A session nobody used for this long ends (`SWITCHYARD_SESSION_IDLE_SECONDS`, default 12 hours). */
  idleSeconds: number;
  /** A session ends this long after sign-in however active (`SWITCHYARD_SESSION_MAX_SECONDS`, default 7 days). */
  maxSeconds: number;
  /**
   * `Secure` on the cookie: `auto` sets it when the request came over https (behind a proxy,
   * with `SWITCHYARD_TRUST_PROXY` so its `X-Forwarded-Proto` is believed); `always` sets it on
   * every sign-in (`SWITCHYARD_SECURE_COOKIES`).
   */
  secureCookies: 'auto' | 'always';
}

export const DEFAULT_SESSIONS: SessionSettings = {
  idleSeconds: 12 * 3600,
  maxSeconds: 7 * 24 * 3600,
  secureCookies: 'auto',
};

export const SESSION_COOKIE = 'sy_session';

/** The last-seen time is written at most this often per session, not at every request. */
const TOUCH_EVERY_MS = 60_000;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The CSRF token of a session: derived from the cookie's secret, which scripts on other sites
 * cannot read, so it needs no storage and changes with every sign-in.
 */
export const csrfTokenOf = (secret: string) => sha256(`csrf:${secret}`);

export function csrfMatches(secret: string, header: string): boolean {
  const expected = Buffer.from(csrfTokenOf(secret));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Starts a session for a person who just proved who they are. The secret is always new
 * (whatever cookie the browser sent is ignored: no session fixation) and only its SHA-256 is stored.
 */
export async function startSession(db: Db, userId: string, settings: SessionSettings) {
  const secret = `sy_session_${randomBytes(32).toString('base64url')}`;
  const session = await store.insertSession(db, {
    userId,
    tokenHash: sha256(secret),
    expiresAt: new Date(Date.now() + settings.maxSeconds * 1000),
  });
  return { session, secret, csrfToken: csrfTokenOf(secret) };
}

/**
 * The live session this cookie value opens, or `undefined`. `touch: false` looks without
 * counting as use: an open change stream re-checks its session, and must not keep it alive.
 */
export async function resumeSession(
  db: Db,
  secret: string,
  settings: SessionSettings,
  { touch = true }: { touch?: boolean } = {},
): Promise<store.Session | undefined> {
  if (secret.length === 0 || secret.length > 200) return undefined;
  const session = await store.findLiveSession(db, sha256(secret), settings.idleSeconds);
  if (touch && session !== undefined && Date.now() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await store.touchSession(db, session.id);
  }
  return session;
}

export async function endSession(db: Db, secret: string): Promise<void> {
  await store.deleteByHash(db, sha256(secret));
}

/**
 * Signs a person out everywhere (their password changed, or they were disabled), except the
 * session whose cookie secret is `keep`: the one that made the change.
 */
export async function endSessionsOf(tx: Db | Tx, userId: string, keep?: string): Promise<void> {
  await store.deleteForUser(tx, userId, keep === undefined ? undefined : sha256(keep));
}

export async function deleteExpiredSessions(db: Db, settings: SessionSettings): Promise<void> {
  await store.deleteExpired(db, settings.idleSeconds);
}

/** The cookie that carries the session's secret: never readable by scripts, never sent cross-site on a write. */
export function sessionCookie(secret: string, maxSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${secret}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${maxSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return [`${SESSION_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=0', ...(secure ? ['Secure'] : [])].join(
    '; ',
  );
}

/** The session cookie's value in a `Cookie` header, if any. */
export function sessionSecretOf(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}
