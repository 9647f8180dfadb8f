import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { EnvironmentParams, Key, Name, ProjectParams } from '../../http/common-schemas.js';
import type { Writer } from '../changes/commit-change.js';
import * as service from './service.js';

const CreateEnvironmentBody = z.object({ key: Key, name: Name }).strict();
const UpdateEnvironmentBody = z.object({ name: Name }).strict();

export const environmentRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['environments'];

  app.post(
    '/projects/:project/environments',
    { schema: { tags, params: ProjectParams, body: CreateEnvironmentBody } },
    async (request, reply) => {
      const env = await service.createEnvironment(w, actorOf(request), request.params.project, request.body);
      return reply.code(201).send(service.environmentView(env));
    },
  );

  app.get('/projects/:project/environments', { schema: { tags, params: ProjectParams } }, async (request) => {
    const envs = await service.listEnvironments(db, principalOf(request), request.params.project);
    return { items: envs.map(service.environmentView) };
  });

  app.get('/projects/:project/environments/:env', { schema: { tags, params: EnvironmentParams } }, async (request) => {
    const { project, env } = request.params;
    return service.environmentView(await service.getEnvironment(db, principalOf(request), project, env));
  });

  app.patch(
    '/projects/:project/environments/:env',
    { schema: { tags, params: EnvironmentParams, body: UpdateEnvironmentBody } },
    async (request) => {
      const { project, env } = request.params;
      return service.environmentView(
        await service.renameEnvironment(w, actorOf(request), project, env, request.body.name),
      );
    },
  );

  app.delete(
    '/projects/:project/environments/:env',
    { schema: { tags, params: EnvironmentParams } },
    async (request, reply) => {
      await service.deleteEnvironment(w, actorOf(request), request.params.project, request.params.env);
      return reply.code(204).send();
    },
  );
};
