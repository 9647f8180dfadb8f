import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { roleIn } from '../../auth/principal.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { principalOf } from '../../http/actor.js';
import { Key, Timestamp } from '../../http/common-schemas.js';
import { responses } from '../../http/openapi.js';
import { listProjects } from '../projects/service.js';
import { Email, GivenPassword, UserView } from '../users/schemas.js';
import { checkPassword, userById, userView } from '../users/service.js';
import {
  clearedSessionCookie,
  csrfTokenOf,
  deleteExpiredSessions,
  endSession,
  type SessionSettings,
  sessionCookie,
  sessionSecretOf,
  startSession,
} from './service.js';

const SignInBody = z.object({ email: Email, password: GivenPassword }).strict();
const SessionView = z.object({
  user: UserView,
  /** Send it as `X-CSRF-Token` with every write made with the session's cookie. */
  csrfToken: z.string(),
  expiresAt: Timestamp,
});
const MeView = z.object({
  /** `user:<id>`, `token:<id>` or `key:<id>`. */
  id: z.string(),
  name: z.string(),
  via: z.enum(['session', 'token', 'key']),
  user: UserView.nullable(),
  /** The projects the caller reaches and its role there (`null`: through an organisation-wide credential). */
  projects: z.array(z.object({ key: Key, name: z.string(), role: z.enum(['viewer', 'editor', 'admin']).nullable() })),
  csrfToken: z.string().nullable(),
});

export const sessionRoutes: FastifyPluginAsyncZod<{ db: Db; settings: SessionSettings }> = async (
  app,
  { db, settings },
) => {
  const tags = ['session'];
  const secure = (request: FastifyRequest) => settings.secureCookies === 'always' || request.protocol === 'https';

  app.post(
    '/session',
    { schema: { tags, body: SignInBody, ...responses({ 200: SessionView }, 401) } },
    async (request, reply) => {
      const user = await checkPassword(db, request.body.email, request.body.password);
      if (user === undefined) throw new AppError('UNAUTHORIZED', 'the email or the password is wrong');
      // Said only to whoever knows the password: nobody else learns the account exists.
      if (user.disabledAt !== null) {
        throw new AppError('USER_DISABLED', 'this account is disabled; the organisation owner can enable it');
      }
      // Whatever session cookie came with the request is ended, never reused: the session
      // always gets a secret of its own (no session fixation).
      const previous = sessionSecretOf(request.headers.cookie);
      if (previous !== undefined) await endSession(db, previous);
      await deleteExpiredSessions(db, settings);
      const { session, secret, csrfToken } = await startSession(db, user.id, settings);
      return reply
        .header('set-cookie', sessionCookie(secret, settings.maxSeconds, secure(request)))
        .header('cache-control', 'no-store')
        .send({ user: userView(user), csrfToken, expiresAt: session.expiresAt.toISOString() });
    },
  );

  app.delete('/session', { schema: { tags, ...responses({ 204: null }) } }, async (request, reply) => {
    const secret = sessionSecretOf(request.headers.cookie);
    if (secret !== undefined) await endSession(db, secret);
    return reply
      .header('set-cookie', clearedSessionCookie(secure(request)))
      .code(204)
      .send();
  });

  app.get('/me', { schema: { tags, ...responses({ 200: MeView }) } }, async (request, reply) => {
    const principal = principalOf(request);
    const user = principal.userId === null ? undefined : await userById(db, principal.userId);
    const projects = await listProjects(db, principal);
    const secret = principal.via === 'session' ? sessionSecretOf(request.headers.cookie) : undefined;
    return reply.header('cache-control', 'no-store').send({
      id: principal.id,
      name: principal.name,
      via: principal.via,
      user: user === undefined ? null : userView(user),
      projects: projects.map((p) => ({ key: p.key, name: p.name, role: roleIn(principal, p.id) ?? null })),
      csrfToken: secret === undefined ? null : csrfTokenOf(secret),
    });
  });
};
