import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import { EnvironmentParams, Key, listOf, Name, ProjectParams, Revision, Timestamp } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { etagOf } from '../changes/precondition.js';
import * as service from './service.js';

const CreateEnvironmentBody = z.object({ key: Key, name: Name }).strict();
const UpdateEnvironmentBody = z.object({ name: Name }).strict();
const EnvironmentView = z.object({
  key: Key,
  name: z.string(),
  /** Moves by one at every change of the environment's ruleset. */
  version: z.number().int(),
  revision: Revision,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const environmentRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['environments'];

  app.post(
    '/projects/:project/environments',
    {
      schema: { tags, params: ProjectParams, body: CreateEnvironmentBody, ...responses({ 201: EnvironmentView }, 409) },
    },
    async (request, reply) => {
      const env = await service.createEnvironment(w, actorOf(request), request.params.project, request.body);
      return reply.code(201).send(service.environmentView(env));
    },
  );

  app.get(
    '/projects/:project/environments',
    { schema: { tags, params: ProjectParams, ...responses({ 200: listOf(EnvironmentView) }) } },
    async (request) => {
      const envs = await service.listEnvironments(db, principalOf(request), request.params.project);
      return { items: envs.map(service.environmentView) };
    },
  );

  const target = (request: FastifyRequest) => {
    const params = request.params as { project: string; env: string };
    return { projectKey: params.project, envKey: params.env, ifMatch: ifMatchVersion(request) };
  };

  app.get(
    '/projects/:project/environments/:env',
    { schema: { tags, params: EnvironmentParams, ...responses({ 200: EnvironmentView }) } },
    async (request, reply) => {
      const { project, env } = request.params;
      const found = await service.getEnvironment(db, principalOf(request), project, env);
      return reply.header('etag', etagOf(found.revision)).send(service.environmentView(found));
    },
  );

  app.patch(
    '/projects/:project/environments/:env',
    {
      schema: {
        tags,
        params: EnvironmentParams,
        body: UpdateEnvironmentBody,
        ...responses({ 200: EnvironmentView }, 412),
      },
    },
    async (request, reply) => {
      const renamed = await service.renameEnvironment(w, actorOf(request), target(request), request.body.name);
      return reply.header('etag', etagOf(renamed.revision)).send(service.environmentView(renamed));
    },
  );

  app.delete(
    '/projects/:project/environments/:env',
    { schema: { tags, params: EnvironmentParams, ...responses({ 204: null }, 409, 412) } },
    async (request, reply) => {
      await service.deleteEnvironment(w, actorOf(request), target(request));
      return reply.code(204).send();
    },
  );
};
