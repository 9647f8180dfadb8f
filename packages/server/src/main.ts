import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { type Config, parseConfig } from './config.js';
import { type Database, openPglite, openPostgres } from './db/database.js';
import { embeddedTemplatePath, readEmbeddedTemplate, writeEmbeddedTemplate } from './db/embedded-template.js';
import { firstStartBanner, localBaseUrl, ownerBanner } from './first-start-banner.js';

/** Progress for a person watching the terminal; the structured log stays for machines. */
function say(line: string): void {
  process.stderr.write(`switchyard: ${line}\n`);
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

async function open(config: Config): Promise<Database> {
  const { databaseUrl, dataDir } = config;
  if (databaseUrl !== undefined) {
    return openPostgres(databaseUrl, {
      timeouts: config.databaseTimeouts,
      onIdleError: (err) => say(`idle Postgres connection lost: ${err.message}`),
    });
  }
  const directory = resolve(dataDir);
  const creating = !existsSync(join(directory, 'PG_VERSION'));
  if (!creating) {
    say(`opening the embedded PostgreSQL database in ${directory}…`);
    return openPglite(directory);
  }
  // Creating the embedded cluster takes seconds of silence otherwise; `pnpm install` made a
  // template of it (`embedded-template` below), which loads in a fraction of initdb's time.
  const template = await readEmbeddedTemplate(await embeddedTemplatePath());
  say(
    `creating the embedded PostgreSQL database in ${directory} (first start only${template === undefined ? '; no template from pnpm install, so this takes a few seconds' : ', from the template pnpm install made'})…`,
  );
  const started = performance.now();
  const database = await openPglite(directory, template === undefined ? {} : { template });
  say(`embedded database created in ${seconds(started)}`);
  return database;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'embedded-template') {
    const path = await embeddedTemplatePath();
    await writeEmbeddedTemplate(path);
    process.stdout.write(`embedded database template written to ${path}\n`);
    return;
  }
  const config = parseConfig(process.env);
  // A cluster primary migrates and seeds once, for its workers, and then serves nothing.
  const primary = config.workers > 1 && cluster.isPrimary && argv[0] !== 'migrate';
  // The server's modules (Fastify, its plugins, every feature) load while the database opens:
  // PGlite compiles its WebAssembly off the main thread, so the two overlap.
  const opening = open(config);
  const loading = Promise.all([
    import('./seed.js'),
    primary
      ? undefined
      : Promise.all([import('./server.js'), import('./features/delivery/bus.js'), import('./http/console.js')]),
  ]);
  // Whichever fails first is reported; the other must not become an unhandled rejection.
  loading.catch(() => undefined);
  const database = await opening;
  // A worker's primary has migrated and seeded already.
  if (!cluster.isWorker) {
    say('applying database migrations…');
    await database.migrate();
  }
  if (argv[0] === 'migrate') {
    await database.close();
    process.stdout.write(
      `migrations applied to the ${database.kind === 'pglite' ? `embedded database in ${resolve(config.dataDir)}` : 'Postgres database'}\n`,
    );
    return;
  }
  const [{ seedIfEmpty, createOwnerIfNone }, serving] = await loading;
  const seeded = cluster.isWorker ? undefined : await seedIfEmpty(database.db, { adminToken: config.adminToken });
  const owner = cluster.isWorker ? undefined : await createOwnerIfNone(database.db, config.ownerEmail);
  /** What was created on this first start, shown once. */
  const showCredentials = (baseUrl: string) => {
    if (seeded !== undefined) process.stdout.write(`${firstStartBanner(seeded, baseUrl)}\n`);
    if (owner !== undefined) process.stdout.write(`${ownerBanner(owner)}\n`);
  };
  if (serving === undefined) {
    await database.close();
    const { superviseWorkers } = await import('./cluster.js');
    say(`starting ${config.workers} workers…`);
    superviseWorkers(config.workers, {
      say,
      // The credentials are shown once, as soon as the server answers: a worker that fails later
      // must not take them with it.
      onListening: (port) => showCredentials(localBaseUrl(config.host, port)),
      onReady(port) {
        const baseUrl = localBaseUrl(config.host, port);
        say(`${config.workers} workers ready in ${seconds(0)}: ${baseUrl} (API reference at ${baseUrl}/docs)`);
      },
    });
    return;
  }
  const [{ buildServer }, { RedisBus }, { CONSOLE_DIST }] = serving;
  const bus =
    config.redisUrl === undefined
      ? undefined
      : new RedisBus({ url: config.redisUrl, channel: config.redisChannel, onError: () => undefined });
  const app = await buildServer({
    database,
    logger: { level: config.logLevel },
    ...(bus === undefined ? {} : { bus }),
    delivery: { reconcileIntervalMs: config.reconcileIntervalMs },
    events: { retentionDays: config.eventsRetentionDays },
    keys: { checkIntervalMs: config.keyCheckIntervalMs },
    authFailuresPerMinute: config.authFailuresPerMinute,
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    metrics: {
      ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }),
      onApiPort: config.metricsPort === undefined,
      processMetrics: true,
    },
    readinessTimeoutMs: config.readinessTimeoutMs,
    webhooks: config.webhooks,
    plans: { intervalMs: config.planIntervalMs },
    sessions: config.sessions,
    changeStreams: config.changeStreams,
    consoleDir: CONSOLE_DIST,
  });
  if (bus !== undefined) app.addHook('onClose', async () => bus.close());
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  if (config.metricsPort !== undefined) {
    const { serveMetrics } = await import('./features/telemetry/http.js');
    const metrics = await serveMetrics(app.telemetry, {
      port: config.metricsPort,
      host: config.host,
      token: config.metricsToken,
    });
    app.addHook('onClose', async () => new Promise<void>((resolve) => metrics.close(() => resolve())));
  }
  await app.listen({ port: config.port, host: config.host });
  const baseUrl = localBaseUrl(config.host, (app.server.address() as AddressInfo).port);
  showCredentials(baseUrl);
  // performance.now() counts from the process's start, so this includes loading the code.
  if (cluster.isWorker) say(`worker ${process.pid} ready in ${seconds(0)}`);
  else say(`ready in ${seconds(0)}: ${baseUrl} (API reference at ${baseUrl}/docs)`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
