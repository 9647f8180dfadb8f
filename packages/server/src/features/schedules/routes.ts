import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, ifMatchVersion, principalOf } from '../../http/actor.js';
import { FlagEnvironmentParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import {
  ListSchedulesQuery,
  ScheduleBody,
  ScheduledChangeList,
  ScheduledChangeView,
  ScheduleParams,
} from './schemas.js';
import * as service from './service.js';

export interface ScheduleRoutesOptions {
  writer: Writer;
  /** The clock `at` must be ahead of. */
  now: () => number;
}

/** `…/flags/:flag/environments/:env/scheduled-changes`: changes applied at their time (README, Scheduled changes). */
export const scheduleRoutes: FastifyPluginAsyncZod<ScheduleRoutesOptions> = async (app, { writer, now }) => {
  const { db } = writer;
  const tags = ['scheduled changes'];
  const path = '/projects/:project/flags/:flag/environments/:env/scheduled-changes';
  const target = (p: { project: string; flag: string; env: string }) => ({
    projectKey: p.project,
    flagKey: p.flag,
    envKey: p.env,
  });

  app.post(
    path,
    {
      schema: {
        tags,
        params: FlagEnvironmentParams,
        body: ScheduleBody,
        response: { 201: ScheduledChangeView },
        ...responses({ 201: ScheduledChangeView }, 412, 422),
      },
    },
    async (request, reply) => {
      const view = await service.scheduleChange(
        writer,
        actorOf(request, request.body.reason),
        target(request.params),
        request.body,
        ifMatchVersion(request),
        now(),
      );
      return reply.code(201).send(view);
    },
  );

  app.get(
    path,
    {
      schema: {
        tags,
        params: FlagEnvironmentParams,
        querystring: ListSchedulesQuery,
        response: { 200: ScheduledChangeList },
        ...responses({ 200: ScheduledChangeList }),
      },
    },
    async (request) => ({
      items: await service.listScheduled(db, principalOf(request), target(request.params), request.query),
    }),
  );

  app.get(
    `${path}/:id`,
    {
      schema: {
        tags,
        params: ScheduleParams,
        response: { 200: ScheduledChangeView },
        ...responses({ 200: ScheduledChangeView }),
      },
    },
    async (request) =>
      service.getScheduled(db, principalOf(request), target(request.params), Number(request.params.id)),
  );

  app.delete(
    `${path}/:id`,
    {
      schema: {
        tags,
        params: ScheduleParams,
        response: { 200: ScheduledChangeView },
        ...responses({ 200: ScheduledChangeView }, 409),
      },
    },
    async (request) =>
      service.cancelScheduled(writer, actorOf(request), target(request.params), Number(request.params.id)),
  );
};
