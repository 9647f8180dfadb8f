import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import { Key, Name } from '../../http/common-schemas.js';
import type { Writer } from '../changes/commit-change.js';
import { etagOf } from '../changes/precondition.js';
import * as service from './service.js';

const CreateKeyBody = z
  .object({
    name: Name,
    type: z.enum(['admin', 'server', 'client']),
    /** Required for server and client keys; for an admin key, scopes it to one project. */
    project: Key.optional(),
    environment: Key.optional(),
  })
  .strict();
const ListKeysQuery = z.object({ project: Key.optional() }).strict();
const KeyParams = z.object({ id: z.uuid() });

export const keyRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['keys'];

  app.post('/keys', { schema: { tags, body: CreateKeyBody } }, async (request, reply) => {
    const { key, token } = await service.createKey(w, actorOf(request), request.body);
    return reply.code(201).send({ ...(await service.keyView(db, key)), token });
  });

  app.get('/keys', { schema: { tags, querystring: ListKeysQuery } }, async (request) => {
    const keys = await service.listKeys(db, principalOf(request), request.query.project);
    return { items: await Promise.all(keys.map((k) => service.keyView(db, k))) };
  });

  app.get('/keys/:id', { schema: { tags, params: KeyParams } }, async (request, reply) => {
    const key = await service.getKey(db, principalOf(request), request.params.id);
    return reply.header('etag', etagOf(key.revision)).send(await service.keyView(db, key));
  });

  app.post('/keys/:id/revoke', { schema: { tags, params: KeyParams } }, async (request, reply) => {
    const key = await service.revokeKey(w, actorOf(request), request.params.id, ifMatchVersion(request));
    return reply.header('etag', etagOf(key.revision)).send(await service.keyView(db, key));
  });
};
