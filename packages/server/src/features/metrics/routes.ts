import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { listOf, ProjectParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import { CreateMetricBody, ListMetricsQuery, MetricParams, MetricView, UpdateMetricBody } from './schemas.js';
import * as service from './service.js';

/** `/projects/:project/metrics`: the measures experiments and release-plan guards read (DESIGN §9). */
export const metricRoutes: FastifyPluginAsyncZod<Writer> = async (app, writer) => {
  const { db } = writer;
  const tags = ['metrics'];

  app.post(
    '/projects/:project/metrics',
    { schema: { tags, params: ProjectParams, body: CreateMetricBody, ...responses({ 201: MetricView }, 409) } },
    async (request, reply) => {
      const metric = await service.createMetric(writer, actorOf(request), request.params.project, request.body);
      return reply.code(201).send(service.metricView(metric));
    },
  );

  app.get(
    '/projects/:project/metrics',
    {
      schema: { tags, params: ProjectParams, querystring: ListMetricsQuery, ...responses({ 200: listOf(MetricView) }) },
    },
    async (request) => {
      const metrics = await service.listMetrics(
        db,
        principalOf(request),
        request.params.project,
        request.query.archived,
      );
      return { items: metrics.map(service.metricView) };
    },
  );

  app.get(
    '/projects/:project/metrics/:metric',
    { schema: { tags, params: MetricParams, ...responses({ 200: MetricView }) } },
    async (request) => {
      const { project, metric } = request.params;
      return service.metricView(await service.getMetric(db, principalOf(request), project, metric));
    },
  );

  app.patch(
    '/projects/:project/metrics/:metric',
    { schema: { tags, params: MetricParams, body: UpdateMetricBody, ...responses({ 200: MetricView }) } },
    async (request) => {
      const { project, metric } = request.params;
      return service.metricView(await service.updateMetric(writer, actorOf(request), project, metric, request.body));
    },
  );

  for (const [action, archived] of [
    ['archive', true],
    ['unarchive', false],
  ] as const) {
    app.post(
      `/projects/:project/metrics/:metric/${action}`,
      { schema: { tags, params: MetricParams, ...responses({ 200: MetricView }) } },
      async (request) => {
        const { project, metric } = request.params;
        return service.metricView(await service.setArchived(writer, actorOf(request), project, metric, archived));
      },
    );
  }
};
