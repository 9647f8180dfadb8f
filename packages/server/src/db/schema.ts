import type { FlagMetadata, Prerequisite, Rule, SegmentRule, Serve, Target, Variant } from '@switchyard/core';
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const projects = pgTable('projects', {
  id: uuid('id').primaryKey().defaultRandom(),
  key: text('key').notNull().unique(),
  name: text('name').notNull(),
  /** Bumped by every write to the row: its ETag, checked against `If-Match`. */
  revision: integer('revision').notNull().default(1),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * `version` is the environment's monotonically increasing change counter: every write that
 * changes what its SDKs see bumps it by one, inside the write's transaction.
 */
export const environments = pgTable(
  'environments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    name: text('name').notNull(),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    /** Bumped by every write to the row: its ETag, checked against `If-Match`. */
    revision: integer('revision').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('environments_project_key').on(t.projectId, t.key)],
);

export const flags = pgTable(
  'flags',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'restrict' }),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    type: text('type', { enum: ['boolean', 'string', 'number', 'json'] }).notNull(),
    variants: jsonb('variants').$type<Variant[]>().notNull(),
    clientSide: boolean('client_side').notNull().default(false),
    archived: boolean('archived').notNull().default(false),
    metadata: jsonb('metadata').$type<FlagMetadata>().notNull().default({}),
    /** Bumped by every write to the row: its ETag, checked against `If-Match`. */
    revision: integer('revision').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('flags_project_key').on(t.projectId, t.key),
    index('flags_tags').using('gin', t.tags),
    check('flags_type', sql`${t.type} in ('boolean', 'string', 'number', 'json')`),
  ],
);

/**
 * A flag's configuration in one environment. `version` is the environment version of its last
 * change: it orders patches to SDKs and is the value `If-Match` is checked against.
 */
export const flagConfigs = pgTable(
  'flag_configs',
  {
    flagId: uuid('flag_id')
      .notNull()
      .references(() => flags.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    enabled: boolean('enabled').notNull().default(false),
    offVariant: text('off_variant'),
    prerequisites: jsonb('prerequisites').$type<Prerequisite[]>().notNull().default([]),
    targets: jsonb('targets').$type<Target[]>().notNull().default([]),
    rules: jsonb('rules').$type<Rule[]>().notNull().default([]),
    defaultServe: jsonb('default_serve').$type<Serve>().notNull(),
    salt: text('salt'),
    /** Whether SDKs record exposures of this flag (DESIGN §9): set for an experiment or by a running release plan. */
    measured: boolean('measured').notNull().default(false),
    version: bigint('version', { mode: 'number' }).notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.flagId, t.environmentId] }), index('flag_configs_environment').on(t.environmentId)],
);

export const segments = pgTable(
  'segments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'restrict' }),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    included: jsonb('included').$type<string[]>().notNull().default([]),
    excluded: jsonb('excluded').$type<string[]>().notNull().default([]),
    rules: jsonb('rules').$type<SegmentRule[]>().notNull().default([]),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('segments_environment_key').on(t.environmentId, t.key)],
);

/**
 * API keys are stored as hashes; the token itself is shown once, at creation. Admin keys belong to a project or, without
 * one, to the whole organisation; SDK keys to one environment.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    type: text('type', { enum: ['admin', 'server', 'client'] }).notNull(),
    /** The token's first characters, to tell keys apart in a list. */
    prefix: text('prefix').notNull(),
    /** The start of the token's SHA-256, to find the row without comparing secrets in SQL. */
    lookup: text('lookup').notNull(),
    /** SHA-256 of the whole token, compared in constant time. */
    tokenHash: text('token_hash').notNull(),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id').references(() => environments.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** Bumped by every write to the row: its ETag, checked against `If-Match`. */
    revision: integer('revision').notNull().default(1),
    /**
     * When a write last changed what the key grants (revoked, rotated, expiry moved): what every
     * instance's key check polls, so a revocation reaches every instance's cache within a second.
     */
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
    /** After this the key no longer authenticates; `null`: never. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** The secret a rotation replaced, still accepted until `previousExpiresAt` (the grace period). */
    previousLookup: text('previous_lookup'),
    previousTokenHash: text('previous_token_hash'),
    previousExpiresAt: timestamp('previous_expires_at', { withTimezone: true }),
    /** Recorded in batches, at most a few seconds late: never one write per request. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [
    index('api_keys_lookup').on(t.lookup),
    index('api_keys_previous_lookup').on(t.previousLookup),
    index('api_keys_changed_at').on(t.changedAt),
    check('api_keys_type', sql`${t.type} in ('admin', 'server', 'client')`),
    check(
      'api_keys_scope',
      sql`(${t.type} = 'admin' and ${t.environmentId} is null) or (${t.type} <> 'admin' and ${t.environmentId} is not null and ${t.projectId} is not null)`,
    ),
  ],
);

export const auditEntries = pgTable(
  'audit_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    projectId: uuid('project_id'),
    environmentId: uuid('environment_id'),
    actor: text('actor').notNull(),
    /** Who acted, stably: `user:<id>`, `token:<id>` (a personal token), `key:<id>`, or `system`. */
    actorId: text('actor_id').notNull().default('unknown'),
    action: text('action').notNull(),
    targetKind: text('target_kind').notNull(),
    targetKey: text('target_key').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [index('audit_entries_project').on(t.projectId, t.id)],
);

/**
 * The outbox: one row per flag or segment a committed write changed in an environment, at
 * the environment version the write produced. Delivery reads it to build patches.
 */
export const changes = pgTable(
  'changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    version: bigint('version', { mode: 'number' }).notNull(),
    kind: text('kind', { enum: ['flag', 'segment'] }).notNull(),
    key: text('key').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('changes_environment_version_kind_key').on(t.environmentId, t.version, t.kind, t.key),
    check('changes_kind', sql`${t.kind} in ('flag', 'segment')`),
  ],
);

/**
 * One `POST /sdk/v1/events` from one SDK: its time window and what it dropped at its memory
 * bounds. Its evaluation counts and track events refer to it.
 */
export const eventBatches = pgTable(
  'event_batches',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    keyId: uuid('key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    droppedEvaluations: integer('dropped_evaluations').notNull().default(0),
    droppedEvents: integer('dropped_events').notNull().default(0),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    /** The SDK's own id of the batch: a retried batch carries the same one and is stored once. */
    clientBatchId: text('client_batch_id'),
  },
  (t) => [
    index('event_batches_environment').on(t.environmentId, t.receivedAt),
    uniqueIndex('event_batches_client_id').on(t.environmentId, t.clientBatchId),
  ],
);

/** How many times a flag served a variant (`null`: the caller's default) for a reason, in a batch's window. */
export const evaluationCounts = pgTable(
  'evaluation_counts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: bigint('batch_id', { mode: 'number' })
      .notNull()
      .references(() => eventBatches.id, { onDelete: 'cascade' }),
    flag: text('flag').notNull(),
    variant: text('variant'),
    reason: text('reason').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [index('evaluation_counts_batch').on(t.batchId)],
);

/**
 * A user action or outcome an SDK recorded with `track`, with the key of the context it was
 * tracked for. Partitioned by day on `occurred_at` (migrations/0002): retention drops whole
 * partitions, so it has no primary key (one would have to include the partition key) and no
 * foreign keys (a cascade would have to visit every partition).
 */
export const trackEvents = pgTable(
  'track_events',
  {
    environmentId: uuid('environment_id').notNull(),
    batchId: bigint('batch_id', { mode: 'number' }).notNull(),
    event: text('event').notNull(),
    contextKey: text('context_key'),
    value: doublePrecision('value'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('track_events_unit').on(t.environmentId, t.contextKey, t.event, t.occurredAt, t.value)],
);

/**
 * Every exposure an SDK reported: the first time a unit (a context key) was served a variant
 * of a measured flag. Partitioned by day like `track_events`. Stored as received, without an
 * index (every index slows ingestion): results read `exposure_units`, kept up to date from it.
 */
export const exposures = pgTable('exposures', {
  environmentId: uuid('environment_id').notNull(),
  flag: text('flag').notNull(),
  variant: text('variant').notNull(),
  contextKey: text('context_key').notNull(),
  occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
});

/**
 * Each unit exposed to a flag, kept up to date as exposures arrive: its assignment (the
 * variant of its earliest exposure), that exposure's time, and whether it was also exposed
 * to another variant. The results query reads this instead of grouping every exposure by unit.
 */
export const exposureUnits = pgTable(
  'exposure_units',
  {
    environmentId: uuid('environment_id').notNull(),
    flag: text('flag').notNull(),
    contextKey: text('context_key').notNull(),
    variant: text('variant').notNull(),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull(),
    mixed: boolean('mixed').notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.environmentId, t.flag, t.contextKey] }),
    index('exposure_units_first_at').on(t.firstAt),
    index('exposure_units_unit').on(t.environmentId, t.contextKey),
  ],
);

/**
 * Per unit exposed to a flag and per event it sent at or after its first exposure: how many
 * and the sum of their values, with the unit's assignment copied from `exposure_units`. Kept
 * exact at ingestion (features/events/store.ts), so a metric's results read one row per unit
 * that sent the event (migrations/0010).
 */
export const unitEventTotals = pgTable(
  'unit_event_totals',
  {
    environmentId: uuid('environment_id').notNull(),
    flag: text('flag').notNull(),
    event: text('event').notNull(),
    contextKey: text('context_key').notNull(),
    variant: text('variant').notNull(),
    mixed: boolean('mixed').notNull(),
    events: bigint('events', { mode: 'number' }).notNull(),
    total: doublePrecision('total').notNull(),
  },
  (t) => [primaryKey({ name: 'unit_event_totals_pk', columns: [t.environmentId, t.flag, t.event, t.contextKey] })],
);

/**
 * One row per context key an environment's events named: ingestion locks a batch's units here,
 * in key order, before it reads or writes their exposures and totals, so that concurrent
 * batches with the same units take turns on those units only.
 */
export const eventUnitLocks = pgTable(
  'event_unit_locks',
  {
    environmentId: uuid('environment_id').notNull(),
    contextKey: text('context_key').notNull(),
  },
  (t) => [primaryKey({ name: 'event_unit_locks_pk', columns: [t.environmentId, t.contextKey] })],
);

/**
 * How many units `exposure_units` holds per flag and assigned variant (`units`: exposed to
 * that variant only; `excluded`: also to another), kept by statement triggers on that table
 * (migrations/0002), so results never count a million units one by one.
 */
export const exposureUnitCounts = pgTable(
  'exposure_unit_counts',
  {
    environmentId: uuid('environment_id').notNull(),
    flag: text('flag').notNull(),
    variant: text('variant').notNull(),
    units: bigint('units', { mode: 'number' }).notNull().default(0),
    excluded: bigint('excluded', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.flag, t.variant] })],
);

/** A named measure over one track event (DESIGN §9), per project. */
export const metrics = pgTable(
  'metrics',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    event: text('event').notNull(),
    kind: text('kind', { enum: ['conversion', 'mean'] }).notNull(),
    direction: text('direction', { enum: ['increase', 'decrease'] }).notNull(),
    archived: boolean('archived').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('metrics_project_key').on(t.projectId, t.key),
    check('metrics_kind', sql`${t.kind} in ('conversion', 'mean')`),
    check('metrics_direction', sql`${t.direction} in ('increase', 'decrease')`),
  ],
);

/**
 * A release plan (DESIGN §10): one variant released against a control on one flag in one
 * environment, stage by stage. `stage` is the index of the stage the rollout is at (-1 before
 * the start); `revision` moves with every step, so a step commits only on the plan it read.
 * At most one plan per flag and environment is open (draft, running or paused).
 */
export const releasePlans = pgTable(
  'release_plans',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    flagId: uuid('flag_id')
      .notNull()
      .references(() => flags.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    variant: text('variant').notNull(),
    control: text('control').notNull(),
    stages: jsonb('stages').$type<PlanStage[]>().notNull(),
    guards: jsonb('guards').$type<PlanGuard[]>().notNull(),
    onBreach: text('on_breach', { enum: ['rollback', 'kill', 'pause'] }).notNull(),
    state: text('state', {
      enum: ['draft', 'running', 'paused', 'completed', 'rolled_back', 'aborted'],
    }).notNull(),
    stage: integer('stage').notNull().default(-1),
    stageStartedAt: timestamp('stage_started_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    /** The flag's measured mark before the plan set it, given back when the plan ends. */
    measuredBefore: boolean('measured_before'),
    revision: integer('revision').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('release_plans_one_open')
      .on(t.flagId, t.environmentId)
      .where(sql`${t.state} in ('draft', 'running', 'paused')`),
    index('release_plans_flag_environment').on(t.flagId, t.environmentId, t.createdAt),
    index('release_plans_running').on(t.state).where(sql`${t.state} = 'running'`),
    check(
      'release_plans_state',
      sql`${t.state} in ('draft', 'running', 'paused', 'completed', 'rolled_back', 'aborted')`,
    ),
    check('release_plans_on_breach', sql`${t.onBreach} in ('rollback', 'kill', 'pause')`),
  ],
);

/** Every step of a release plan, by whom and why, with the numbers it was taken on. */
export const releasePlanHistory = pgTable(
  'release_plan_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    planId: uuid('plan_id')
      .notNull()
      .references(() => releasePlans.id, { onDelete: 'cascade' }),
    revision: integer('revision').notNull(),
    action: text('action').notNull(),
    state: text('state').notNull(),
    stage: integer('stage').notNull(),
    actor: text('actor').notNull(),
    reason: text('reason').notNull(),
    details: jsonb('details'),
    createdAt: createdAt(),
  },
  (t) => [index('release_plan_history_plan').on(t.planId, t.id)],
);

export interface PlanStage {
  /** Of units served the variant, to 0.001 % (a rollout weight is in thousandths of a percent). */
  percent: number;
  holdSeconds: number;
  minUnits: number;
}

export type PlanGuard =
  | { metric: string; max: number }
  | { metric: string; min: number }
  | { metric: string; maxRegression: number };

/**
 * A change to a flag's configuration in one environment, applied at `at` by the controller that
 * drives release plans (features/schedules). `change` is the body a person's PATCH of the
 * configuration takes; `baseVersion` is the configuration's version when it was scheduled. A row
 * leaves `pending` once: `appliedVersion` or `outcome` (why it was refused, failed or cancelled)
 * says how, `settledBy` who.
 */
export const scheduledChanges = pgTable(
  'scheduled_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    flagId: uuid('flag_id')
      .notNull()
      .references(() => flags.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true }).notNull(),
    change: jsonb('change').$type<Record<string, unknown>>().notNull(),
    ifVersionMoved: text('if_version_moved', { enum: ['apply', 'refuse'] }).notNull(),
    baseVersion: bigint('base_version', { mode: 'number' }).notNull(),
    reason: text('reason'),
    state: text('state', { enum: ['pending', 'applied', 'refused', 'cancelled', 'failed'] })
      .notNull()
      .default('pending'),
    /** Who scheduled it, as the audit log names them, and their stable id (`user:<id>`, `key:<id>`…). */
    scheduledBy: text('scheduled_by').notNull(),
    scheduledById: text('scheduled_by_id').notNull(),
    /** Unexpected errors applying it so far; at the limit it is `failed`. */
    attempts: integer('attempts').notNull().default(0),
    appliedVersion: bigint('applied_version', { mode: 'number' }),
    outcome: text('outcome'),
    settledBy: text('settled_by'),
    settledAt: timestamp('settled_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('scheduled_changes_due').on(t.at, t.id).where(sql`${t.state} = 'pending'`),
    index('scheduled_changes_flag_environment').on(t.flagId, t.environmentId, t.at),
    check('scheduled_changes_state', sql`${t.state} in ('pending', 'applied', 'refused', 'cancelled', 'failed')`),
    check('scheduled_changes_if_version_moved', sql`${t.ifVersionMoved} in ('apply', 'refuse')`),
  ],
);

/** A project's subscription to events of its audit log (features/webhooks). */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    events: text('events').array().notNull(),
    active: boolean('active').notNull().default(true),
    secret: text('secret').notNull(),
    /** After a rotation, the secret receivers may still verify with until it expires. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('webhooks_project').on(t.projectId)],
);

/**
 * The webhook outbox: one row per subscribed webhook and audit entry, written in the change's
 * transaction; the dispatcher leases due rows and records each attempt.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The audit entry the delivery announces. */
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).defaultNow(),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    leaseToken: uuid('lease_token'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    redeliveryOf: uuid('redelivery_of'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('webhook_deliveries_due').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('webhook_deliveries_webhook').on(t.webhookId, t.createdAt),
    index('webhook_deliveries_created').on(t.createdAt),
    check('webhook_deliveries_status', sql`${t.status} in ('pending', 'delivered', 'failed')`),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);

/** People who sign in to the console and the API. `email` is stored trimmed and lower-cased. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull().unique(),
    /** `scrypt$N$r$p$salt$hash` (base64url): the parameters travel with the hash so they can be raised later. */
    passwordHash: text('password_hash').notNull(),
    /** The organisation owner manages everything, users and projects included. */
    owner: boolean('owner').notNull().default(false),
    /** A disabled person cannot sign in, and their sessions and personal tokens are refused. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /** Set when someone else chose the password: the person must choose their own before anything else. */
    mustChangePassword: boolean('must_change_password').notNull().default(false),
    revision: integer('revision').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check('users_email_normalised', sql`${t.email} = lower(btrim(${t.email}))`)],
);

/** A person's role in one project. */
export const projectMembers = pgTable(
  'project_members',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['viewer', 'editor', 'admin'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.projectId, t.userId] }),
    index('project_members_user').on(t.userId),
    check('project_members_role', sql`${t.role} in ('viewer', 'editor', 'admin')`),
  ],
);

/** A signed-in browser. Only the SHA-256 of the cookie's value is kept: a copy of this table signs nobody in. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: createdAt(),
    /** Moved forward (at most once a minute) by requests: the idle expiry counts from here. */
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** The absolute expiry, however active the session. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user').on(t.userId)],
);

/** A person's API token for scripts and the CLI: acts with its owner's roles at the time of each request. */
export const personalTokens = pgTable(
  'personal_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    lookup: text('lookup').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** Refused from this time on; `null`: until revoked. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** Written in batches (at most every few seconds), not at every request. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [index('personal_tokens_lookup').on(t.lookup), index('personal_tokens_user').on(t.userId)],
);

export const schema = {
  projects,
  environments,
  flags,
  flagConfigs,
  segments,
  apiKeys,
  auditEntries,
  changes,
  eventBatches,
  evaluationCounts,
  trackEvents,
  exposures,
  exposureUnits,
  exposureUnitCounts,
  unitEventTotals,
  eventUnitLocks,
  metrics,
  releasePlans,
  releasePlanHistory,
  scheduledChanges,
  webhooks,
  webhookDeliveries,
  webhookAttempts,
  users,
  projectMembers,
  sessions,
  personalTokens,
};
