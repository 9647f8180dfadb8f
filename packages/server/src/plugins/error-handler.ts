import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERROR_STATUS, type ErrorCode, isDatabaseUnavailable } from '../errors.js';

interface Issue {
  path: string;
  message: string;
}

/** `/rules/0/clauses` (the validator's pointer) as `rules[0].clauses`, under `prefix` (e.g. `querystring`). */
function fieldPath(prefix: string | undefined, pointer: string): string {
  let out = prefix ?? '';
  for (const part of pointer.split('/').filter((p) => p !== '')) {
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** Seconds a client is asked to wait before it tries again while Postgres cannot answer. */
export const UNAVAILABLE_RETRY_AFTER_S = 2;

/** Fastify's own client errors, by code, as ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
};

/**
 * The one error handler: every refusal is `{error: {code, message, details}}` with its status.
 * Details of unexpected errors are logged, never sent.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError) {
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message, details: err.details ?? {} } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext;
      const issues: Issue[] = err.validation.map((v) => ({
        path: fieldPath(where === 'body' ? undefined : where, v.instancePath),
        message: v.message ?? 'is invalid',
      }));
      const first = issues[0];
      return reply.code(400).send({
        error: {
          code: 'VALIDATION_FAILED',
          message: first === undefined ? 'the request is invalid' : `${first.path || where}: ${first.message}`,
          details: { field: first?.path ?? '', issues },
        },
      });
    }
    const code = (err as FastifyError).code === undefined ? undefined : FASTIFY_CODES[(err as FastifyError).code];
    if (code !== undefined) {
      return reply.code(ERROR_STATUS[code]).send({ error: { code, message: err.message, details: {} } });
    }
    if ((err as SyntaxError).name === 'SyntaxError' && (err as FastifyError).statusCode === 400) {
      return reply.code(400).send({
        error: { code: 'VALIDATION_FAILED', message: `the body is not valid JSON: ${err.message}`, details: {} },
      });
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: 'VALIDATION_FAILED', message: err.message, details: {} } });
    }
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err }, 'the database did not answer');
      return reply
        .code(503)
        .header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S))
        .send({
          error: {
            code: 'UNAVAILABLE',
            message: 'the database is unavailable; try again after Retry-After seconds',
            details: {},
          },
        });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error', details: {} } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}`, details: {} } }),
  );
}
