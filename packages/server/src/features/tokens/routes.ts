import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { listOf, Name, Timestamp } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import * as service from './service.js';

const CreateTokenBody = z
  .object({
    name: Name,
    /** After this instant (with its offset, e.g. `2027-01-31T00:00:00Z`) the token is refused with 401 `TOKEN_EXPIRED`. */
    expiresAt: z.iso
      .datetime({ offset: true })
      .transform((s) => new Date(s))
      .optional(),
  })
  .strict();
const TokenParams = z.object({ id: z.uuid() });
const TokenView = z.object({
  id: z.uuid(),
  name: z.string(),
  /** The token's first characters, to recognise it; the token itself is shown once. */
  prefix: z.string(),
  createdAt: Timestamp,
  revokedAt: Timestamp.nullable(),
  /** `null`: until revoked. */
  expiresAt: Timestamp.nullable(),
  /** When it last authenticated a request, to within a few seconds; `null`: never. */
  lastUsedAt: Timestamp.nullable(),
});

export const tokenRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const tags = ['tokens'];

  app.post(
    '/tokens',
    { schema: { tags, body: CreateTokenBody, ...responses({ 201: TokenView.extend({ token: z.string() }) }) } },
    async (request, reply) => {
      const { created, token } = await service.createToken(w, actorOf(request), request.body);
      return reply.code(201).send({ ...service.tokenView(created), token });
    },
  );

  app.get('/tokens', { schema: { tags, ...responses({ 200: listOf(TokenView) }) } }, async (request) => ({
    items: (await service.listTokens(w.db, principalOf(request))).map(service.tokenView),
  }));

  app.post(
    '/tokens/:id/revoke',
    { schema: { tags, params: TokenParams, ...responses({ 200: TokenView }) } },
    async (request) => service.tokenView(await service.revokeToken(w, actorOf(request), request.params.id)),
  );
};
