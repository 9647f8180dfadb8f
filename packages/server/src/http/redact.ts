import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** Query parameters that carry credentials: ours (`?key=`) and the names clients commonly use. */
const CREDENTIAL_PARAM = /([?&](?:key|token|access_token|api_key|apikey)=)[^&#]*/gi;
/** A Switchyard token anywhere else in a URL (a path pasted by mistake). */
const TOKEN = /sy_[a-z]+_[\w-]+/g;

/** A URL as it may be logged: credential query values and tokens replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  return url.replace(CREDENTIAL_PARAM, '$1[REDACTED]').replace(TOKEN, '[REDACTED]');
}

/** Headers that carry credentials, for pino's `redact` wherever a header object is logged. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'token',
  '*.token',
  'adminToken',
];

/**
 * The logger option with every credential kept out of log lines: the request serializer logs
 * the URL without its `?key=` (client keys travel there, and a misused admin or server key
 * would too) and never the headers. `false` stays `false`.
 */
export function redactingLogger(logger: FastifyServerOptions['logger']): NonNullable<FastifyServerOptions['logger']> {
  if (logger === false || logger === undefined) return false;
  const base = logger === true ? {} : logger;
  return {
    ...base,
    redact: REDACT_PATHS,
    serializers: {
      ...base.serializers,
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
        ...(request.socket?.remotePort === undefined ? {} : { remotePort: request.socket.remotePort }),
      }),
    },
  };
}
