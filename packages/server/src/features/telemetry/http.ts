import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { PrometheusText, responses } from '../../http/openapi.js';
import type { Telemetry } from './telemetry.js';

export interface MetricsAccess {
  /** Bearer token a scraper must send (`SWITCHYARD_METRICS_TOKEN`); none: the port alone protects it. */
  token: string | undefined;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares digests, so neither the token's length nor its content shows in the time taken. */
function authorized(access: MetricsAccess, header: string | undefined): boolean {
  if (access.token === undefined) return true;
  const presented = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
  return presented !== undefined && timingSafeEqual(digest(presented), digest(access.token));
}

const unauthorized = {
  error: { code: 'UNAUTHORIZED', message: 'send the metrics token as Authorization: Bearer <token>', details: {} },
};

/**
 * Times every request by route pattern. Registered on the root instance before any route, so
 * that every route inherits the hooks.
 */
export function observeRequests(app: FastifyInstance, telemetry: Telemetry): void {
  // A hijacked reply (an SSE stream) never passes through onSend; its hours-long "duration"
  // would only blur the histogram of its route.
  const answered = new WeakSet<FastifyRequest>();
  app.addHook('onSend', async (request) => {
    answered.add(request);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!answered.has(request)) return;
    const route = request.routeOptions.url ?? 'unmatched';
    telemetry.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** `GET /metrics` on the API's own port, behind its token. */
export function metricsRoute(app: FastifyInstance, telemetry: Telemetry, access: MetricsAccess & { token: string }) {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics of this instance',
        description: 'Authenticated by the metrics token (`SWITCHYARD_METRICS_TOKEN`), not by an API key.',
        security: [{ metricsToken: [] }],
        ...responses({ 200: PrometheusText }, 401),
      },
    },
    async (request, reply) => {
      if (!authorized(access, request.headers.authorization)) {
        throw new AppError('UNAUTHORIZED', unauthorized.error.message);
      }
      const { contentType, body } = await telemetry.render();
      return reply.type(contentType).send(body);
    },
  );
}

/**
 * `/metrics` on a port of its own (`SWITCHYARD_METRICS_PORT`), for a scraper on a network the
 * API's clients cannot reach. Plain node:http: this listener serves nothing else.
 */
export async function serveMetrics(
  telemetry: Telemetry,
  options: MetricsAccess & { port: number; host: string },
): Promise<Server> {
  const answer = async (request: IncomingMessage): Promise<[number, string, string]> => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      const notFound = { error: { code: 'NOT_FOUND', message: 'only GET /metrics is served here', details: {} } };
      return [404, 'application/json; charset=utf-8', JSON.stringify(notFound)];
    }
    if (!authorized(options, request.headers.authorization)) {
      return [401, 'application/json; charset=utf-8', JSON.stringify(unauthorized)];
    }
    const { contentType, body } = await telemetry.render();
    return [200, contentType, body];
  };
  const server = createServer((request, response) => {
    answer(request).then(
      ([status, type, body]) => {
        response.writeHead(status, { 'content-type': type });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => {
        response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        response.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'internal error', details: {} } }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
