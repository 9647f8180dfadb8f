import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { type Database, ping } from './db/database.js';
import { type ChangeStreamSettings, ChangeStreams, DEFAULT_CHANGE_STREAMS } from './features/audit/change-streams.js';
import { auditRoutes } from './features/audit/routes.js';
import { changeStreamRoutes } from './features/audit/stream-route.js';
import { ChangeFeed } from './features/changes/change-feed.js';
import type { Writer } from './features/changes/commit-change.js';
import { type ChangeBus, InProcessBus } from './features/delivery/bus.js';
import { Delivery } from './features/delivery/delivery.js';
import { KeyCheck } from './features/delivery/key-check.js';
import { deliveryRoutes } from './features/delivery/routes.js';
import { SdkKeyCache } from './features/delivery/sdk-keys.js';
import { environmentRoutes } from './features/environments/routes.js';
import { IngestGate } from './features/events/ingest-gate.js';
import { EventPartitions } from './features/events/partitions.js';
import { EventRetention } from './features/events/retention.js';
import { eventRoutes } from './features/events/routes.js';
import { experimentRoutes } from './features/experiments/routes.js';
import { flagRoutes } from './features/flags/routes.js';
import { keyRoutes } from './features/keys/routes.js';
import { markKeysUsed } from './features/keys/service.js';
import { UsageBatch } from './features/keys/usage.js';
import { metricRoutes } from './features/metrics/routes.js';
import { PlanController } from './features/plans/controller.js';
import { planRoutes } from './features/plans/routes.js';
import { pauseOnManualEdit, variantsOfOpenPlans } from './features/plans/service.js';
import { projectRoutes } from './features/projects/routes.js';
import { scheduleRoutes } from './features/schedules/routes.js';
import { ScheduleRunner } from './features/schedules/runner.js';
import { segmentRoutes } from './features/segments/routes.js';
import { sessionRoutes } from './features/sessions/routes.js';
import { DEFAULT_SESSIONS, type SessionSettings } from './features/sessions/service.js';
import { metricsRoute, observeRequests } from './features/telemetry/http.js';
import { Telemetry } from './features/telemetry/telemetry.js';
import { tokenRoutes } from './features/tokens/routes.js';
import { markTokensUsed } from './features/tokens/service.js';
import { userRoutes } from './features/users/routes.js';
import { DEFAULT_WEBHOOKS, WebhookDispatcher, type WebhookSettings } from './features/webhooks/dispatcher.js';
import { EgressPolicy } from './features/webhooks/egress.js';
import { webhookRoutes } from './features/webhooks/routes.js';
import { webhookOutbox } from './features/webhooks/service.js';
import { serveConsole } from './http/console.js';
import { clientErrorHandler, frameworkErrors, refuseNul } from './http/hostile-input.js';
import { parseJsonBody } from './http/json-body.js';
import { documentTransforms, ProbeAnswer, responses, securitySchemes } from './http/openapi.js';
import { redactingLogger } from './http/redact.js';
import { type GuardOptions, guardApi, recheckCredentials } from './plugins/auth.js';
import { limitAuthFailures } from './plugins/auth-failure-limit.js';
import { registerErrorHandler } from './plugins/error-handler.js';

export interface BuildOptions {
  database: Database;
  /** Fastify's logger option; pass `false` to silence it. Credentials are redacted from it whatever it says. */
  logger?: FastifyServerOptions['logger'];
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** How instances tell each other about changes; in-process (one instance) by default. */
  bus?: ChangeBus;
  delivery?: Partial<DeliverySettings>;
  /** The management change stream's bounds and polling; its heartbeat, buffer and retry are delivery's. */
  changeStreams?: Partial<Pick<ChangeStreamSettings, 'pollIntervalMs' | 'maxOpen' | 'maxPerPrincipal'>>;
  events?: Partial<EventSettings>;
  keys?: Partial<KeySettings>;
  metrics?: MetricsSettings;
  /** `/readyz` answers 503 when Postgres has not answered within this (default 1000 ms). */
  readinessTimeoutMs?: number;
  webhooks?: Partial<WebhookSettings>;
  plans?: Partial<PlanSettings>;
  /** Failed authentications one address may make per minute before it is answered 429 (default 30). */
  authFailuresPerMinute?: number;
  /** How long sessions last and when their cookie is `Secure`. */
  sessions?: Partial<SessionSettings>;
  /** Fastify's `trustProxy`: behind a proxy, which hops' `X-Forwarded-For` names the client. */
  trustProxy?: boolean | string;
  /** The console's built files, served at `/` when the folder holds them; no console when left out. */
  consoleDir?: string;
}

export interface KeySettings {
  /** How often revocations, rotations and expiries made anywhere are looked for (`SWITCHYARD_KEY_CHECK_MS`). */
  checkIntervalMs: number;
  /** How often the keys' last-used times are written, in one statement. */
  usageFlushMs: number;
}

export const DEFAULT_KEYS: KeySettings = { checkIntervalMs: 500, usageFlushMs: 5000 };

export interface MetricsSettings {
  /** `SWITCHYARD_METRICS_TOKEN`: the bearer token `/metrics` asks for. */
  token?: string;
  /**
   * Whether `GET /metrics` is served on the API's port (it is when a token is set); `main`
   * turns it off when the metrics have a port of their own (`serveMetrics`).
   */
  onApiPort?: boolean;
  /** prom-client's process and Node.js series too (`main` asks for them; tests need not). */
  processMetrics?: boolean;
}

export interface PlanSettings {
  /** How often the instance driving release plans judges them and applies due scheduled changes (`SWITCHYARD_PLAN_INTERVAL_MS`). */
  intervalMs: number;
}

export const DEFAULT_PLANS: PlanSettings = { intervalMs: 10_000 };

export interface EventSettings {
  /** Days track events and exposures are kept (`SWITCHYARD_EVENTS_RETENTION_DAYS`). */
  retentionDays: number;
  /** Daily partitions are created this many days ahead. */
  aheadDays: number;
  /** How often partitions are created ahead and expired ones dropped. */
  retentionIntervalMs: number;
  /** Event batches stored at once; kept below the pool's size so the management API keeps connections. */
  maxInFlight: number;
  /** Batches waiting for their turn before further ones are answered 429. */
  maxWaiting: number;
  /** The clock partitions and retention go by (milliseconds since the epoch). */
  now: () => number;
}

export const DEFAULT_EVENTS: EventSettings = {
  retentionDays: 90,
  aheadDays: 2,
  retentionIntervalMs: 3_600_000,
  maxInFlight: 4,
  maxWaiting: 16,
  now: Date.now,
};

export interface DeliverySettings {
  /** How often each instance compares its versions with Postgres (catches lost bus messages). */
  reconcileIntervalMs: number;
  heartbeatIntervalMs: number;
  /** A stream with more unsent bytes than this is cut off. */
  maxBufferedBytes: number;
  retryMs: number;
}

export const DEFAULT_DELIVERY: DeliverySettings = {
  reconcileIntervalMs: 5000,
  heartbeatIntervalMs: 15_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  retryMs: 2000,
};

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export const DEFAULT_READINESS_TIMEOUT_MS = 1000;

export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 30;

/**
 * `work`, or a rejection once `ms` have passed: a load balancer's probe must get its answer in
 * time whatever Postgres does (a stalled connection, a pool waiting on it).
 */
async function answersWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The partition keeper of the event tables, for operators' scripts and tests to run on demand. */
    eventRetention: EventRetention;
    /** This server's Prometheus registry and observers; `main` serves it on a metrics port. */
    telemetry: Telemetry;
    /** The release plan controller, for tests to drive a tick on demand. */
    planController: PlanController;
  }
}

/** The whole HTTP application, not listening: `main` listens, tests use `inject` or `listen({port: 0})`. */
export async function buildServer(options: BuildOptions): Promise<FastifyInstance> {
  const { db } = options.database;
  const serverOptions: FastifyServerOptions = {
    logger: redactingLogger(options.logger),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    frameworkErrors,
    clientErrorHandler,
    trustProxy: options.trustProxy ?? false,
  };
  const app = Fastify(serverOptions);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  refuseNul(app);
  limitAuthFailures(app, options.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  const telemetry = new Telemetry({ processMetrics: options.metrics?.processMetrics ?? false });
  app.decorate('telemetry', telemetry);
  observeRequests(app, telemetry);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Switchyard API',
        description:
          'Management API of the Switchyard flag server. Sign in with `POST /api/v1/session` (a cookie; writes then send `X-CSRF-Token`), or send an admin key or a personal token as `Authorization: Bearer <token>`.',
        version: '1',
      },
      components: { securitySchemes },
      security: [{ bearer: [] }],
    },
    ...documentTransforms(),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const probe = { tags: ['operations'] };
  const liveness = { ...probe, summary: 'Liveness: the process answers', ...responses({ 200: ProbeAnswer }) };
  app.get('/healthz', { schema: liveness }, async () => ({ status: 'ok' }));
  const readiness = {
    ...probe,
    summary: 'Readiness: Postgres answers in time',
    ...responses(
      { 200: ProbeAnswer },
      { status: 503, description: 'the database does not answer in time (`NOT_READY`)' },
    ),
  };
  app.get('/readyz', { schema: readiness }, async (_request, reply) => {
    try {
      await answersWithin(ping(db), options.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS);
      return { status: 'ready' };
    } catch {
      return reply
        .code(503)
        .send({ error: { code: 'NOT_READY', message: 'the database does not answer', details: {} } });
    }
  });

  // The commit → delivery edge: every write announces its committed versions on this feed, and
  // this instance's delivery listens to it (other instances hear of them through the bus).
  const feed = new ChangeFeed();
  const bus: ChangeBus = options.bus ?? new InProcessBus();
  const webhooks = { ...DEFAULT_WEBHOOKS, ...options.webhooks };
  const egress = new EgressPolicy(webhooks.allowedHosts);
  const dispatcher = new WebhookDispatcher(
    db,
    webhooks,
    egress,
    (err, context) => app.log.error({ err, context }, 'webhook dispatch failed; the delivery is retried'),
    bus,
  );
  // Every audited write also writes its webhook deliveries, in its own transaction (the outbox),
  // and once it has committed wakes the dispatchers to send them: this instance's, and the
  // others' over the bus.
  const writer: Writer = { db, feed, followAudit: webhookOutbox(() => dispatcher.outboxGrew()) };
  const settings = { ...DEFAULT_DELIVERY, ...options.delivery };
  const delivery = new Delivery({
    db,
    feed,
    bus,
    reconcileIntervalMs: settings.reconcileIntervalMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    onError: (err, context) => app.log.error({ err, context }, 'delivery failed; reconciliation will retry'),
    observer: telemetry.delivery,
  });
  telemetry.watch({
    streams: () => delivery.streamsByEnvironment(),
    pool: options.database.poolStats?.bind(options.database),
    redis: bus.connections?.bind(bus),
  });
  const metricsToken = options.metrics?.token;
  if (metricsToken !== undefined && options.metrics?.onApiPort !== false) {
    metricsRoute(app, telemetry, { token: metricsToken });
  }
  await delivery.start();
  // Streams never end on their own: they must be closed before the server waits for its connections.
  app.addHook('preClose', async () => delivery.close());
  const keySettings = { ...DEFAULT_KEYS, ...options.keys };
  const usage = new UsageBatch(db, markKeysUsed, keySettings.usageFlushMs, (err) =>
    app.log.error({ err }, 'recording when keys were last used failed; the next flush retries'),
  );
  usage.start();
  app.addHook('onClose', async () => usage.stop());
  const tokenUsage = new UsageBatch(db, markTokensUsed, keySettings.usageFlushMs, (err) =>
    app.log.error({ err }, 'recording when personal tokens were last used failed; the next flush retries'),
  );
  tokenUsage.start();
  app.addHook('onClose', async () => tokenUsage.stop());
  const sdkKeys = new SdkKeyCache(db, (keyId) => usage.record(keyId));
  const keyCheck = new KeyCheck({
    db,
    keys: sdkKeys,
    delivery,
    intervalMs: keySettings.checkIntervalMs,
    onError: (err) => app.log.error({ err }, 'key check failed; the next one asks again'),
  });
  await keyCheck.start();
  app.addHook('preClose', async () => keyCheck.stop());
  await app.register(deliveryRoutes, {
    prefix: '/sdk/v1',
    delivery,
    keys: sdkKeys,
    maxBufferedBytes: settings.maxBufferedBytes,
    retryMs: settings.retryMs,
  });
  const events = { ...DEFAULT_EVENTS, ...options.events };
  const partitions = new EventPartitions(db, events, events.now);
  const retention = new EventRetention({
    partitions,
    intervalMs: events.retentionIntervalMs,
    onError: (err) => app.log.error({ err }, 'event retention failed; it runs again at its next interval'),
  });
  retention.start();
  app.addHook('onClose', async () => retention.stop());
  app.decorate('eventRetention', retention);
  const gate = new IngestGate(events.maxInFlight, events.maxWaiting);
  await app.register(eventRoutes, {
    prefix: '/sdk/v1',
    db,
    keys: sdkKeys,
    partitions,
    gate,
    observer: telemetry.events,
  });

  dispatcher.start();
  app.addHook('onClose', async () => dispatcher.stop());
  // A scheduled change is a person's change made later: the flags' hook is told of it as of theirs.
  const schedules = new ScheduleRunner({ writer: { ...writer, onConfigWrite: pauseOnManualEdit }, now: Date.now });
  const plans = new PlanController({
    writer,
    database: options.database,
    intervalMs: { ...DEFAULT_PLANS, ...options.plans }.intervalMs,
    dueWork: [schedules],
    onError: (err, context) =>
      app.log.error({ err, context }, 'release plan controller failed; it tries again next tick'),
  });
  plans.start();
  app.addHook('onClose', async () => plans.stop());
  app.decorate('planController', plans);

  const guard: GuardOptions = {
    db,
    sessions: { ...DEFAULT_SESSIONS, ...options.sessions },
    onKeyUse: (keyId) => usage.record(keyId),
    onTokenUse: (tokenId) => tokenUsage.record(tokenId),
  };
  // The management change stream: the audit log, live, for the console and the CLI. Its own
  // reader and streams; SDK delivery's only share with it is the bus and the database pool.
  const changeStreams = new ChangeStreams({
    db,
    feed,
    signals: bus,
    settings: {
      ...DEFAULT_CHANGE_STREAMS,
      ...options.changeStreams,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      maxBufferedBytes: settings.maxBufferedBytes,
      retryMs: settings.retryMs,
    },
    recheck: (headers) => recheckCredentials({ headers }, guard),
    onError: (err, context) => app.log.error({ err, context }, 'change stream failed; it reads the log again'),
  });
  changeStreams.start();
  app.addHook('preClose', async () => changeStreams.close());

  await app.register(
    async (api) => {
      const { sessions } = guard;
      guardApi(api, guard);
      await api.register(sessionRoutes, { db, settings: sessions });
      await api.register(userRoutes, writer);
      await api.register(tokenRoutes, writer);
      await api.register(projectRoutes, writer);
      await api.register(environmentRoutes, writer);
      await api.register(flagRoutes, { ...writer, onConfigWrite: pauseOnManualEdit, variantUses: variantsOfOpenPlans });
      await api.register(segmentRoutes, writer);
      await api.register(keyRoutes, writer);
      await api.register(auditRoutes, { db });
      await api.register(changeStreamRoutes, {
        db,
        streams: changeStreams,
        maxBufferedBytes: settings.maxBufferedBytes,
        retryMs: settings.retryMs,
      });
      await api.register(metricRoutes, writer);
      await api.register(experimentRoutes, { db });
      await api.register(webhookRoutes, { writer, egress, now: webhooks.now });
      await api.register(planRoutes, writer);
      await api.register(scheduleRoutes, { writer, now: Date.now });
    },
    { prefix: '/api/v1' },
  );
  if (options.consoleDir !== undefined) await serveConsole(app, options.consoleDir);
  return app;
}
