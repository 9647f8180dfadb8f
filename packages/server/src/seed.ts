import { SYSTEM_PRINCIPAL } from './auth/principal.js';
import type { Db } from './db/database.js';
import { apiKeys } from './db/schema.js';
import { ChangeFeed } from './features/changes/change-feed.js';
import type { Actor, Writer } from './features/changes/commit-change.js';
import { createEnvironment } from './features/environments/service.js';
import { createFlag } from './features/flags/service.js';
import { createKey } from './features/keys/service.js';
import { createProject } from './features/projects/service.js';
import { randomPassword } from './features/users/password.js';
import { createFirstOwner } from './features/users/service.js';

export interface SeededCredentials {
  adminToken: string;
  sdkKeys: { environment: string; server: string; client: string }[];
}

const SYSTEM: Actor = {
  principal: SYSTEM_PRINCIPAL,
  reason: 'first start',
};

/**
 * On a database without any API key, creates the demo project (development and production),
 * an organisation admin key and a server and a client key per environment. Returns their tokens
 * so they can be shown once; returns `undefined` when the database was already set up.
 */
export async function seedIfEmpty(
  db: Db,
  options: { adminToken?: string | undefined },
): Promise<SeededCredentials | undefined> {
  const existing = await db.select({ id: apiKeys.id }).from(apiKeys).limit(1);
  if (existing.length > 0) return undefined;
  // Seeding runs before the server is built: nobody listens to these commits yet, and delivery
  // loads every environment when it starts.
  const w: Writer = { db, feed: new ChangeFeed() };
  const admin = await createKey(w, SYSTEM, { name: 'bootstrap admin', type: 'admin' }, options.adminToken);
  await createProject(w, SYSTEM, { key: 'demo', name: 'Demo' });
  const sdkKeys: SeededCredentials['sdkKeys'] = [];
  for (const [key, name] of [
    ['development', 'Development'],
    ['production', 'Production'],
  ] as const) {
    await createEnvironment(w, SYSTEM, 'demo', { key, name });
    const server = await createKey(w, SYSTEM, {
      name: `${key} server`,
      type: 'server',
      project: 'demo',
      environment: key,
    });
    const client = await createKey(w, SYSTEM, {
      name: `${key} client`,
      type: 'client',
      project: 'demo',
      environment: key,
    });
    sdkKeys.push({ environment: key, server: server.token, client: client.token });
  }
  await createFlag(w, SYSTEM, 'demo', {
    key: 'new-checkout',
    name: 'New checkout',
    description: 'A demo flag: roll it out, then kill it.',
    tags: ['demo'],
    type: 'boolean',
    clientSide: true,
    metadata: {},
  });
  return { adminToken: admin.token, sdkKeys };
}

/** The organisation owner a start created, with the password shown this once. */
export interface FirstOwner {
  email: string;
  password: string;
}

/**
 * On a database without any user (a first start, or the first start of a version with users),
 * creates the organisation owner with a random password, to be printed once.
 */
export async function createOwnerIfNone(db: Db, email: string): Promise<FirstOwner | undefined> {
  const password = randomPassword();
  const created = await createFirstOwner({ db, feed: new ChangeFeed() }, SYSTEM, email, password);
  return created === undefined ? undefined : { email: created.email, password };
}
