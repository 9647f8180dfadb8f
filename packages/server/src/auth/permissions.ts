import type { Role } from './principal.js';

/**
 * What a route asks of its caller:
 * - `public`: nothing (signing in);
 * - `signed-in`: any credential of the management API (a session, a personal token, an admin key);
 * - `person`: a person, by session or personal token, not a key;
 * - `owner`: the organisation owner (or an organisation-wide admin key);
 * - a role: at least that role in the project the request names (`:project` in the path, or a
 *   `project` in the query or body); a route that names none asks for that role in some
 *   project and narrows what it shows or changes to the projects where the caller holds it.
 */
export type Permission = 'public' | 'signed-in' | 'person' | 'owner' | Role;

/**
 * Every route of `/api/v1`, by method and path as registered. A route missing here is refused
 * to everyone, and a test walking Fastify's route tree fails: a new route cannot ship unguarded.
 */
export const PERMISSIONS: Readonly<Record<string, Permission>> = {
  'POST /api/v1/session': 'public',
  'DELETE /api/v1/session': 'public',
  'GET /api/v1/me': 'signed-in',
  'PUT /api/v1/me/password': 'person',

  'GET /api/v1/tokens': 'person',
  'POST /api/v1/tokens': 'person',
  'POST /api/v1/tokens/:id/revoke': 'person',

  'GET /api/v1/users': 'owner',
  'POST /api/v1/users': 'owner',
  'POST /api/v1/users/:user/disable': 'owner',
  'POST /api/v1/users/:user/enable': 'owner',
  'PATCH /api/v1/users/:user': 'owner',
  'DELETE /api/v1/users/:user': 'owner',

  'GET /api/v1/projects': 'signed-in',
  'POST /api/v1/projects': 'owner',
  'GET /api/v1/projects/:project': 'viewer',
  'PATCH /api/v1/projects/:project': 'admin',
  'DELETE /api/v1/projects/:project': 'owner',

  'GET /api/v1/projects/:project/members': 'viewer',
  'POST /api/v1/projects/:project/members': 'admin',
  'PATCH /api/v1/projects/:project/members/:user': 'admin',
  'DELETE /api/v1/projects/:project/members/:user': 'admin',

  'GET /api/v1/projects/:project/environments': 'viewer',
  'POST /api/v1/projects/:project/environments': 'admin',
  'GET /api/v1/projects/:project/environments/:env': 'viewer',
  'PATCH /api/v1/projects/:project/environments/:env': 'admin',
  'DELETE /api/v1/projects/:project/environments/:env': 'admin',
  'POST /api/v1/projects/:project/environments/:env/kill': 'editor',

  'GET /api/v1/projects/:project/flags': 'viewer',
  'POST /api/v1/projects/:project/flags': 'editor',
  'GET /api/v1/projects/:project/flags/:flag': 'viewer',
  'PATCH /api/v1/projects/:project/flags/:flag': 'editor',
  'DELETE /api/v1/projects/:project/flags/:flag': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/archive': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/unarchive': 'editor',
  'GET /api/v1/projects/:project/flags/:flag/environments/:env': 'viewer',
  'PUT /api/v1/projects/:project/flags/:flag/environments/:env': 'editor',
  'PATCH /api/v1/projects/:project/flags/:flag/environments/:env': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/kill': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/unkill': 'editor',
  'GET /api/v1/projects/:project/flags/:flag/environments/:env/results': 'viewer',

  'GET /api/v1/projects/:project/flags/:flag/environments/:env/release-plan': 'viewer',
  'GET /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/figures': 'viewer',
  'PUT /api/v1/projects/:project/flags/:flag/environments/:env/release-plan': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/start': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/pause': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/resume': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/advance': 'editor',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/release-plan/abort': 'editor',

  'GET /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes': 'viewer',
  'POST /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes': 'editor',
  'GET /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes/:id': 'viewer',
  'DELETE /api/v1/projects/:project/flags/:flag/environments/:env/scheduled-changes/:id': 'editor',

  'GET /api/v1/projects/:project/environments/:env/segments': 'viewer',
  'POST /api/v1/projects/:project/environments/:env/segments': 'editor',
  'GET /api/v1/projects/:project/environments/:env/segments/:segment': 'viewer',
  'PUT /api/v1/projects/:project/environments/:env/segments/:segment': 'editor',
  'DELETE /api/v1/projects/:project/environments/:env/segments/:segment': 'editor',

  'GET /api/v1/projects/:project/metrics': 'viewer',
  'POST /api/v1/projects/:project/metrics': 'editor',
  'GET /api/v1/projects/:project/metrics/:metric': 'viewer',
  'PATCH /api/v1/projects/:project/metrics/:metric': 'editor',
  'POST /api/v1/projects/:project/metrics/:metric/archive': 'editor',
  'POST /api/v1/projects/:project/metrics/:metric/unarchive': 'editor',

  'GET /api/v1/projects/:project/webhooks': 'admin',
  'POST /api/v1/projects/:project/webhooks': 'admin',
  'GET /api/v1/projects/:project/webhooks/:webhook': 'admin',
  'PATCH /api/v1/projects/:project/webhooks/:webhook': 'admin',
  'DELETE /api/v1/projects/:project/webhooks/:webhook': 'admin',
  'POST /api/v1/projects/:project/webhooks/:webhook/rotate-secret': 'admin',
  'GET /api/v1/projects/:project/webhooks/:webhook/deliveries': 'admin',
  'GET /api/v1/projects/:project/webhooks/:webhook/deliveries/:delivery': 'admin',
  'POST /api/v1/projects/:project/webhooks/:webhook/deliveries/:delivery/redeliver': 'admin',

  'GET /api/v1/keys': 'admin',
  'POST /api/v1/keys': 'admin',
  'GET /api/v1/keys/:id': 'admin',
  'PATCH /api/v1/keys/:id': 'admin',
  'POST /api/v1/keys/:id/rotate': 'admin',
  'POST /api/v1/keys/:id/revoke': 'admin',

  'GET /api/v1/audit': 'viewer',
  'GET /api/v1/projects/:project/changes': 'viewer',
};
