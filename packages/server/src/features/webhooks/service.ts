import { randomBytes } from 'node:crypto';
import type { Principal } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import {
  type Actor,
  type AfterCommit,
  type AuditEntry,
  type AuditFollower,
  commitChange,
  type Writer,
} from '../changes/commit-change.js';
import { type Project, requireProject } from '../projects/service.js';
import type { EgressPolicy } from './egress.js';
import { eventTypeOf, type WebhookEventType } from './event-types.js';
import type { CreateWebhookBody, ListDeliveriesQuery, RotateSecretBody, UpdateWebhookBody } from './schemas.js';
import * as store from './store.js';

export type { Webhook } from './store.js';

/** A webhook as the API shows it: never its secret, which is shown once, when made. */
export function webhookView(w: store.Webhook) {
  return {
    id: w.id,
    url: w.url,
    description: w.description,
    events: w.events,
    active: w.active,
    previousSecretExpiresAt: w.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}

export function deliveryView(d: store.Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    redeliveryOf: d.redeliveryOf,
    createdAt: d.createdAt.toISOString(),
  };
}

function attemptView(a: store.Attempt) {
  return {
    attempt: a.attempt,
    startedAt: a.startedAt.toISOString(),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.error,
  };
}

/** 32 random bytes: the key receivers verify signatures with. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/** Every webhook write: one transaction with its audit entry, on the one write path. */
async function auditedWrite<T>(
  w: Writer,
  actor: Actor,
  project: Project,
  action: string,
  change: (tx: Tx) => Promise<{ before: store.Webhook | null; after: store.Webhook | null; result: T }>,
): Promise<T> {
  return commitChange(w, actor, async (tx) => {
    const { before, after, result } = await change(tx);
    return {
      entries: [],
      apply: async () => ({
        result,
        audit: [
          {
            projectId: project.id,
            action,
            targetKind: 'webhook',
            targetKey: (after ?? before)?.id as string,
            before: before === null ? null : webhookView(before),
            after: after === null ? null : webhookView(after),
          },
        ],
      }),
    };
  });
}

async function lockExisting(tx: Tx, project: Project, id: string): Promise<store.Webhook> {
  const hook = await store.lockWebhook(tx, project.id, id);
  if (hook === undefined) throw notFound('webhook', id);
  return hook;
}

/**
 * Refuses a URL the egress policy forbids (a private or loopback address, credentials): a
 * project editor must not be able to make the server call what only the server can reach.
 */
function requireAllowedUrl(egress: EgressPolicy, url: string): void {
  const why = egress.refuseUrl(url);
  if (why !== undefined) {
    throw new AppError('WEBHOOK_URL_FORBIDDEN', `the webhook URL ${why}`, { field: 'url' });
  }
}

export async function createWebhook(
  w: Writer,
  egress: EgressPolicy,
  actor: Actor,
  projectKey: string,
  body: CreateWebhookBody,
) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  requireAllowedUrl(egress, body.url);
  const secret = newSecret();
  const hook = await auditedWrite(w, actor, project, 'webhook.create', async (tx) => {
    const after = await store.insertWebhook(tx, {
      projectId: project.id,
      url: body.url,
      description: body.description,
      events: [...new Set(body.events)],
      active: body.active,
      secret,
    });
    return { before: null, after, result: after };
  });
  return { ...webhookView(hook), secret };
}

export async function listWebhooks(db: Db, principal: Principal, projectKey: string) {
  const project = await requireProject(db, principal, projectKey);
  return (await store.listWebhooks(db, project.id)).map(webhookView);
}

async function requireWebhook(db: Db, principal: Principal, projectKey: string, id: string) {
  const project = await requireProject(db, principal, projectKey);
  const hook = await store.findWebhook(db, project.id, id);
  if (hook === undefined) throw notFound('webhook', id);
  return hook;
}

export async function getWebhook(db: Db, principal: Principal, projectKey: string, id: string) {
  return webhookView(await requireWebhook(db, principal, projectKey, id));
}

export async function updateWebhook(
  w: Writer,
  egress: EgressPolicy,
  actor: Actor,
  projectKey: string,
  id: string,
  body: UpdateWebhookBody,
) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  const patch: Parameters<typeof store.updateWebhook>[2] = {};
  if (body.url !== undefined) {
    requireAllowedUrl(egress, body.url);
    patch.url = body.url;
  }
  if (body.description !== undefined) patch.description = body.description;
  if (body.events !== undefined) patch.events = [...new Set(body.events)];
  if (body.active !== undefined) patch.active = body.active;
  const hook = await auditedWrite(w, actor, project, 'webhook.update', async (tx) => {
    const before = await lockExisting(tx, project, id);
    const after = await store.updateWebhook(tx, before.id, patch);
    return { before, after, result: after };
  });
  return webhookView(hook);
}

export async function deleteWebhook(w: Writer, actor: Actor, projectKey: string, id: string): Promise<void> {
  const project = await requireProject(w.db, actor.principal, projectKey);
  await auditedWrite(w, actor, project, 'webhook.delete', async (tx) => {
    const before = await lockExisting(tx, project, id);
    await store.deleteWebhook(tx, before.id);
    return { before, after: null, result: undefined };
  });
}

/**
 * A new secret, shown once. The old one stops at once, or, with `previousSecretValidSeconds`,
 * keeps signing alongside the new one (a second `v1` in the header) until receivers have
 * switched over.
 */
export async function rotateSecret(
  w: Writer,
  actor: Actor,
  projectKey: string,
  id: string,
  body: RotateSecretBody,
  now: () => number,
) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  const secret = newSecret();
  const keep = body.previousSecretValidSeconds;
  const hook = await auditedWrite(w, actor, project, 'webhook.rotate_secret', async (tx) => {
    const before = await lockExisting(tx, project, id);
    const after = await store.updateWebhook(tx, before.id, {
      secret,
      previousSecret: keep > 0 ? before.secret : null,
      previousSecretExpiresAt: keep > 0 ? new Date(now() + keep * 1000) : null,
    });
    return { before, after, result: after };
  });
  return { ...webhookView(hook), secret };
}

export async function listDeliveries(
  db: Db,
  principal: Principal,
  projectKey: string,
  id: string,
  q: ListDeliveriesQuery,
) {
  const hook = await requireWebhook(db, principal, projectKey, id);
  const rows = await store.listDeliveries(db, hook.id, {
    status: q.status,
    before: q.before,
    limit: q.limit,
  });
  return rows.map(deliveryView);
}

/** One delivery with the body it sends and every attempt so far. */
export async function getDelivery(db: Db, principal: Principal, projectKey: string, id: string, deliveryId: string) {
  const hook = await requireWebhook(db, principal, projectKey, id);
  const delivery = await store.findDelivery(db, hook.id, deliveryId);
  if (delivery === undefined) throw notFound('delivery', deliveryId);
  const attempts = await store.attemptsOf(db, delivery.id);
  return {
    ...deliveryView(delivery),
    payload: JSON.parse(delivery.payload) as unknown,
    attemptLog: attempts.map(attemptView),
  };
}

/** Sends an event again as a new delivery with attempts of its own; the original keeps its log. */
export async function redeliver(w: Writer, actor: Actor, projectKey: string, id: string, deliveryId: string) {
  const project = await requireProject(w.db, actor.principal, projectKey);
  const hook = await store.findWebhook(w.db, project.id, id);
  if (hook === undefined) throw notFound('webhook', id);
  const original = await store.findDelivery(w.db, hook.id, deliveryId);
  if (original === undefined) throw notFound('delivery', deliveryId);
  const delivery = await commitChange(w, actor, async (tx) => {
    const locked = await lockExisting(tx, project, hook.id);
    if (!locked.active) {
      throw new AppError('CONFLICT', 'the webhook is inactive; activate it before redelivering', { field: 'active' });
    }
    return {
      entries: [],
      apply: async () => ({
        result: await store.insertRedelivery(tx, original),
        audit: [
          {
            projectId: project.id,
            action: 'webhook.redeliver',
            targetKind: 'webhook',
            targetKey: hook.id,
            before: null,
            after: { delivery: original.id, eventId: original.eventId },
          },
        ],
      }),
    };
  });
  return deliveryView(delivery);
}

/** What a receiver gets: the audit entry, named by keys as the API names things. */
function payloadOf(entry: AuditEntry, type: WebhookEventType, keys: ReadonlyMap<string, string>): string {
  return JSON.stringify({
    id: entry.id,
    type,
    action: entry.action,
    occurredAt: entry.createdAt.toISOString(),
    project: entry.projectId === null ? null : (keys.get(entry.projectId) ?? null),
    environment: entry.environmentId == null ? null : (keys.get(entry.environmentId) ?? null),
    target: { kind: entry.targetKind, key: entry.targetKey },
    actor: entry.actor,
    reason: entry.reason,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}

/**
 * The webhook outbox, as the one write path's follower: in the write's transaction, a delivery
 * row per audit entry and subscribed webhook. Nothing is sent here; once the write has committed,
 * `wake` tells this instance's dispatcher to send now rather than at its next poll. A write to a
 * webhook itself wakes it too: a redelivery adds a delivery, a reactivation makes pending ones due.
 */
export function webhookOutbox(wake: AfterCommit): AuditFollower {
  return async (tx, entries) => {
    const ownWrite = entries.some((e) => e.targetKind === 'webhook');
    const events: { entry: AuditEntry & { projectId: string }; type: WebhookEventType }[] = [];
    for (const entry of entries) {
      const type = eventTypeOf(entry.action);
      if (type !== undefined && entry.projectId !== null)
        events.push({ entry: { ...entry, projectId: entry.projectId }, type });
    }
    if (events.length === 0) return ownWrite ? wake : undefined;
    const projectIds = [...new Set(events.map((e) => e.entry.projectId))];
    const hooks = await store.subscribers(tx, projectIds, [...new Set(events.map((e) => e.type))]);
    if (hooks.length === 0) return ownWrite ? wake : undefined;
    const environmentIds = [
      ...new Set(events.flatMap((e) => (e.entry.environmentId == null ? [] : [e.entry.environmentId]))),
    ];
    const keys = await store.keysOf(tx, projectIds, environmentIds);
    const written = await store.insertDeliveries(
      tx,
      events.flatMap(({ entry, type }) => {
        const payload = payloadOf(entry, type, keys);
        return hooks
          .filter((h) => h.projectId === entry.projectId && h.events.includes(type))
          .map((h) => ({ webhookId: h.id, eventId: entry.id, eventType: type, payload }));
      }),
    );
    return written.length > 0 || ownWrite ? wake : undefined;
  };
}

/** Deletes finished deliveries older than `days`: the delivery log's retention. */
export async function expireDeliveries(db: Db, days: number): Promise<number> {
  return store.deleteFinishedBefore(db, days);
}
