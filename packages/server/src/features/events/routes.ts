import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { SdkKeyCache } from '../delivery/sdk-keys.js';
import { EVENTS_BODY_LIMIT, EventBatchBody } from './schemas.js';
import { insertBatch } from './store.js';

export interface EventRouteOptions {
  db: Db;
  keys: SdkKeyCache;
}

/** Browsers post events from any origin with a public client key, as they read the stream. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Authorization, Content-Type',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-max-age': '600',
};

/**
 * `POST /sdk/v1/events`: evaluation counts and track events from SDKs, authenticated like the
 * other SDK routes (a server or client key; a client key may come in `?key=`, which is also
 * what `navigator.sendBeacon` can send).
 */
export const eventRoutes: FastifyPluginAsyncZod<EventRouteOptions> = async (app, { db, keys }) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(CORS);
  });
  app.options('/events', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());

  async function environmentOf(request: FastifyRequest): Promise<{ environmentId: string; keyId: string }> {
    const header = request.headers.authorization;
    const fromHeader = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const fromQuery = (request.query as { key?: unknown } | undefined)?.key;
    const token = fromHeader ?? (typeof fromQuery === 'string' ? fromQuery : undefined);
    if (token === undefined) throw new AppError('UNAUTHORIZED', 'send an SDK key as "Authorization: Bearer <key>"');
    const principal = await keys.resolve(token);
    if (principal === undefined) throw new AppError('UNAUTHORIZED', 'the SDK key is unknown or revoked');
    if (principal.type === 'admin' || principal.environmentId === null) {
      throw new AppError('FORBIDDEN', 'SDK routes take a server or client key, not an admin key');
    }
    if (fromHeader === undefined && principal.type !== 'client') {
      throw new AppError(
        'FORBIDDEN',
        'only client keys may be sent in the URL; send server keys in the Authorization header',
      );
    }
    return { environmentId: principal.environmentId, keyId: principal.keyId };
  }

  app.post(
    '/events',
    {
      bodyLimit: EVENTS_BODY_LIMIT,
      // Authentication before the body is read: an unknown key must not cost a parse of 4 MiB.
      onRequest: async (request) => {
        request.sdkSource = await environmentOf(request);
      },
      schema: { hide: true, body: EventBatchBody },
    },
    async (request, reply) => {
      const source = request.sdkSource as { environmentId: string; keyId: string };
      await insertBatch(db, source, request.body);
      return reply
        .code(202)
        .send({ accepted: { evaluations: request.body.evaluations.length, events: request.body.events.length } });
    },
  );
};

declare module 'fastify' {
  interface FastifyRequest {
    sdkSource?: { environmentId: string; keyId: string };
  }
}
