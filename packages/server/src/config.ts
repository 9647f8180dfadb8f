import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { PostgresTimeouts } from './db/database.js';
import type { SessionSettings } from './features/sessions/service.js';
import type { WebhookSettings } from './features/webhooks/dispatcher.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const milliseconds = (fallback: number) => z.coerce.number().int().min(1).max(3_600_000).default(fallback);

/** Workers beyond the cores of any machine this runs on only add database connections. */
const MAX_WORKERS = 64;

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4242),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: optionalText,
  REDIS_URL: optionalText,
  SWITCHYARD_DATA_DIR: z.string().min(1).default('./.switchyard'),
  SWITCHYARD_ADMIN_TOKEN: optionalText,
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SWITCHYARD_RECONCILE_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  SWITCHYARD_REDIS_CHANNEL: z.string().min(1).default('switchyard:changes'),
  SWITCHYARD_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  SWITCHYARD_KEY_CHECK_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  SWITCHYARD_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
  SWITCHYARD_TRUST_PROXY: optionalText,
  SWITCHYARD_METRICS_TOKEN: optionalText,
  SWITCHYARD_METRICS_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65_535).optional(),
  ),
  SWITCHYARD_DB_CONNECT_TIMEOUT_MS: milliseconds(500),
  SWITCHYARD_DB_ACQUIRE_TIMEOUT_MS: milliseconds(1000),
  SWITCHYARD_DB_STATEMENT_TIMEOUT_MS: milliseconds(1200),
  SWITCHYARD_DB_QUERY_TIMEOUT_MS: milliseconds(1400),
  SWITCHYARD_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: milliseconds(5000),
  SWITCHYARD_READINESS_TIMEOUT_MS: milliseconds(1000),
  SWITCHYARD_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  SWITCHYARD_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  SWITCHYARD_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  SWITCHYARD_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).max(86_400_000).default(15_000),
  SWITCHYARD_WEBHOOK_BACKOFF_MAX_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 86_400_000)
    .default(3_600_000),
  SWITCHYARD_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  SWITCHYARD_WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  SWITCHYARD_WEBHOOK_ALLOWED_HOSTS: optionalText,
  SWITCHYARD_PLAN_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  SWITCHYARD_OWNER_EMAIL: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'owner@localhost' : v.trim().toLowerCase())),
  SWITCHYARD_SESSION_IDLE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(31_536_000)
    .default(12 * 3600),
  SWITCHYARD_SESSION_MAX_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(31_536_000)
    .default(7 * 24 * 3600),
  SWITCHYARD_SECURE_COOKIES: z.enum(['auto', 'always']).default('auto'),
  SWITCHYARD_CHANGE_STREAMS_MAX: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  SWITCHYARD_CHANGE_STREAMS_PER_PRINCIPAL: z.coerce.number().int().min(1).max(10_000).default(20),
  SWITCHYARD_WORKERS: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(MAX_WORKERS)])
    .default(1)
    .transform((v) => (v === 'auto' ? Math.min(availableParallelism(), MAX_WORKERS) : v)),
});

export interface Config {
  port: number;
  host: string;
  /** Real Postgres; without it the server runs on embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  dataDir: string;
  /** On first start, the seeded admin token takes this value instead of a random one. */
  adminToken: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  /** How often each instance reconciles its versions with Postgres. */
  reconcileIntervalMs: number;
  redisChannel: string;
  /** Days track events and exposures are kept before their daily partitions are dropped. */
  eventsRetentionDays: number;
  /** How often each instance asks Postgres which keys were revoked, rotated or expired. */
  keyCheckIntervalMs: number;
  /** Failed authentications one address may make per minute before it is answered 429. */
  authFailuresPerMinute: number;
  /** Fastify's `trustProxy`: which proxies' `X-Forwarded-For` names the client (the rate limit counts by it). */
  trustProxy: true | string | undefined;
  /** Bearer token of `/metrics`; with no metrics port, `/metrics` is served on the API's port only when this is set. */
  metricsToken: string | undefined;
  /** A port of its own for `/metrics`, on `host`; the API's port then has no `/metrics`. */
  metricsPort: number | undefined;
  /** How long Postgres may take before a request gets 503 instead of waiting on. */
  databaseTimeouts: PostgresTimeouts;
  /** `/readyz` answers 503 when Postgres has not answered its ping within this. */
  readinessTimeoutMs: number;
  /** The webhook dispatcher's settings (docs/webhooks.md). */
  webhooks: Omit<WebhookSettings, 'retentionIntervalMs' | 'dispatch' | 'now'>;
  /** How often the instance driving release plans judges them. */
  planIntervalMs: number;
  /** The organisation owner a start creates when the database has no user yet. */
  ownerEmail: string;
  sessions: SessionSettings;
  /** Management change streams: how many one instance holds open, and one person, token or key. */
  changeStreams: { maxOpen: number; maxPerPrincipal: number };
  /**
   * Processes serving the port (`SWITCHYARD_WORKERS`, a number or `auto` for one per core).
   * Above 1 the process is a cluster primary and each worker is a whole instance; see cluster.ts.
   */
  workers: number;
}

/** `true` (trust every proxy), or the proxies' addresses and CIDR ranges separated by commas. */
function trustProxyOf(value: string | undefined): Config['trustProxy'] {
  if (value === undefined || value === 'false') return undefined;
  return value === 'true' ? true : value;
}

/** Parses the environment once; everything else receives the result. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  const clustered = clusterProblem(c);
  if (clustered !== undefined) throw new Error(`invalid configuration: SWITCHYARD_WORKERS: ${clustered}`);
  return {
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    dataDir: c.SWITCHYARD_DATA_DIR,
    adminToken: c.SWITCHYARD_ADMIN_TOKEN,
    logLevel: c.LOG_LEVEL,
    reconcileIntervalMs: c.SWITCHYARD_RECONCILE_MS,
    redisChannel: c.SWITCHYARD_REDIS_CHANNEL,
    eventsRetentionDays: c.SWITCHYARD_EVENTS_RETENTION_DAYS,
    keyCheckIntervalMs: c.SWITCHYARD_KEY_CHECK_MS,
    authFailuresPerMinute: c.SWITCHYARD_AUTH_FAILURES_PER_MINUTE,
    trustProxy: trustProxyOf(c.SWITCHYARD_TRUST_PROXY),
    metricsToken: c.SWITCHYARD_METRICS_TOKEN,
    metricsPort: c.SWITCHYARD_METRICS_PORT,
    databaseTimeouts: {
      connectMs: c.SWITCHYARD_DB_CONNECT_TIMEOUT_MS,
      acquireMs: c.SWITCHYARD_DB_ACQUIRE_TIMEOUT_MS,
      statementMs: c.SWITCHYARD_DB_STATEMENT_TIMEOUT_MS,
      queryMs: c.SWITCHYARD_DB_QUERY_TIMEOUT_MS,
      idleInTransactionMs: c.SWITCHYARD_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
    readinessTimeoutMs: c.SWITCHYARD_READINESS_TIMEOUT_MS,
    webhooks: {
      pollIntervalMs: c.SWITCHYARD_WEBHOOK_POLL_MS,
      concurrency: c.SWITCHYARD_WEBHOOK_CONCURRENCY,
      timeoutMs: c.SWITCHYARD_WEBHOOK_TIMEOUT_MS,
      backoffBaseMs: c.SWITCHYARD_WEBHOOK_BACKOFF_MS,
      backoffMaxMs: c.SWITCHYARD_WEBHOOK_BACKOFF_MAX_MS,
      maxAttempts: c.SWITCHYARD_WEBHOOK_MAX_ATTEMPTS,
      retentionDays: c.SWITCHYARD_WEBHOOK_RETENTION_DAYS,
      allowedHosts: (c.SWITCHYARD_WEBHOOK_ALLOWED_HOSTS ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== ''),
    },
    planIntervalMs: c.SWITCHYARD_PLAN_INTERVAL_MS,
    ownerEmail: c.SWITCHYARD_OWNER_EMAIL,
    sessions: {
      idleSeconds: c.SWITCHYARD_SESSION_IDLE_SECONDS,
      maxSeconds: c.SWITCHYARD_SESSION_MAX_SECONDS,
      secureCookies: c.SWITCHYARD_SECURE_COOKIES,
    },
    changeStreams: {
      maxOpen: c.SWITCHYARD_CHANGE_STREAMS_MAX,
      maxPerPrincipal: c.SWITCHYARD_CHANGE_STREAMS_PER_PRINCIPAL,
    },
    workers: c.SWITCHYARD_WORKERS,
  };
}

/**
 * Workers are separate processes: they share what lives outside them (Postgres, Redis) and
 * nothing else, so several need both. `/metrics` would be answered by whichever worker takes
 * the connection, with counts of its own.
 */
function clusterProblem(c: z.output<typeof ConfigSchema>): string | undefined {
  if (c.SWITCHYARD_WORKERS === 1) return undefined;
  if (c.DATABASE_URL === undefined) {
    return 'more than one worker needs DATABASE_URL: the embedded database belongs to one process';
  }
  if (c.REDIS_URL === undefined) {
    return "more than one worker needs REDIS_URL: changes reach the other workers' streams through Redis";
  }
  if (c.SWITCHYARD_METRICS_PORT !== undefined || c.SWITCHYARD_METRICS_TOKEN !== undefined) {
    return 'more than one worker cannot serve /metrics (SWITCHYARD_METRICS_PORT, SWITCHYARD_METRICS_TOKEN): each scrape would reach one worker at random and count only its share';
  }
  return undefined;
}
