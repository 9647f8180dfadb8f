import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import { Key, listOf, Name, Revision, Timestamp } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { etagOf } from '../changes/precondition.js';
import * as service from './service.js';

/** An instant with its offset, e.g. `2027-01-31T00:00:00Z`. */
const ExpiresAt = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const CreateKeyBody = z
  .object({
    name: Name,
    type: z.enum(['admin', 'server', 'client']),
    /** Required for server and client keys; for an admin key, scopes it to one project. */
    project: Key.optional(),
    environment: Key.optional(),
    /** After this instant the key stops working; without it, only revocation ends it. */
    expiresAt: ExpiresAt.optional(),
  })
  .strict();
const UpdateKeyBody = z.object({ name: Name.optional(), expiresAt: ExpiresAt.nullable().optional() }).strict();
const RotateKeyBody = z.preprocess(
  (body) => body ?? {},
  z
    .object({
      /** How long the replaced secret keeps working: long enough to redeploy what uses the key. */
      graceSeconds: z
        .number()
        .int()
        .min(0)
        .max(service.ROTATION_GRACE.maxSeconds)
        .default(service.ROTATION_GRACE.defaultSeconds),
    })
    .strict(),
);
const ListKeysQuery = z.object({ project: Key.optional() }).strict();
const KeyParams = z.object({ id: z.uuid() });
const KeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  type: z.enum(['admin', 'server', 'client']),
  /** The token's first characters, to recognise it; the token itself is shown once. */
  prefix: z.string(),
  project: Key.nullable(),
  environment: Key.nullable(),
  createdAt: Timestamp,
  revokedAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
  /** Until when the secret the last rotation replaced still works; `null` if never rotated. */
  previousSecretExpiresAt: Timestamp.nullable(),
  /** Recorded in batches: up to a few seconds behind the last request. */
  lastUsedAt: Timestamp.nullable(),
  revision: Revision,
});
/** When a key is made or rotated: the token, shown this once. */
const KeyWithToken = KeyView.extend({ token: z.string() });

export const keyRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['keys'];

  app.post(
    '/keys',
    { schema: { tags, body: CreateKeyBody, ...responses({ 201: KeyWithToken }, 404) } },
    async (request, reply) => {
      const { key, token } = await service.createKey(w, actorOf(request), request.body);
      return reply.code(201).send({ ...(await service.keyView(db, key)), token });
    },
  );

  app.get(
    '/keys',
    { schema: { tags, querystring: ListKeysQuery, ...responses({ 200: listOf(KeyView) }, 404) } },
    async (request) => {
      const keys = await service.listKeys(db, principalOf(request), request.query.project);
      return { items: await Promise.all(keys.map((k) => service.keyView(db, k))) };
    },
  );

  app.get(
    '/keys/:id',
    { schema: { tags, params: KeyParams, ...responses({ 200: KeyView }) } },
    async (request, reply) => {
      const key = await service.getKey(db, principalOf(request), request.params.id);
      return reply.header('etag', etagOf(key.revision)).send(await service.keyView(db, key));
    },
  );

  app.patch(
    '/keys/:id',
    { schema: { tags, params: KeyParams, body: UpdateKeyBody, ...responses({ 200: KeyView }, 409, 412) } },
    async (request, reply) => {
      const key = await service.updateKey(
        w,
        actorOf(request),
        request.params.id,
        request.body,
        ifMatchVersion(request),
      );
      return reply.header('etag', etagOf(key.revision)).send(await service.keyView(db, key));
    },
  );

  app.post(
    '/keys/:id/rotate',
    { schema: { tags, params: KeyParams, body: RotateKeyBody, ...responses({ 200: KeyWithToken }, 409, 412) } },
    async (request, reply) => {
      const { id } = request.params;
      const { key, token } = await service.rotateKey(
        w,
        actorOf(request),
        id,
        request.body.graceSeconds,
        ifMatchVersion(request),
      );
      return reply.header('etag', etagOf(key.revision)).send({ ...(await service.keyView(db, key)), token });
    },
  );

  app.post(
    '/keys/:id/revoke',
    { schema: { tags, params: KeyParams, ...responses({ 200: KeyView }, 412) } },
    async (request, reply) => {
      const key = await service.revokeKey(w, actorOf(request), request.params.id, ifMatchVersion(request));
      return reply.header('etag', etagOf(key.revision)).send(await service.keyView(db, key));
    },
  );
};
