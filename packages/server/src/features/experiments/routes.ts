import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/database.js';
import { principalOf } from '../../http/actor.js';
import { FlagEnvironmentParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import { ResultsQuery, ResultsView } from './schemas.js';
import { experimentResults } from './service.js';

export const experimentRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/projects/:project/flags/:flag/environments/:env/results',
    {
      schema: {
        tags: ['experiments'],
        params: FlagEnvironmentParams,
        querystring: ResultsQuery,
        ...responses({ 200: ResultsView }, 422),
      },
    },
    async (request) => experimentResults(db, principalOf(request), { ...request.params, ...request.query }),
  );
};
