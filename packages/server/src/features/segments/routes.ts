import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import { EnvironmentParams, listOf, SegmentParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { CreateSegmentBody, ReplaceSegmentBody, SegmentView } from './schemas.js';
import * as service from './service.js';

export const segmentRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['segments'];
  const collection = '/projects/:project/environments/:env/segments';

  app.post(
    collection,
    {
      schema: {
        tags,
        params: EnvironmentParams,
        body: CreateSegmentBody,
        ...responses({ 201: SegmentView }, 409, 422),
      },
    },
    async (request, reply) => {
      const { project, env } = request.params;
      const view = await service.createSegment(w, actorOf(request, request.body.reason), project, env, request.body);
      return reply.code(201).header('etag', `"${view.version}"`).send(view);
    },
  );

  app.get(
    collection,
    { schema: { tags, params: EnvironmentParams, ...responses({ 200: listOf(SegmentView) }) } },
    async (request) => {
      const { project, env } = request.params;
      return { items: await service.listSegments(db, principalOf(request), project, env) };
    },
  );

  app.get(
    `${collection}/:segment`,
    { schema: { tags, params: SegmentParams, ...responses({ 200: SegmentView }) } },
    async (request, reply) => {
      const { project, env, segment } = request.params;
      const view = await service.getSegment(db, principalOf(request), project, env, segment);
      return reply.header('etag', `"${view.version}"`).send(view);
    },
  );

  app.put(
    `${collection}/:segment`,
    { schema: { tags, params: SegmentParams, body: ReplaceSegmentBody, ...responses({ 200: SegmentView }, 412, 422) } },
    async (request, reply) => {
      const { project, env, segment } = request.params;
      const t = { projectKey: project, envKey: env, key: segment, ifMatch: ifMatchVersion(request) };
      const view = await service.replaceSegment(w, actorOf(request, request.body.reason), t, request.body);
      return reply.header('etag', `"${view.version}"`).send(view);
    },
  );

  app.delete(
    `${collection}/:segment`,
    { schema: { tags, params: SegmentParams, ...responses({ 204: null }, 409) } },
    async (request, reply) => {
      const { project, env, segment } = request.params;
      await service.deleteSegment(w, actorOf(request), project, env, segment);
      return reply.code(204).send();
    },
  );
};
