import type { FastifyBodyParser } from 'fastify';
import { AppError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './hostile-input.js';

/**
 * Parses a JSON request body. An empty body is no body (`curl -X POST …/kill -H 'Content-Type:
 * application/json'` in an incident), not an error; text that is not JSON is a validation error.
 */
export const parseJsonBody: FastifyBodyParser<string> = (_request, body, done) => {
  if (body === '') return done(null, undefined);
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    return done(
      new AppError('VALIDATION_FAILED', `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`, {
        field: '',
      }),
      undefined,
    );
  }
  try {
    done(null, JSON.parse(body));
  } catch (err) {
    done(new AppError('VALIDATION_FAILED', `the body is not valid JSON: ${(err as Error).message}`), undefined);
  }
};
