import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

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
  SWITCHYARD_PLAN_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
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
  /** The webhook dispatcher's settings (docs/webhooks.md). */
  webhooks: {
    pollIntervalMs: number;
    concurrency: number;
    timeoutMs: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    maxAttempts: number;
    retentionDays: number;
  };
  /** How often the instance driving release plans judges them. */
  planIntervalMs: number;
}

/** Parses the environment once; everything else receives the result. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const c = parsed.data;
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
    webhooks: {
      pollIntervalMs: c.SWITCHYARD_WEBHOOK_POLL_MS,
      concurrency: c.SWITCHYARD_WEBHOOK_CONCURRENCY,
      timeoutMs: c.SWITCHYARD_WEBHOOK_TIMEOUT_MS,
      backoffBaseMs: c.SWITCHYARD_WEBHOOK_BACKOFF_MS,
      backoffMaxMs: c.SWITCHYARD_WEBHOOK_BACKOFF_MAX_MS,
      maxAttempts: c.SWITCHYARD_WEBHOOK_MAX_ATTEMPTS,
      retentionDays: c.SWITCHYARD_WEBHOOK_RETENTION_DAYS,
    },
    planIntervalMs: c.SWITCHYARD_PLAN_INTERVAL_MS,
  };
}
