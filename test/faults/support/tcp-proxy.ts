import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy between a server and Postgres or Redis, for the faults they make on their own
 * only when something goes wrong: `closeAll` (a restart: every connection cut), `refuse` (down:
 * new connections are cut at once), `stall` (alive but silent: connections are accepted and
 * kept, nothing is forwarded either way), and `forward` (healthy again).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'forward' | 'refuse' | 'stall' = 'forward';
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('error', () => client.destroy());
    client.on('close', () => this.sockets.delete(client));
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', drop);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      drop();
    });
    client.on('close', drop);
    upstream.connect(this.targetPort, this.targetHost);
    // A stalled proxy still reads, so the peers' writes never block: it only forwards nothing.
    client.on('data', (d: Buffer) => {
      if (this.mode === 'forward') upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (this.mode === 'forward') client.write(d);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Forwards both ways: new connections and the ones still open. */
  forward(): void {
    this.mode = 'forward';
  }

  /** Cuts every open connection, as a restart of the server behind does. */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Cuts every open connection and every new one at once: the server behind is down. */
  refuse(): void {
    this.mode = 'refuse';
    this.closeAll();
  }

  /** Keeps every connection, open and new, but forwards nothing more: the server behind hangs. */
  stall(): void {
    this.mode = 'stall';
  }

  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    this.closeAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
