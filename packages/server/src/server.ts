import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { type Database, ping } from './db/database.js';
import { auditRoutes } from './features/audit/routes.js';
import { environmentRoutes } from './features/environments/routes.js';
import { flagRoutes } from './features/flags/routes.js';
import { keyRoutes } from './features/keys/routes.js';
import { projectRoutes } from './features/projects/routes.js';
import { segmentRoutes } from './features/segments/routes.js';
import { requireKey } from './plugins/auth.js';
import { registerErrorHandler } from './plugins/error-handler.js';

export interface BuildOptions {
  database: Database;
  /** Fastify's logger option; pass `false` to silence it. */
  logger?: FastifyServerOptions['logger'];
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The whole HTTP application, not listening: `main` listens, tests use `inject` or `listen({port: 0})`. */
export async function buildServer(options: BuildOptions): Promise<FastifyInstance> {
  const { db } = options.database;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Switchyard API',
        description:
          'Management API of the Switchyard flag server. Send an admin key as `Authorization: Bearer <key>`.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await ping(db);
      return { status: 'ready' };
    } catch {
      return reply
        .code(503)
        .send({ error: { code: 'NOT_READY', message: 'the database does not answer', details: {} } });
    }
  });

  await app.register(
    async (api) => {
      requireKey(api, db, ['admin']);
      await api.register(projectRoutes, { db });
      await api.register(environmentRoutes, { db });
      await api.register(flagRoutes, { db });
      await api.register(segmentRoutes, { db });
      await api.register(keyRoutes, { db });
      await api.register(auditRoutes, { db });
    },
    { prefix: '/api/v1' },
  );
  return app;
}
