import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { projectsWith } from '../../auth/principal.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { principalOf } from '../../http/actor.js';
import { Key, Timestamp } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import { requireEnvironment } from '../environments/service.js';
import { requireProject } from '../projects/service.js';
import { auditEntryView } from './entry-view.js';
import { listAudit } from './store.js';

const AuditQuery = z
  .object({
    project: Key.optional(),
    environment: Key.optional(),
    action: z.string().max(64).optional(),
    actor: z.string().max(200).optional(),
    /** `user:<id>`, `token:<id>`, `key:<id>` or `system`. */
    actorId: z.string().max(200).optional(),
    targetKind: z
      .enum([
        'project',
        'environment',
        'flag',
        'segment',
        'key',
        'metric',
        'release-plan',
        'scheduled-change',
        'webhook',
        'user',
        'member',
        'token',
      ])
      .optional(),
    targetKey: z.string().max(256).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** `nextCursor` of the previous page. */
    cursor: z
      .string()
      .regex(/^\d{1,15}$/, 'must be the nextCursor of a previous page')
      .optional(),
  })
  .strict();

const AuditPage = z.object({
  items: z.array(
    z.object({
      id: z.number().int(),
      actor: z.string(),
      actorId: z.string(),
      action: z.string(),
      targetKind: z.string(),
      targetKey: z.string(),
      before: z.unknown(),
      after: z.unknown(),
      reason: z.string().nullable(),
      createdAt: Timestamp,
    }),
  ),
  /** The `cursor` of the next page; `null` on the last. */
  nextCursor: z.string().nullable(),
});

export const auditRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/audit',
    { schema: { tags: ['audit'], querystring: AuditQuery, ...responses({ 200: AuditPage }, 404) } },
    async (request) => {
      const principal = principalOf(request);
      const q = request.query;
      if (q.environment !== undefined && q.project === undefined) {
        throw new AppError('VALIDATION_FAILED', 'filtering by environment needs a project', { field: 'project' });
      }
      let projectId: string | undefined;
      let projectIds = projectsWith(principal, 'viewer');
      let environmentId: string | undefined;
      if (q.project !== undefined) {
        const project = await requireProject(db, principal, q.project);
        projectId = project.id;
        projectIds = undefined;
        if (q.environment !== undefined) environmentId = (await requireEnvironment(db, project, q.environment)).id;
      }
      const entries = await listAudit(db, {
        projectId,
        projectIds,
        environmentId,
        action: q.action,
        actor: q.actor,
        actorId: q.actorId,
        targetKind: q.targetKind,
        targetKey: q.targetKey,
        before: q.cursor === undefined ? undefined : Number(q.cursor),
        limit: q.limit,
      });
      const last = entries.at(-1);
      return {
        items: entries.map(auditEntryView),
        nextCursor: entries.length === q.limit && last !== undefined ? String(last.id) : null,
      };
    },
  );
};
