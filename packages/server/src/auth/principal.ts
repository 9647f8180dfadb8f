import { AppError } from '../errors.js';

/** A person's role in one project; each includes the ones before it. */
export type Role = 'viewer' | 'editor' | 'admin';

export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin'];

export const roleAtLeast = (held: Role, needed: Role) => ROLES.indexOf(held) >= ROLES.indexOf(needed);

/**
 * What a caller may reach: everything (the organisation owner, an organisation-wide admin key,
 * the server itself), or some projects, each with a role (a person's memberships, or the one
 * project of a project-scoped admin key, as its `admin`).
 */
export type Access = { kind: 'organisation' } | { kind: 'projects'; roles: ReadonlyMap<string, Role> };

/** Who is calling the management API, and what the audit log calls them. */
export interface Principal {
  /** What the audit log shows: a person's email (with the token's name for a personal token), or a key's name. */
  name: string;
  /** Stable and unique: `user:<id>`, `token:<id>`, `key:<id>` or `system`. */
  id: string;
  /** The person a session or personal token acts for; `null` for keys and the server. */
  userId: string | null;
  /** How the caller authenticated: cookie-authenticated writes must carry the CSRF token. */
  via: 'session' | 'token' | 'key' | 'system';
  access: Access;
}

export const ORGANISATION: Access = { kind: 'organisation' };

/** The server's own writes: first start, release plan steps, schedules. */
export const SYSTEM_PRINCIPAL: Principal = {
  name: 'system',
  id: 'system',
  userId: null,
  via: 'system',
  access: ORGANISATION,
};

export const isOrganisationWide = (p: Principal) => p.access.kind === 'organisation';

/** The caller's role in a project, `admin` for organisation-wide callers, `undefined` without one. */
export function roleIn(p: Principal, projectId: string): Role | undefined {
  return p.access.kind === 'organisation' ? 'admin' : p.access.roles.get(projectId);
}

/** The projects where the caller holds at least `role`; `undefined` means every project. */
export function projectsWith(p: Principal, role: Role): string[] | undefined {
  if (p.access.kind === 'organisation') return undefined;
  return [...p.access.roles].filter(([, held]) => roleAtLeast(held, role)).map(([id]) => id);
}

/** The caller must hold at least `role` in the project (`viewer`: be able to see it at all). */
export function assertProjectAccess(p: Principal, projectId: string, role: Role = 'viewer'): void {
  const held = roleIn(p, projectId);
  if (held === undefined) throw new AppError('FORBIDDEN', 'you have no role in this project');
  if (!roleAtLeast(held, role)) throw new AppError('FORBIDDEN', `this needs the ${role} role in the project`);
}

export function assertOrganisationAdmin(p: Principal): void {
  if (!isOrganisationWide(p)) {
    throw new AppError('FORBIDDEN', 'this needs the organisation owner or an organisation-wide admin key');
  }
}
