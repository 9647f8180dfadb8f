import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A Docker engine this process could reach, by the usual ways of finding one. */
function dockerReachable(): boolean {
  if (process.env.DOCKER_HOST) return true;
  return ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock')].some((p) => existsSync(p));
}

/**
 * Where tests find PostgreSQL and Redis: `DATABASE_URL` and `REDIS_URL` when set (CI sets them
 * to the machine's own services); else containers started here when a Docker engine is
 * reachable; else nothing, and tests fall back to embedded PGlite (tests that need Redis are
 * skipped, saying so). Vitest starts its workers after this, so they inherit the variables.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const needDatabase = !process.env.DATABASE_URL;
  const needRedis = !process.env.REDIS_URL;
  if ((!needDatabase && !needRedis) || !dockerReachable()) return undefined;
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
