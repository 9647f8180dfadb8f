import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { Key, listOf, ProjectParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { sessionSecretOf } from '../sessions/service.js';
import {
  AddMemberBody,
  ChangePasswordBody,
  CreateUserBody,
  MemberView,
  UpdateMemberBody,
  UpdateUserBody,
  UserView,
} from './schemas.js';
import * as service from './service.js';

const MemberParams = z.object({ project: Key, user: z.uuid() });
const UserParams = z.object({ user: z.uuid() });

export const userRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;

  app.post(
    '/users',
    { schema: { tags: ['users'], body: CreateUserBody, ...responses({ 201: UserView }, 409) } },
    async (request, reply) => {
      const user = await service.createUser(w, actorOf(request), request.body);
      return reply.code(201).send(service.userView(user));
    },
  );

  app.get('/users', { schema: { tags: ['users'], ...responses({ 200: listOf(UserView) }) } }, async (request) => ({
    items: (await service.listUsers(db, principalOf(request))).map(service.userView),
  }));

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(
      `/users/:user/${verb}`,
      { schema: { tags: ['users'], params: UserParams, ...responses({ 200: UserView }, 409) } },
      async (request) =>
        service.userView(await service.setUserDisabled(w, actorOf(request), request.params.user, disabled)),
    );
  }

  app.patch(
    '/users/:user',
    { schema: { tags: ['users'], params: UserParams, body: UpdateUserBody, ...responses({ 200: UserView }, 409) } },
    async (request) =>
      service.userView(await service.updateUser(w, actorOf(request), request.params.user, request.body)),
  );

  app.delete(
    '/users/:user',
    { schema: { tags: ['users'], params: UserParams, ...responses({ 204: null }, 409) } },
    async (request, reply) => {
      await service.deleteUser(w, actorOf(request), request.params.user);
      return reply.code(204).send();
    },
  );

  app.put(
    '/me/password',
    { schema: { tags: ['users'], body: ChangePasswordBody, ...responses({ 204: null }) } },
    async (request, reply) => {
      const principal = principalOf(request);
      const keep = principal.via === 'session' ? sessionSecretOf(request.headers.cookie) : undefined;
      await service.changePassword(w, actorOf(request), request.body, keep);
      return reply.code(204).send();
    },
  );

  const tags = ['members'];
  app.get(
    '/projects/:project/members',
    { schema: { tags, params: ProjectParams, ...responses({ 200: listOf(MemberView) }) } },
    async (request) => ({
      items: (await service.listMembers(db, principalOf(request), request.params.project)).map(service.memberView),
    }),
  );

  app.post(
    '/projects/:project/members',
    { schema: { tags, params: ProjectParams, body: AddMemberBody, ...responses({ 201: MemberView }, 404, 409) } },
    async (request, reply) => {
      const member = await service.addMember(w, actorOf(request), request.params.project, request.body);
      return reply.code(201).send(service.memberView(member));
    },
  );

  app.patch(
    '/projects/:project/members/:user',
    { schema: { tags, params: MemberParams, body: UpdateMemberBody, ...responses({ 200: MemberView }) } },
    async (request) => {
      const { project, user } = request.params;
      return service.memberView(await service.changeMemberRole(w, actorOf(request), project, user, request.body.role));
    },
  );

  app.delete(
    '/projects/:project/members/:user',
    { schema: { tags, params: MemberParams, ...responses({ 204: null }) } },
    async (request, reply) => {
      await service.removeMember(w, actorOf(request), request.params.project, request.params.user);
      return reply.code(204).send();
    },
  );
};
