import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../db/database.js';
import { parseJsonBody } from '../../http/json-body.js';
import { responses } from '../../http/openapi.js';
import { type SdkKeyCache, sdkPrincipal } from '../delivery/sdk-keys.js';
import type { IngestGate } from './ingest-gate.js';
import type { EventPartitions } from './partitions.js';
import { EVENTS_BODY_LIMIT, EventBatchBody, EventsAccepted } from './schemas.js';
import { insertBatch } from './store.js';

export interface EventRouteOptions {
  db: Db;
  keys: SdkKeyCache;
  partitions: EventPartitions;
  gate: IngestGate;
  observer?: EventsObserver;
}

/** What ingestion reports for operators (the server's telemetry implements it). */
export interface EventsObserver {
  /** A batch was stored: how many of each kind it held. */
  ingested(counts: { evaluations: number; events: number; exposures: number }): void;
  /** A batch was not stored: refused while ingestion is behind (429), or a retry of one already stored. */
  dropped(reason: 'busy' | 'duplicate'): void;
}

const UNOBSERVED: EventsObserver = { ingested: () => undefined, dropped: () => undefined };

/** Seconds a refused client is asked to wait: a batch or two's time to store. */
const RETRY_AFTER_S = 1;

const ingestionBehind =
  'event ingestion is behind (code `TOO_MANY_REQUESTS`), or too many failed authentications (`RATE_LIMITED`); wait `Retry-After` seconds';

const busy = {
  error: {
    code: 'TOO_MANY_REQUESTS',
    message: 'event ingestion is behind; send the batch again after Retry-After seconds',
    details: {},
  },
};

/** Browsers post events from any origin with a public client key, as they read the stream. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Authorization, Content-Type',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-max-age': '600',
};

/**
 * `POST /sdk/v1/events`: evaluation counts, track events and exposures from SDKs, authenticated like the
 * other SDK routes (a server or client key; a client key may come in `?key=`, which is also
 * what `navigator.sendBeacon` can send).
 */
export const eventRoutes: FastifyPluginAsyncZod<EventRouteOptions> = async (app, options) => {
  const { db, keys, partitions, gate } = options;
  const observer = options.observer ?? UNOBSERVED;
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(CORS);
  });
  app.options('/events', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());
  // A browser posts its batch as text/plain: a CORS-safelisted type needs no preflight request,
  // which a page being closed might not live to see. The text is the same JSON.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, parseJsonBody);

  app.post(
    '/events',
    {
      bodyLimit: EVENTS_BODY_LIMIT,
      // Authentication before the body is read: an unknown key must not cost a parse of 4 MiB.
      onRequest: async (request, reply) => {
        const { environmentId, keyId } = await sdkPrincipal(request, keys);
        request.sdkSource = { environmentId, keyId };
        // Refused before the body is read, when the refusal is already certain.
        if (gate.full) {
          observer.dropped('busy');
          return reply.code(429).header('retry-after', String(RETRY_AFTER_S)).send(busy);
        }
      },
      schema: {
        tags: ['sdk'],
        summary: 'Evaluation counts, track events and exposures from an SDK',
        description: 'The body may also come as `text/plain` (what a browser sends to stay CORS-simple).',
        body: EventBatchBody,
        ...responses({ 202: EventsAccepted }, { status: 429, description: ingestionBehind }),
      },
    },
    async (request, reply) => {
      const source = request.sdkSource as { environmentId: string; keyId: string };
      const batch = request.body;
      const done = await gate.run(async () => {
        await partitions.ensureFor(timestampsOf(batch));
        return insertBatch(db, source, batch);
      });
      if (done === undefined) {
        observer.dropped('busy');
        return reply.code(429).header('retry-after', String(RETRY_AFTER_S)).send(busy);
      }
      const accepted = {
        evaluations: batch.evaluations.length,
        events: batch.events.length,
        exposures: batch.exposures.length,
      };
      if (done.value.stored) observer.ingested(accepted);
      else observer.dropped('duplicate');
      return reply.code(202).send(done.value.stored ? { accepted } : { accepted, duplicate: true });
    },
  );
};

function* timestampsOf(batch: EventBatchBody): Iterable<number> {
  for (const e of batch.events) yield e.timestamp;
  for (const e of batch.exposures) yield e.timestamp;
}

declare module 'fastify' {
  interface FastifyRequest {
    sdkSource?: { environmentId: string; keyId: string };
  }
}
