import type { Principal } from '../../auth/principal.js';
import type { KeyType } from './tokens.js';

/** The API key a request authenticated with. */
export interface KeyPrincipal {
  keyId: string;
  name: string;
  type: KeyType;
  /** An admin key's project, or `null` for an organisation-wide admin key. */
  projectId: string | null;
  environmentId: string | null;
}

/** What an admin key may do on the management API: everything, or be its one project's `admin`. */
export function adminKeyPrincipal(key: KeyPrincipal): Principal {
  return {
    name: key.name,
    id: `key:${key.keyId}`,
    userId: null,
    via: 'key',
    access:
      key.projectId === null
        ? { kind: 'organisation' }
        : { kind: 'projects', roles: new Map([[key.projectId, 'admin']]) },
  };
}
