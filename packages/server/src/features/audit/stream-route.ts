import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { principalOf } from '../../http/actor.js';
import { ProjectParams } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import { requireProject } from '../projects/service.js';
import { ChangeStream } from './change-stream.js';
import type { ChangeStreams } from './change-streams.js';
import { newestAuditId } from './store.js';

export interface ChangeStreamRouteOptions {
  db: Db;
  streams: ChangeStreams;
  /** A stream with more unsent bytes than this is cut off (a client that stopped reading). */
  maxBufferedBytes: number;
  /** Reconnection delay advised to EventSource clients. */
  retryMs: number;
}

const AUDIT_ID = /^\d{1,15}$/;
const AUDIT_ID_MESSAGE = 'must be the id of an audit entry (digits only)';

const ChangesQuery = z
  .object({
    /** Replay the project's entries after this id first; the `Last-Event-ID` header wins over it. */
    after: z.string().regex(AUDIT_ID, AUDIT_ID_MESSAGE).optional(),
  })
  .strict();

const ChangesResponse = z
  .string()
  .describe(
    'text/event-stream: one `change` event per audit entry of the project, its `data` an entry as GET /api/v1/audit lists them and its `id` the entry id; `:` comments as heartbeats',
  );

/** Where the client stopped: `Last-Event-ID` (an EventSource's reconnection), else `?after=`. */
function resumeFrom(request: FastifyRequest, after: string | undefined): number | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') {
    if (!AUDIT_ID.test(header.trim())) {
      throw new AppError('VALIDATION_FAILED', `Last-Event-ID ${AUDIT_ID_MESSAGE}`, { field: 'Last-Event-ID' });
    }
    return Number(header.trim());
  }
  return after === undefined ? undefined : Number(after);
}

/**
 * `GET /projects/:project/changes`: the management change stream, the audit entries of one
 * project as Server-Sent Events while they are written, on any instance. The console follows
 * it to show other people's edits; `switchyard audit tail --follow` prints it.
 */
export const changeStreamRoutes: FastifyPluginAsyncZod<ChangeStreamRouteOptions> = async (app, options) => {
  const { db, streams } = options;
  app.get(
    '/projects/:project/changes',
    {
      schema: {
        tags: ['audit'],
        params: ProjectParams,
        querystring: ChangesQuery,
        response: { 200: ChangesResponse },
        ...responses({ 200: ChangesResponse }),
      },
      // A stream lives for hours: it logs through the server's logger, not a child logger of its own.
      childLoggerFactory: (logger) => logger,
      // A HEAD would hold a stream's place open with nothing to read.
      exposeHeadRoute: false,
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const project = await requireProject(db, principal, request.params.project);
      const after = resumeFrom(request, request.query.after);
      if (after !== undefined && after > (await newestAuditId(db))) {
        throw new AppError('VALIDATION_FAILED', `there is no audit entry ${after}: it is past the newest`, {
          field: request.headers['last-event-id'] === undefined ? 'querystring.after' : 'Last-Event-ID',
        });
      }
      await streams.ready();
      const release = streams.reserve(principal.id);
      reply.hijack();
      const res = reply.raw;
      res.once('close', release);
      // A client gone while the checks above waited on Postgres will send no 'close' again.
      if (res.socket === null || res.socket.destroyed) {
        release();
        return reply;
      }
      request.raw.socket.setNoDelay(true);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: ${options.retryMs}\n\n`);
      const { authorization, cookie } = request.headers;
      const credentials = {
        ...(authorization === undefined ? {} : { authorization }),
        ...(cookie === undefined ? {} : { cookie }),
      };
      const stream = new ChangeStream(res, project.id, principal.id, credentials, after ?? 0, options.maxBufferedBytes);
      await streams.attach(stream, after);
      return reply;
    },
  );
};
