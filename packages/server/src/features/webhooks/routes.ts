import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, principalOf } from '../../http/actor.js';
import { ProjectParams } from '../../http/common-schemas.js';
import type { Writer } from '../changes/commit-change.js';
import type { EgressPolicy } from './egress.js';
import {
  CreateWebhookBody,
  DeliveryParams,
  ListDeliveriesQuery,
  RotateSecretBody,
  UpdateWebhookBody,
  WebhookParams,
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
    { schema: { tags, params: ProjectParams, body: CreateWebhookBody } },
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

  app.get('/projects/:project/webhooks', { schema: { tags, params: ProjectParams } }, async (request) => ({
    items: await service.listWebhooks(db, principalOf(request), request.params.project),
  }));

  app.get('/projects/:project/webhooks/:webhook', { schema: { tags, params: WebhookParams } }, async (request) =>
    service.getWebhook(db, principalOf(request), request.params.project, request.params.webhook),
  );

  app.patch(
    '/projects/:project/webhooks/:webhook',
    { schema: { tags, params: WebhookParams, body: UpdateWebhookBody } },
    async (request) => {
      const { project, webhook } = request.params;
      return service.updateWebhook(writer, egress, actorOf(request), project, webhook, request.body);
    },
  );

  app.delete(
    '/projects/:project/webhooks/:webhook',
    { schema: { tags, params: WebhookParams } },
    async (request, reply) => {
      await service.deleteWebhook(writer, actorOf(request), request.params.project, request.params.webhook);
      return reply.code(204).send();
    },
  );

  app.post(
    '/projects/:project/webhooks/:webhook/rotate-secret',
    { schema: { tags, params: WebhookParams, body: RotateSecretBody } },
    async (request) => {
      const { project, webhook } = request.params;
      return service.rotateSecret(writer, actorOf(request), project, webhook, request.body, now);
    },
  );

  app.get(
    '/projects/:project/webhooks/:webhook/deliveries',
    { schema: { tags, params: WebhookParams, querystring: ListDeliveriesQuery } },
    async (request) => {
      const { project, webhook } = request.params;
      return { items: await service.listDeliveries(db, principalOf(request), project, webhook, request.query) };
    },
  );

  app.get(
    '/projects/:project/webhooks/:webhook/deliveries/:delivery',
    { schema: { tags, params: DeliveryParams } },
    async (request) => {
      const { project, webhook, delivery } = request.params;
      return service.getDelivery(db, principalOf(request), project, webhook, delivery);
    },
  );

  app.post(
    '/projects/:project/webhooks/:webhook/deliveries/:delivery/redeliver',
    { schema: { tags, params: DeliveryParams } },
    async (request, reply) => {
      const { project, webhook, delivery } = request.params;
      return reply.code(202).send(await service.redeliver(writer, actorOf(request), project, webhook, delivery));
    },
  );
};
