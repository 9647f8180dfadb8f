import { AppError } from '../../errors.js';
import type { KeyType } from './tokens.js';

/** Who is calling: the API key a request authenticated with. */
export interface Principal {
  keyId: string;
  name: string;
  type: KeyType;
  /** An admin key's project, or `null` for an organisation-wide admin key. */
  projectId: string | null;
  environmentId: string | null;
}

/** A project-scoped admin key may only act on its own project. */
export function assertProjectAccess(principal: Principal, projectId: string): void {
  if (principal.projectId !== null && principal.projectId !== projectId) {
    throw new AppError('FORBIDDEN', 'this key is scoped to another project');
  }
}

export function assertOrganisationAdmin(principal: Principal): void {
  if (principal.projectId !== null) throw new AppError('FORBIDDEN', 'this needs an organisation-wide admin key');
}
