import { and, arrayOverlaps, asc, desc, eq, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { environments, projects, webhookAttempts, webhookDeliveries, webhooks } from '../../db/schema.js';

export type Webhook = typeof webhooks.$inferSelect;
export type Delivery = typeof webhookDeliveries.$inferSelect;
export type Attempt = typeof webhookAttempts.$inferSelect;
export type DeliveryStatus = Delivery['status'];

export async function insertWebhook(
  tx: Tx,
  w: Pick<Webhook, 'projectId' | 'url' | 'description' | 'events' | 'active' | 'secret'>,
): Promise<Webhook> {
  const [row] = await tx.insert(webhooks).values(w).returning();
  return row as Webhook;
}

export async function listWebhooks(db: Db, projectId: string): Promise<Webhook[]> {
  return db
    .select()
    .from(webhooks)
    .where(eq(webhooks.projectId, projectId))
    .orderBy(asc(webhooks.createdAt), asc(webhooks.id));
}

export async function findWebhook(db: Db | Tx, projectId: string, id: string): Promise<Webhook | undefined> {
  const [row] = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)));
  return row;
}

/** Holds the webhook's row until the transaction ends, so that its audit entry's `before` is what was replaced. */
export async function lockWebhook(tx: Tx, projectId: string, id: string): Promise<Webhook | undefined> {
  const [row] = await tx
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)))
    .for('update');
  return row;
}

export async function updateWebhook(
  tx: Tx,
  id: string,
  patch: Partial<
    Pick<Webhook, 'url' | 'description' | 'events' | 'active' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>
  >,
): Promise<Webhook> {
  const [row] = await tx
    .update(webhooks)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(webhooks.id, id))
    .returning();
  return row as Webhook;
}

export async function deleteWebhook(tx: Tx, id: string): Promise<void> {
  await tx.delete(webhooks).where(eq(webhooks.id, id));
}

/**
 * The active webhooks of `projectIds` subscribed to any of `types`. Their rows are share-locked
 * until the write commits: a webhook deleted meanwhile is either skipped here or waits for the
 * write, so its deliveries' foreign key never fails the write.
 */
export async function subscribers(
  tx: Tx,
  projectIds: readonly string[],
  types: readonly string[],
): Promise<Pick<Webhook, 'id' | 'projectId' | 'events'>[]> {
  return tx
    .select({ id: webhooks.id, projectId: webhooks.projectId, events: webhooks.events })
    .from(webhooks)
    .where(
      and(
        inArray(webhooks.projectId, [...projectIds]),
        eq(webhooks.active, true),
        arrayOverlaps(webhooks.events, [...types]),
      ),
    )
    .orderBy(asc(webhooks.id))
    .for('key share');
}

/** Keys of projects and environments by id, for payloads that name them as the API does. */
export async function keysOf(
  tx: Tx,
  projectIds: readonly string[],
  environmentIds: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (projectIds.length > 0) {
    const rows = await tx
      .select({ id: projects.id, key: projects.key })
      .from(projects)
      .where(inArray(projects.id, [...projectIds]));
    for (const r of rows) out.set(r.id, r.key);
  }
  if (environmentIds.length > 0) {
    const rows = await tx
      .select({ id: environments.id, key: environments.key })
      .from(environments)
      .where(inArray(environments.id, [...environmentIds]));
    for (const r of rows) out.set(r.id, r.key);
  }
  return out;
}

export async function insertDeliveries(
  tx: Tx,
  rows: readonly Pick<Delivery, 'webhookId' | 'eventId' | 'eventType' | 'payload'>[],
): Promise<Delivery[]> {
  if (rows.length === 0) return [];
  return tx
    .insert(webhookDeliveries)
    .values([...rows])
    .returning();
}

export async function insertRedelivery(db: Db, of: Delivery): Promise<Delivery> {
  const [row] = await db
    .insert(webhookDeliveries)
    .values({
      webhookId: of.webhookId,
      eventId: of.eventId,
      eventType: of.eventType,
      payload: of.payload,
      redeliveryOf: of.id,
    })
    .returning();
  return row as Delivery;
}

export async function listDeliveries(
  db: Db,
  webhookId: string,
  q: { status: DeliveryStatus | undefined; before: string | undefined; limit: number },
): Promise<Delivery[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        q.status === undefined ? undefined : eq(webhookDeliveries.status, q.status),
        q.before === undefined
          ? undefined
          : sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (select d.created_at, d.id from webhook_deliveries d where d.id = ${q.before})`,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(q.limit);
}

export async function findDelivery(db: Db, webhookId: string, id: string): Promise<Delivery | undefined> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, id)));
  return row;
}

export async function attemptsOf(db: Db, deliveryId: string): Promise<Attempt[]> {
  return db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.deliveryId, deliveryId))
    .orderBy(asc(webhookAttempts.attempt));
}

/** A leased delivery with what sending it needs. */
export interface Claimed {
  id: string;
  eventId: number;
  eventType: string;
  payload: string;
  attempt: number;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/**
 * Leases up to `limit` due deliveries of active webhooks for `leaseMs` under `token`. Rows
 * another instance is leasing right now are skipped, not waited for, and a lease is taken in
 * the same transaction that picks the row: two instances never hold one delivery at once. A
 * lease that runs out (its instance died mid-send) makes the delivery due again.
 */
export async function claimDue(db: Db, limit: number, leaseMs: number, token: string): Promise<Claimed[]> {
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
      .where(
        and(
          eq(webhookDeliveries.status, 'pending'),
          lte(webhookDeliveries.nextAttemptAt, sql`now()`),
          or(isNull(webhookDeliveries.leaseUntil), lte(webhookDeliveries.leaseUntil, sql`now()`)),
          eq(webhooks.active, true),
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(limit)
      .for('update', { of: webhookDeliveries, skipLocked: true });
    if (due.length === 0) return [];
    const leased = await tx
      .update(webhookDeliveries)
      .set({
        leaseUntil: sql`now() + ${leaseMs}::integer * interval '1 millisecond'`,
        leaseToken: token,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        updatedAt: sql`now()`,
      })
      .where(
        inArray(
          webhookDeliveries.id,
          due.map((d) => d.id),
        ),
      )
      .returning();
    const hooks = await tx
      .select()
      .from(webhooks)
      .where(inArray(webhooks.id, [...new Set(leased.map((d) => d.webhookId))]));
    const byId = new Map(hooks.map((h) => [h.id, h]));
    return leased.map((d) => {
      const hook = byId.get(d.webhookId) as Webhook;
      return {
        id: d.id,
        eventId: d.eventId,
        eventType: d.eventType,
        payload: d.payload,
        attempt: d.attempts,
        url: hook.url,
        secret: hook.secret,
        previousSecret: hook.previousSecret,
        previousSecretExpiresAt: hook.previousSecretExpiresAt,
      };
    });
  });
}

export interface AttemptOutcome {
  deliveryId: string;
  token: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** Delivered, or the time to the next attempt; `undefined`: the last attempt failed, the delivery has failed. */
  retryInMs: number | 'delivered' | undefined;
}

/**
 * Records an attempt and what follows it, unless the lease is no longer this instance's (it ran
 * out and another instance took the delivery over): then that instance records its own.
 */
export async function recordAttempt(db: Db, o: AttemptOutcome): Promise<void> {
  await db.transaction(async (tx) => {
    const next =
      o.retryInMs === 'delivered'
        ? { status: 'delivered' as const, deliveredAt: sql`now()`, nextAttemptAt: null }
        : o.retryInMs === undefined
          ? { status: 'failed' as const, nextAttemptAt: null }
          : { nextAttemptAt: sql`now() + ${o.retryInMs}::integer * interval '1 millisecond'` };
    const updated = await tx
      .update(webhookDeliveries)
      .set({
        ...next,
        lastStatusCode: o.statusCode,
        lastError: o.error,
        leaseUntil: null,
        leaseToken: null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(webhookDeliveries.id, o.deliveryId), eq(webhookDeliveries.leaseToken, o.token)))
      .returning({ id: webhookDeliveries.id });
    if (updated.length === 0) return;
    await tx
      .insert(webhookAttempts)
      .values({
        deliveryId: o.deliveryId,
        attempt: o.attempt,
        startedAt: o.startedAt,
        durationMs: o.durationMs,
        statusCode: o.statusCode,
        error: o.error,
      })
      .onConflictDoNothing();
  });
}

/** Gives a delivery back, its attempt uncounted, when this instance stops in the middle of sending it. */
export async function releaseLease(db: Db, deliveryId: string, token: string): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      leaseUntil: null,
      leaseToken: null,
      attempts: sql`${webhookDeliveries.attempts} - 1`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.leaseToken, token)));
}

/** Deletes finished deliveries (and their attempts) created more than `days` ago; pending ones stay. */
export async function deleteFinishedBefore(db: Db, days: number): Promise<number> {
  const rows = await db
    .delete(webhookDeliveries)
    .where(
      and(
        ne(webhookDeliveries.status, 'pending'),
        lt(webhookDeliveries.createdAt, sql`now() - ${days}::integer * interval '1 day'`),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}
