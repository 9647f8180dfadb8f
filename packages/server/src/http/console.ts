import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * Where `pnpm install` builds the console (`packages/console/dist`), found from this file so it
 * holds both for the TypeScript sources (`src/http`) and for the build (`dist/http`).
 */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/** Paths that belong to the server: the console's fallback page never answers for them. */
const SERVER_PREFIXES = ['/api', '/sdk', '/docs', '/metrics', '/healthz', '/readyz', '/assets/'];

function isServerPath(url: string): boolean {
  const path = url.split('?')[0] as string;
  return SERVER_PREFIXES.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
}

/**
 * Serves the console's built files at `/`, and its `index.html` for any other GET (the app's own
 * routes, such as `/projects/demo/flags/x`, so a reload or a shared link works). A console
 * that was not built is not an error: the API runs without it, and says so once.
 */
export async function serveConsole(app: FastifyInstance, dir: string): Promise<boolean> {
  if (!existsSync(join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'the console is not built (pnpm --filter @switchyard/console build); serving the API only');
    return false;
  }
  await app.register(fastifyStatic, {
    root: dir,
    // One route per built file, found at start: a catch-all of the plugin's own would answer
    // for the API's unknown paths too.
    wildcard: false,
    setHeaders: (reply, path) => {
      // File names under assets/ carry a hash of their content; index.html must be read anew.
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    if (isServerPath(request.url)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
  return true;
}
