import { createServer, type Server, Socket } from 'node:net';
import type { FlagType, JsonValue } from '@switchyard/core';
import { findEnvironment } from '../../packages/server/src/features/environments/store.js';
import { findProject } from '../../packages/server/src/features/projects/store.js';
import type { BuildOptions, DeliverySettings } from '../../packages/server/src/server.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

/** A flag server on a real socket and its own database, counting the SDK requests it receives. */
export interface LiveServer {
  s: TestServer;
  url: string;
  port: number;
  /** Every request received, by path without query (`/sdk/v1/stream`, …). */
  requests: string[];
  count(path: string): number;
  ok(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** A server key for project `web`, environment `prod`. */
  key(type?: 'server' | 'client'): Promise<{ id: string; token: string }>;
  environmentId(): Promise<string>;
}

/** Test settings: streams are told to retry at once, heartbeats are frequent, revoked keys are found fast. */
export const FAST_DELIVERY: Partial<DeliverySettings> = {
  heartbeatIntervalMs: 200,
  retryMs: 20,
  reconcileIntervalMs: 200,
};

export async function startLiveServer(options: Omit<BuildOptions, 'database'> = {}): Promise<LiveServer> {
  const s = await startTestServer({ delivery: FAST_DELIVERY, ...options });
  const requests: string[] = [];
  // The raw server's own event sees every request, whatever Fastify plugin answers it.
  s.app.server.on('request', (req: { url?: string }) => requests.push((req.url ?? '').split('?')[0] ?? ''));
  const url = await s.app.listen({ port: 0, host: '127.0.0.1' });
  const live: LiveServer = {
    s,
    url,
    port: Number(new URL(url).port),
    requests,
    count: (path) => requests.filter((r) => r === path).length,
    async ok(method, path, body) {
      const res = await s.call(method, path, body);
      if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
      return res.statusCode === 204 ? {} : res.json();
    },
    async key(type = 'server') {
      const k = await live.ok('POST', '/api/v1/keys', {
        name: `${type} key`,
        type,
        project: 'web',
        environment: 'prod',
      });
      return { id: k.id as string, token: k.token as string };
    },
    async environmentId() {
      const db = s.testDb.database.db;
      const project = await findProject(db, 'web');
      const env = await findEnvironment(db, project?.id ?? '', 'prod');
      if (env === undefined) throw new Error('no environment web/prod');
      return env.id;
    },
  };
  await live.ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
  await live.ok('POST', '/api/v1/projects/web/environments', { key: 'prod', name: 'Production' });
  return live;
}

export const API = '/api/v1/projects/web';

export async function createFlag(
  live: LiveServer,
  key: string,
  config: Record<string, unknown>,
  type: FlagType = 'boolean',
  variants?: { key: string; value: JsonValue }[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  await live.ok('POST', `${API}/flags`, { key, name: key, type, ...(variants ? { variants } : {}), ...extra });
  await live.ok('PUT', `${API}/flags/${key}/environments/prod`, config);
}

/** Polls `predicate` until it holds; fails with `what` after `timeoutMs`. A wait, not a timing assertion. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy in front of a server, for faults a real server does not make on its own: cutting
 * every connection, refusing new ones, cutting a stream in the middle of an event, and
 * injecting bytes into a stream. It records what the server sent.
 */
export class FaultProxy {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private readonly upstreams = new Set<Socket>();
  /** Everything the server sent to clients, as text. */
  downstream = '';
  /** When set, the next server→client chunk containing it is cut half-way through it, then both sides closed. */
  cutInside: string | undefined;
  /** Requests containing this (e.g. `GET /sdk/v1/stream`) are answered 502 by the proxy itself. */
  refuse: string | undefined;
  /** Connections that stay open but forward nothing more from the server: a stalled stream. */
  private readonly frozen = new Set<Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      const upstream = new Socket();
      this.clients.add(client);
      this.upstreams.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.clients.delete(client);
        this.upstreams.delete(upstream);
      };
      upstream.connect(this.targetPort, '127.0.0.1');
      client.on('data', (d: Buffer) => {
        if (this.refuse !== undefined && d.toString('latin1').includes(this.refuse)) {
          client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          upstream.destroy();
          return;
        }
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        if (this.frozen.has(client)) return;
        const text = d.toString('utf8');
        const marker = this.cutInside;
        if (marker !== undefined && text.includes(marker)) {
          this.cutInside = undefined;
          const cutAt = Buffer.byteLength(text.slice(0, text.indexOf(marker) + Math.floor(marker.length / 2)));
          const head = d.subarray(0, cutAt);
          this.downstream += head.toString('utf8');
          client.write(head, () => drop());
          return;
        }
        this.downstream += text;
        client.write(d);
      });
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('close', drop);
      upstream.on('close', drop);
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Sends `text` to every open client connection as if the server had: one more chunk of the
   * chunked response body the stream is.
   */
  inject(text: string): void {
    const chunk = `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    for (const c of this.clients) c.write(chunk);
  }

  /** Stops forwarding anything from the server on the connections open now, leaving them open. */
  freeze(): void {
    for (const c of this.clients) this.frozen.add(c);
  }

  get connections(): number {
    return this.clients.size;
  }

  cutAll(): void {
    for (const s of [...this.clients, ...this.upstreams]) s.destroy();
    this.clients.clear();
    this.upstreams.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
