import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { responses } from '../../http/openapi.js';
import type { KeyPrincipal as Principal } from '../keys/principal.js';
import { takeSocket } from './bare-socket.js';
import type { Delivery } from './delivery.js';
import type { View } from './environment-state.js';
import { RulesetStream, RulesetView } from './schemas.js';
import { type SdkKeyCache, sdkPrincipal } from './sdk-keys.js';
import { SseStream } from './sse-stream.js';

export interface DeliveryRouteOptions {
  delivery: Delivery;
  keys: SdkKeyCache;
  /** A stream whose unsent data grows past this is cut off (a client that stopped reading). */
  maxBufferedBytes: number;
  /** Reconnection delay advised to EventSource clients. */
  retryMs: number;
}

/** SDK routes are read by browsers on any origin with a public client key: CORS is open here, and only here. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Authorization, If-None-Match, Last-Event-ID, Content-Type',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers': 'ETag',
  'access-control-max-age': '600',
};

export const deliveryRoutes: FastifyPluginAsync<DeliveryRouteOptions> = async (app, options) => {
  const { delivery, keys } = options;

  app.addHook('onSend', async (_request, reply) => {
    reply.headers(CORS);
  });
  app.options('/*', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());

  const viewOf = (p: Principal): View => (p.type === 'client' ? 'client' : 'server');

  const tags = ['sdk'];
  const ruleset = {
    tags,
    summary: "The key's environment's ruleset",
    description:
      'A client key gets the client view. `ETag: "<version>"`; `If-None-Match` with it → 304. gzip or brotli when asked.',
    ...responses({ 200: RulesetView, 304: null }),
  };
  app.get('/ruleset', { schema: ruleset }, async (request, reply) => {
    const principal = await sdkPrincipal(request, keys);
    const state = await delivery.state(principal.environmentId);
    if (state === undefined) throw new AppError('NOT_FOUND', 'the environment of this key no longer exists');
    const body = state.body(viewOf(principal));
    reply
      .header('etag', body.etag)
      .header('cache-control', 'no-cache')
      .header('vary', 'Authorization, Accept-Encoding');
    if (request.headers['if-none-match'] === body.etag) return reply.code(304).send();
    reply.type('application/json; charset=utf-8');
    return sendEncoded(request, reply, body);
  });

  // A stream lives for hours and an instance holds tens of thousands: it logs through the
  // server's logger instead of keeping a child logger of its own (about 0.6 KiB each).
  const stream = {
    tags,
    summary: 'The ruleset, then its changes, as Server-Sent Events',
    ...responses({ 200: RulesetStream }),
  };
  app.get('/stream', { schema: stream, childLoggerFactory: (logger) => logger }, async (request, reply) => {
    const principal = await sdkPrincipal(request, keys);
    // A browser's `EventSource` sends the header only on a reconnection of its own; the browser
    // SDK reconnects on its own terms and passes where it stopped in the query instead.
    const query = request.query as { lastEventId?: unknown } | undefined;
    const lastEventId = parseLastEventId(request.headers['last-event-id'] ?? query?.lastEventId);
    reply.hijack();
    const res = reply.raw;
    request.raw.socket.setNoDelay(true);
    res.writeHead(200, {
      ...CORS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${options.retryMs}\n\n`);
    // From here on the stream needs its socket only: node:http's and Fastify's objects for this
    // request go, about 3 KiB per open stream (bench/README.md, "Memory").
    const out = takeSocket(res) ?? res;
    const stream = new SseStream(out, principal.keyId, options.maxBufferedBytes, principal.previousSecret);
    const attached = await delivery.attach(principal.environmentId, viewOf(principal), stream, lastEventId);
    if (!attached) stream.end();
  });
};

function parseLastEventId(id: unknown): number | undefined {
  if (typeof id !== 'string' || !/^\d{1,15}$/.test(id.trim())) return undefined;
  return Number(id.trim());
}

function sendEncoded(
  request: FastifyRequest,
  reply: FastifyReply,
  body: { json: string; gzip(): Buffer; brotli(): Buffer },
) {
  const accepted = String(request.headers['accept-encoding'] ?? '');
  if (/\bbr\b/.test(accepted)) return reply.header('content-encoding', 'br').send(body.brotli());
  if (/\bgzip\b/.test(accepted)) return reply.header('content-encoding', 'gzip').send(body.gzip());
  return reply.send(body.json);
}
