import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// There is no Docker engine where the tests run: the compose file is checked as the data it is.
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};
const services = compose.services;
const servers = Object.entries(services).filter(([, s]) => s.build !== undefined);

describe('docker-compose.yml', () => {
  it('runs Postgres, Redis and two server instances, each with a health check', () => {
    expect(services.postgres?.image).toMatch(/^postgres:/);
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(servers.map(([name]) => name)).toHaveLength(2);
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test, name).toBeDefined();
    }
    for (const [, server] of servers) expect(server.healthcheck?.test?.join(' ')).toContain('/readyz');
  });

  it('gives both servers the same Postgres and Redis, and starts them only once those are healthy', () => {
    const [[, first], [, second]] = servers as [[string, Service], [string, Service]];
    for (const server of [first, second]) {
      const env = server.environment ?? {};
      expect(env.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      expect(env.HOST).toBe('0.0.0.0');
      expect(env).toHaveProperty('SWITCHYARD_METRICS_TOKEN');
      expect(server.depends_on?.postgres?.condition).toBe('service_healthy');
      expect(server.depends_on?.redis?.condition).toBe('service_healthy');
    }
    expect(second.environment?.DATABASE_URL).toBe(first.environment?.DATABASE_URL);
    // The first start's migrations and seeding happen once, on the first instance.
    expect(second.depends_on?.[servers[0]?.[0] ?? '']?.condition).toBe('service_healthy');
  });

  it('publishes the two instances on different host ports', () => {
    const hostPorts = servers.map(([, s]) => s.ports?.[0]?.split(':').slice(0, -1).join(':'));
    expect(new Set(hostPorts).size).toBe(2);
  });
});
