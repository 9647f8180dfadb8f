import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { listOf, ProjectParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import type { Writer } from '../changes/commit-change.js';
import type { EgressPolicy } from './egress.js';
import {
  CreateWebhookBody,
  DeliveryDetail,
  DeliveryParams,
  DeliveryView,
  ListDeliveriesQuery,
  RotateSecretBody,
  UpdateWebhookBody,
  WebhookParams,
  WebhookView,
  WebhookWithSecret,
} from './schemas.js';
import * as service from './service.js';

export interface WebhookRoutesOptions {
  writer: Writer;
  /** Which URLs a webhook may have (`SWITCHYARD_WEBHOOK_ALLOWED_HOSTS` on top of every public address). */
  egress: EgressPolicy;
  /** The clock a rotated secret's grace period is counted on. */
  now: () => number;
}

/** `/projects/:project/webhooks`: subscriptions, their secrets and their delivery log (docs/webhooks.md). */
export const webhookRoutes: FastifyPluginAsyncZod<WebhookRoutesOptions> = async (app, { writer, egress, now }) => {
  const { db } = writer;
  const tags = ['webhooks'];

  app.post(
    '/projects/:project/webhooks',
    { schema: { tags, params: ProjectParams, body: CreateWebhookBody, ...responses({ 201: WebhookWithSecret }) } },
    async (request, reply) => {
      const created = await service.createWebhook(
        writer,
        egress,
        actorOf(request),
        request.params.project,
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/projects/:project/webhooks',
    { schema: { tags, params: ProjectParams, ...responses({ 200: listOf(WebhookView) }) } },
    async (request) => ({
      items: await service.listWebhooks(db, principalOf(request), request.params.project),
    }),
  );

  app.get(
    '/projects/:project/webhooks/:webhook',
    { schema: { tags, params: WebhookParams, ...responses({ 200: WebhookView }) } },
    async (request) => service.getWebhook(db, principalOf(request), request.params.project, request.params.webhook),
  );

  app.patch(
    '/projects/:project/webhooks/:webhook',
    { schema: { tags, params: WebhookParams, body: UpdateWebhookBody, ...responses({ 200: WebhookView }) } },
    async (request) => {
      const { project, webhook } = request.params;
      return service.updateWebhook(writer, egress, actorOf(request), project, webhook, request.body);
    },
  );

  app.delete(
    '/projects/:project/webhooks/:webhook',
    { schema: { tags, params: WebhookParams, ...responses({ 204: null }) } },
    async (request, reply) => {
      await service.deleteWebhook(writer, actorOf(request), request.params.project, request.params.webhook);
      return reply.code(204).send();
    },
  );

  app.post(
    '/projects/:project/webhooks/:webhook/rotate-secret',
    { schema: { tags, params: WebhookParams, body: RotateSecretBody, ...responses({ 200: WebhookWithSecret }) } },
    async (request) => {
      const { project, webhook } = request.params;
      return service.rotateSecret(writer, actorOf(request), project, webhook, request.body, now);
    },
  );

  app.get(
    '/projects/:project/webhooks/:webhook/deliveries',
    {
      schema: {
        tags,
        params: WebhookParams,
        querystring: ListDeliveriesQuery,
        ...responses({ 200: listOf(DeliveryView) }),
      },
    },
    async (request) => {
      const { project, webhook } = request.params;
      return { items: await service.listDeliveries(db, principalOf(request), project, webhook, request.query) };
    },
  );

  app.get(
    '/projects/:project/webhooks/:webhook/deliveries/:delivery',
    { schema: { tags, params: DeliveryParams, ...responses({ 200: DeliveryDetail }) } },
    async (request) => {
      const { project, webhook, delivery } = request.params;
      return service.getDelivery(db, principalOf(request), project, webhook, delivery);
    },
  );

  app.post(
    '/projects/:project/webhooks/:webhook/deliveries/:delivery/redeliver',
    { schema: { tags, params: DeliveryParams, ...responses({ 202: DeliveryView }, 409) } },
    async (request, reply) => {
      const { project, webhook, delivery } = request.params;
      return reply.code(202).send(await service.redeliver(writer, actorOf(request), project, webhook, delivery));
    },
  );
};
