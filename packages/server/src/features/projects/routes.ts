import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import { Key, listOf, Name, ProjectParams, Revision, Timestamp } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { etagOf } from '../changes/precondition.js';
import * as service from './service.js';

const CreateProjectBody = z.object({ key: Key, name: Name }).strict();
const UpdateProjectBody = z.object({ name: Name }).strict();
const ProjectView = z.object({
  key: Key,
  name: z.string(),
  revision: Revision,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const projectRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['projects'];

  app.post(
    '/projects',
    { schema: { tags, body: CreateProjectBody, ...responses({ 201: ProjectView }, 409) } },
    async (request, reply) => {
      const project = await service.createProject(w, actorOf(request), request.body);
      return reply.code(201).send(service.projectView(project));
    },
  );

  app.get('/projects', { schema: { tags, ...responses({ 200: listOf(ProjectView) }) } }, async (request) => {
    const projects = await service.listProjects(db, principalOf(request));
    return { items: projects.map(service.projectView) };
  });

  app.get(
    '/projects/:project',
    { schema: { tags, params: ProjectParams, ...responses({ 200: ProjectView }) } },
    async (request, reply) => {
      const project = await service.requireProject(db, principalOf(request), request.params.project);
      return reply.header('etag', etagOf(project.revision)).send(service.projectView(project));
    },
  );

  app.patch(
    '/projects/:project',
    { schema: { tags, params: ProjectParams, body: UpdateProjectBody, ...responses({ 200: ProjectView }, 412) } },
    async (request, reply) => {
      const { project: key } = request.params;
      const project = await service.renameProject(w, actorOf(request), key, request.body.name, ifMatchVersion(request));
      return reply.header('etag', etagOf(project.revision)).send(service.projectView(project));
    },
  );

  app.delete(
    '/projects/:project',
    { schema: { tags, params: ProjectParams, ...responses({ 204: null }, 409, 412) } },
    async (request, reply) => {
      await service.deleteProject(w, actorOf(request), request.params.project, ifMatchVersion(request));
      return reply.code(204).send();
    },
  );
};
