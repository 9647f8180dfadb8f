import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Principal } from '../features/keys/principal.js';
import { authenticate } from '../features/keys/service.js';
import type { KeyType } from '../features/keys/tokens.js';

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/**
 * Guards every route of the scope it is called in: the request must carry an active key of
 * one of `types` (`Authorization: Bearer <token>`). Missing or unknown → 401, wrong type → 403.
 */
export function requireKey(
  app: FastifyInstance,
  db: Db,
  types: readonly KeyType[],
  onUse: (keyId: string) => void = () => undefined,
): void {
  app.addHook('onRequest', async (request) => {
    const token = bearerToken(request);
    if (token === undefined) throw new AppError('UNAUTHORIZED', 'send an API key as "Authorization: Bearer <key>"');
    const principal: Principal | undefined = await authenticate(db, token);
    if (principal === undefined) throw new AppError('UNAUTHORIZED', 'the API key is unknown, revoked or expired');
    onUse(principal.keyId);
    if (!types.includes(principal.type)) {
      throw new AppError(
        'FORBIDDEN',
        `a ${principal.type} key cannot use this API; it needs a ${types.join(' or ')} key`,
      );
    }
    request.principal = principal;
  });
}
