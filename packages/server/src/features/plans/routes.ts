import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { FlagEnvironmentParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { planFigures } from './figures.js';
import { PLAN_ACTIONS, PlanDetail, PlanFigures, PlanView, PutPlanBody, StepBody } from './schemas.js';
import * as service from './service.js';

// The writer as given, its webhook outbox follower included: a person's step reaches webhooks as the controller's do.
export const planRoutes: FastifyPluginAsyncZod<Writer> = async (app, w) => {
  const { db } = w;
  const tags = ['release plans'];
  const path = '/projects/:project/flags/:flag/environments/:env/release-plan';
  const target = (p: { project: string; flag: string; env: string }) => ({
    projectKey: p.project,
    flagKey: p.flag,
    envKey: p.env,
  });

  app.put(
    path,
    {
      schema: {
        tags,
        params: FlagEnvironmentParams,
        body: PutPlanBody,
        ...responses({ 200: PlanView, 201: PlanView }, 409, 422),
      },
    },
    async (request, reply) => {
      const { created, view } = await service.putPlan(
        w,
        actorOf(request, request.body.reason),
        target(request.params),
        request.body,
      );
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.get(
    path,
    { schema: { tags, params: FlagEnvironmentParams, ...responses({ 200: PlanDetail }) } },
    async (request) => service.getPlan(db, principalOf(request), target(request.params)),
  );

  app.get(
    `${path}/figures`,
    { schema: { tags, params: FlagEnvironmentParams, ...responses({ 200: PlanFigures }) } },
    async (request) => planFigures(db, principalOf(request), target(request.params)),
  );

  for (const action of PLAN_ACTIONS) {
    app.post(
      `${path}/${action}`,
      { schema: { tags, params: FlagEnvironmentParams, body: StepBody, ...responses({ 200: PlanView }, 409, 422) } },
      async (request) => service.personStep(w, actorOf(request, request.body.reason), target(request.params), action),
    );
  }
};
