import type { FastifyInstance } from 'fastify';

export interface ListedRoute {
  method: string;
  /** The path as registered, with `:param` placeholders. */
  path: string;
}

/**
 * Every route Fastify knows, read from its route tree, so that a test over "every route" grows
 * with the API instead of with a hand-kept list.
 */
export function listRoutes(app: FastifyInstance): ListedRoute[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const routes: ListedRoute[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
    if (m === null) continue;
    const depth = (m[1] as string).length / 4;
    stack.length = depth;
    const segment = m[2] as string;
    const path = (stack[depth - 1] ?? '') + (depth > 0 && !segment.startsWith('/') ? `/${segment}` : segment);
    stack.push(path);
    for (const method of (m[3] as string).split(', ')) routes.push({ method, path });
  }
  return routes.sort((a, b) => `${a.method} ${a.path}`.localeCompare(`${b.method} ${b.path}`));
}

export const WRITE_METHODS: readonly string[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
