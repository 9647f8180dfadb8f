import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import {
  EnvironmentParams,
  FlagEnvironmentParams,
  FlagParams,
  listOf,
  ProjectParams,
} from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import { etagOf } from '../changes/precondition.js';
import {
  ConfigView,
  CreateFlagBody,
  FlagDetail,
  FlagListItem,
  FlagView,
  KillAnswer,
  KillBody,
  KillTagAnswer,
  KillTagBody,
  ListFlagsQuery,
  PatchConfigBody,
  ReplaceConfigBody,
  UpdateFlagBody,
} from './schemas.js';
import * as service from './service.js';

export const flagRoutes: FastifyPluginAsyncZod<service.FlagWriter> = async (app, w) => {
  const { db } = w;
  const tags = ['flags'];

  app.post(
    '/projects/:project/flags',
    { schema: { tags, params: ProjectParams, body: CreateFlagBody, ...responses({ 201: FlagView }, 409, 422) } },
    async (request, reply) => {
      const flag = await service.createFlag(w, actorOf(request), request.params.project, request.body);
      return reply.code(201).send(service.flagView(flag));
    },
  );

  app.get(
    '/projects/:project/flags',
    {
      schema: { tags, params: ProjectParams, querystring: ListFlagsQuery, ...responses({ 200: listOf(FlagListItem) }) },
    },
    async (request) => {
      const items = await service.listFlagSummaries(db, principalOf(request), request.params.project, request.query);
      return { items };
    },
  );

  const flagTarget = (request: FastifyRequest) => {
    const params = request.params as { project: string; flag: string };
    return { projectKey: params.project, flagKey: params.flag, ifMatch: ifMatchVersion(request) };
  };

  app.get(
    '/projects/:project/flags/:flag',
    { schema: { tags, params: FlagParams, ...responses({ 200: FlagDetail }) } },
    async (request, reply) => {
      const view = await service.getFlag(db, principalOf(request), request.params.project, request.params.flag);
      return reply.header('etag', etagOf(view.revision)).send(view);
    },
  );

  app.patch(
    '/projects/:project/flags/:flag',
    { schema: { tags, params: FlagParams, body: UpdateFlagBody, ...responses({ 200: FlagView }, 412, 422) } },
    async (request, reply) => {
      const flag = await service.updateFlag(w, actorOf(request), flagTarget(request), request.body);
      return reply.header('etag', etagOf(flag.revision)).send(service.flagView(flag));
    },
  );

  for (const [action, archived] of [
    ['archive', true],
    ['unarchive', false],
  ] as const) {
    app.post(
      `/projects/:project/flags/:flag/${action}`,
      { schema: { tags, params: FlagParams, ...responses({ 200: FlagView }, 409, 412) } },
      async (request, reply) => {
        const flag = await service.setArchived(w, actorOf(request), flagTarget(request), archived);
        return reply.header('etag', etagOf(flag.revision)).send(service.flagView(flag));
      },
    );
  }

  app.delete(
    '/projects/:project/flags/:flag',
    { schema: { tags, params: FlagParams, ...responses({ 204: null }, 409, 412) } },
    async (request, reply) => {
      await service.deleteFlag(w, actorOf(request), flagTarget(request));
      return reply.code(204).send();
    },
  );

  const configPath = '/projects/:project/flags/:flag/environments/:env';
  const target = (p: { project: string; flag: string; env: string }, ifMatch: number | undefined) => ({
    projectKey: p.project,
    flagKey: p.flag,
    envKey: p.env,
    ifMatch,
  });

  app.get(
    configPath,
    { schema: { tags, params: FlagEnvironmentParams, ...responses({ 200: ConfigView }) } },
    async (request, reply) => {
      const { project, flag, env } = request.params;
      const view = await service.getConfig(db, principalOf(request), project, flag, env);
      return reply.header('etag', `"${view.version}"`).send(view);
    },
  );

  app.put(
    configPath,
    {
      schema: {
        tags,
        params: FlagEnvironmentParams,
        body: ReplaceConfigBody,
        ...responses({ 200: ConfigView }, 412, 422),
      },
    },
    async (request, reply) => {
      const t = target(request.params, ifMatchVersion(request));
      const { view } = await service.replaceConfig(w, actorOf(request, request.body.reason), t, request.body);
      return reply.header('etag', `"${view.version}"`).send(view);
    },
  );

  app.patch(
    configPath,
    {
      schema: {
        tags,
        params: FlagEnvironmentParams,
        body: PatchConfigBody,
        ...responses({ 200: ConfigView }, 412, 422),
      },
    },
    async (request, reply) => {
      const t = target(request.params, ifMatchVersion(request));
      const { view } = await service.patchConfig(w, actorOf(request, request.body.reason), t, request.body);
      return reply.header('etag', `"${view.version}"`).send(view);
    },
  );

  for (const [action, run] of [
    ['kill', service.kill],
    ['unkill', service.unkill],
  ] as const) {
    app.post(
      `${configPath}/${action}`,
      { schema: { tags, params: FlagEnvironmentParams, body: KillBody, ...responses({ 200: KillAnswer }, 412) } },
      async (request, reply) => {
        const t = target(request.params, ifMatchVersion(request));
        const { view, changed } = await run(w, actorOf(request, request.body.reason), t);
        return reply.header('etag', `"${view.version}"`).send({ ...view, changed });
      },
    );
  }

  app.post(
    '/projects/:project/environments/:env/kill',
    { schema: { tags, params: EnvironmentParams, body: KillTagBody, ...responses({ 200: KillTagAnswer }) } },
    async (request) => {
      const { project, env } = request.params;
      return service.killTag(w, actorOf(request, request.body.reason), project, env, request.body.tag);
    },
  );
};
