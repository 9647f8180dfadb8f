import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import { AppError } from '../errors.js';

/** Deepest nesting of arrays and objects a JSON body may have (README "Limits on input"). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `text` nests arrays and objects deeper than `limit`, read in one pass without
 * parsing: validators and walkers recurse, and a body nested thousands deep overflows the stack.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/** Where the first NUL character is in a parsed value (a key or a string), as `rules[0].name`; `undefined` when none. */
function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return at;
    const found = nulPath(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Refuses a NUL character anywhere in a request's path parameters, query or body, naming the
 * field: Postgres stores no NUL in text or jsonb, and would answer such a write with an error.
 */
export function refuseNul(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const found =
      nulPath(request.params, 'params') ?? nulPath(request.query, 'querystring') ?? nulPath(request.body, '');
    if (found !== undefined) {
      throw new AppError('VALIDATION_FAILED', `${found || 'body'}: must not contain a NUL character (\\u0000)`, {
        field: found,
      });
    }
  });
}

const send = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).send({ error: { code, message, details: {} } });

/** Fastify's refusals made before routing (a URL that does not decode), in the API's error shape. */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (err, _request, reply) =>
  send(
    reply,
    400,
    'VALIDATION_FAILED',
    err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid percent-encoding' : err.message,
  );

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'the request line and headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive'],
};

/**
 * Node's refusals before Fastify sees a request (headers too large, a request line that is not
 * HTTP), written on the socket in the API's error shape.
 */
export const clientErrorHandler = (err: NodeJS.ErrnoException, socket: Socket): void => {
  if (err.code === 'ECONNRESET' || !socket.writable) return;
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [
    400,
    'BAD_REQUEST',
    'the request is not valid HTTP',
  ];
  const body = JSON.stringify({ error: { code, message, details: {} } });
  const reason =
    status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};
