import { resolve } from 'node:path';
import { parseConfig } from './config.js';
import { type Database, openPglite, openPostgres } from './db/database.js';
import { RedisBus } from './features/delivery/bus.js';
import { type SeededCredentials, seedIfEmpty } from './seed.js';
import { buildServer } from './server.js';

/** Secrets that must never reach a log line. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'token', '*.token', 'adminToken'];

async function open(databaseUrl: string | undefined, dataDir: string): Promise<Database> {
  return databaseUrl === undefined
    ? openPglite(resolve(dataDir))
    : openPostgres(databaseUrl, {
        onIdleError: (err) => process.stderr.write(`switchyard: idle Postgres connection lost: ${err.message}\n`),
      });
}

function printCredentials(c: SeededCredentials): void {
  const lines = [
    '',
    'Switchyard set up a demo project. These keys are shown once; keep them:',
    `  admin token          ${c.adminToken}`,
    ...c.sdkKeys.flatMap((k) => [`  ${k.environment} server  ${k.server}`, `  ${k.environment} client  ${k.client}`]),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(argv: string[]): Promise<void> {
  const config = parseConfig(process.env);
  const database = await open(config.databaseUrl, config.dataDir);
  await database.migrate();
  if (argv[0] === 'migrate') {
    await database.close();
    process.stdout.write(
      `migrations applied to the ${database.kind === 'pglite' ? `embedded database in ${resolve(config.dataDir)}` : 'Postgres database'}\n`,
    );
    return;
  }
  const seeded = await seedIfEmpty(database.db, { adminToken: config.adminToken });
  const bus =
    config.redisUrl === undefined
      ? undefined
      : new RedisBus({ url: config.redisUrl, channel: config.redisChannel, onError: () => undefined });
  const app = await buildServer({
    database,
    logger: { level: config.logLevel, redact: REDACT },
    ...(bus === undefined ? {} : { bus }),
    delivery: { reconcileIntervalMs: config.reconcileIntervalMs },
    events: { retentionDays: config.eventsRetentionDays },
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
  await app.listen({ port: config.port, host: config.host });
  if (seeded !== undefined) printCredentials(seeded);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
