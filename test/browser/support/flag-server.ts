import { buildServer } from '../../../packages/server/src/server.js';
import { startTestServer, type TestServer } from '../../../packages/server/src/test-support/server.js';

type FastifyInstance = TestServer['app'];

/** An SDK request as the server answered it. */
export interface SdkExchange {
  method: string;
  url: string;
  status: number;
  /** The parsed request body, for POSTs. */
  body: unknown;
}

/**
 * A real flag server on its own database, listening on loopback, that can go away and come back
 * on the same port, as a restarted server would: `stop` closes it (streams end, connections are
 * refused), `restart` builds a new one on the same database.
 */
export class FlagServer {
  private app: FastifyInstance;
  private running = true;
  /** Every `/sdk/v1` request the server answered, in order: what browsers really sent and got. */
  readonly exchanges: SdkExchange[] = [];

  private constructor(
    private readonly test: TestServer,
    /** Set once the first server listens; a restart listens on the same one. */
    public port: number,
  ) {
    this.app = test.app;
    this.observe(test.app);
  }

  static async start(): Promise<FlagServer> {
    const test = await startTestServer({ delivery: { heartbeatIntervalMs: 1000 } });
    // Constructed before listening: hooks can only be added to an app that is not ready yet.
    const server = new FlagServer(test, 0);
    await test.app.listen({ port: 0, host: '127.0.0.1' });
    const address = test.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the server has no port');
    server.port = address.port;
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The server's database, to read what it stored. */
  get db(): TestServer['testDb']['database']['db'] {
    return this.test.testDb.database.db;
  }

  /** A management API call with the admin token; throws unless it succeeded. */
  async admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.app.inject({
      method: method as 'GET',
      url: `/api/v1${path}`,
      headers: { authorization: `Bearer ${this.test.adminToken}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return (res.body === '' ? undefined : res.json()) as T;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.app.close();
  }

  /** After a test that stopped the server, whatever its outcome: the next test starts with a server. */
  async ensureRunning(): Promise<void> {
    if (!this.running) await this.restart();
  }

  async restart(): Promise<void> {
    this.running = true;
    this.app = await buildServer({
      logger: false,
      database: this.test.testDb.database,
      delivery: { heartbeatIntervalMs: 1000 },
    });
    this.observe(this.app);
    await this.app.listen({ port: this.port, host: '127.0.0.1' });
  }

  /** Waits until the server has answered an SDK request that `predicate` picks, at most `timeoutMs`. */
  async waitForExchange(predicate: (e: SdkExchange) => boolean, timeoutMs: number): Promise<SdkExchange> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.exchanges.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such SDK request in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private observe(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      if (!request.url.startsWith('/sdk/v1/')) return;
      this.exchanges.push({ method: request.method, url: request.url, status: reply.statusCode, body: request.body });
    });
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.test.testDb.drop();
  }
}

/** A project `web` with an environment `prod`, its keys, and helpers for its flags. */
export async function webProject(server: FlagServer) {
  await server.admin('POST', '/projects', { key: 'web', name: 'Web' });
  await server.admin('POST', '/projects/web/environments', { key: 'prod', name: 'Production' });
  const key = async (type: 'client' | 'server') =>
    (await server.admin<{ token: string }>('POST', '/keys', { name: type, type, project: 'web', environment: 'prod' }))
      .token;
  return {
    clientKey: await key('client'),
    serverKey: await key('server'),
    /** A boolean flag, enabled in `prod` and serving `serve` to everyone unless `config` says more. */
    async booleanFlag(key: string, options: { clientSide: boolean; serve: 'on' | 'off'; config?: object }) {
      await server.admin('POST', '/projects/web/flags', {
        key,
        name: key,
        type: 'boolean',
        clientSide: options.clientSide,
        metadata: { owner: 'web-team' },
      });
      await server.admin('PUT', `/projects/web/flags/${key}/environments/prod`, {
        enabled: true,
        defaultServe: { variant: options.serve },
        ...options.config,
      });
    },
    /** A client key of `prod` that has been revoked. */
    async revokedClientKey(): Promise<string> {
      const revoked = await server.admin<{ id: string; token: string }>('POST', '/keys', {
        name: 'revoked',
        type: 'client',
        project: 'web',
        environment: 'prod',
      });
      await server.admin('POST', `/keys/${revoked.id}/revoke`, {});
      return revoked.token;
    },
    /** Serves `variant` to everyone; resolves on the API's 200. */
    serve: (key: string, variant: 'on' | 'off') =>
      server.admin('PATCH', `/projects/web/flags/${key}/environments/prod`, { defaultServe: { variant } }),
  };
}
