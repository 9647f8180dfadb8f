import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A Docker engine this process could reach, by the usual ways of finding one. */
function dockerReachable(): boolean {
  if (process.env.DOCKER_HOST) return true;
  return ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock')].some((p) => existsSync(p));
}

/** Said once, before any test runs, so a skipped test is never a mystery. */
function explainWhatIsMissing(needDatabase: boolean, needRedis: boolean): void {
  const lines: string[] = [];
  if (needRedis) {
    lines.push(
      'Redis: REDIS_URL is not set and no Docker engine is reachable, so the tests that need Redis are',
      'SKIPPED (marked ↓ below). To run them, start a Redis and point the tests at it:',
      'export REDIS_URL=redis://127.0.0.1:6379 (e.g. after',
      '`redis-server --daemonize yes` or `docker run -d -p 6379:6379 redis:7-alpine`), or make a Docker',
      'engine reachable (DOCKER_HOST or /var/run/docker.sock) and the tests start one themselves.',
    );
  }
  if (needDatabase) {
    lines.push(
      'PostgreSQL: DATABASE_URL is not set and no Docker engine is reachable, so the tests run on embedded',
      'PGlite, one in-memory database per test file; export DATABASE_URL=postgres://user@host:5432/db to',
      'run them on a real PostgreSQL (they create and drop databases of their own there).',
    );
  }
  if (lines.length > 0) process.stderr.write(`\n${lines.map((l) => `test setup: ${l}`).join('\n')}\n\n`);
}

/**
 * Where tests find PostgreSQL and Redis: `DATABASE_URL` and `REDIS_URL` when set (CI sets them
 * to the machine's own services); else containers started here when a Docker engine is
 * reachable; else nothing, and tests fall back to embedded PGlite and skip those that need
 * Redis, saying so here, with how to provide it. Vitest starts its workers after this, so they
 * inherit the variables.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const needDatabase = !process.env.DATABASE_URL;
  const needRedis = !process.env.REDIS_URL;
  if (!needDatabase && !needRedis) return undefined;
  if (!dockerReachable()) {
    explainWhatIsMissing(needDatabase, needRedis);
    return undefined;
  }
  const stops: (() => Promise<unknown>)[] = [];
  if (needDatabase) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const postgres = await new PostgreSqlContainer('postgres:16-alpine').start();
    process.env.DATABASE_URL = postgres.getConnectionUri();
    stops.push(() => postgres.stop());
  }
  if (needRedis) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const redis = await new RedisContainer('redis:7-alpine').start();
    process.env.REDIS_URL = redis.getConnectionUrl();
    stops.push(() => redis.stop());
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
