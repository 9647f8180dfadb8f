import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/database.js';
import { parseJsonBody } from '../../http/json-body.js';
import { type SdkKeyCache, sdkPrincipal } from '../delivery/sdk-keys.js';
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
  // A browser posts its batch as text/plain: a CORS-safelisted type needs no preflight request,
  // which a page being closed might not live to see. The text is the same JSON.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, parseJsonBody);

  app.post(
    '/events',
    {
      bodyLimit: EVENTS_BODY_LIMIT,
      // Authentication before the body is read: an unknown key must not cost a parse of 4 MiB.
      onRequest: async (request) => {
        const { environmentId, keyId } = await sdkPrincipal(request, keys);
        request.sdkSource = { environmentId, keyId };
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
