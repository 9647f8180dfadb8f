import { createServer, type Server, Socket } from 'node:net';

export interface TcpProxyOptions {
  targetHost?: string;
  /** Keeps everything the target sent, as text, in `downstream` (for an HTTP server, not a database). */
  record?: boolean;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Forwards nothing more either way, whatever the proxy's mode. */
  frozen: boolean;
}

/**
 * A TCP proxy in front of a server (Postgres, Redis, or Switchyard itself for an SDK), for the
 * faults a real peer makes only when something goes wrong. Connection faults: `closeAll` (a
 * restart: every open connection cut), `refuse` (down: new connections are cut at once),
 * `stall` (alive but silent: connections are accepted and kept, nothing is forwarded either
 * way), `freeze` (only the connections open now fall silent) and `forward` (healthy again).
 * HTTP faults: `answer502When` (a request containing it gets the proxy's own 502), `cutInside`
 * (a response cut in the middle of a marker) and `inject` (bytes the server never sent).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private mode: 'forward' | 'refuse' | 'stall' = 'forward';
  private targetHost: string;
  private readonly record: boolean;
  /** Everything the target sent, as text, when the proxy records. */
  downstream = '';
  /** When set, the next target→client chunk containing it is cut half-way through it, then both sides closed. */
  cutInside: string | undefined;
  /** Requests containing this (e.g. `GET /sdk/v1/stream`) are answered 502 by the proxy itself. */
  answer502When: string | undefined;
  port = 0;

  constructor(
    private targetPort: number,
    options: TcpProxyOptions = {},
  ) {
    this.targetHost = options.targetHost ?? '127.0.0.1';
    this.record = options.record ?? false;
    this.server = createServer((client) => this.accept(client));
  }

  /** `http://127.0.0.1:port`, once listening. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    client.on('error', () => client.destroy());
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    const pair: Pair = { client, upstream, frozen: false };
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    upstream.on('error', drop);
    upstream.on('close', drop);
    client.on('close', drop);
    upstream.connect(this.targetPort, this.targetHost);
    const passes = () => this.mode === 'forward' && !pair.frozen;
    // A silent proxy still reads, so the peers' writes never block: it only forwards nothing.
    client.on('data', (d: Buffer) => {
      if (!passes()) return;
      if (this.answer502When !== undefined && d.toString('latin1').includes(this.answer502When)) {
        client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        upstream.destroy();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!passes()) return;
      const marker = this.cutInside;
      if (marker !== undefined) {
        const text = d.toString('utf8');
        const at = text.indexOf(marker);
        if (at >= 0) {
          this.cutInside = undefined;
          const head = d.subarray(0, Buffer.byteLength(text.slice(0, at + Math.floor(marker.length / 2))));
          if (this.record) this.downstream += head.toString('utf8');
          client.write(head, drop);
          return;
        }
      }
      if (this.record) this.downstream += d.toString('utf8');
      client.write(d);
    });
  }

  /** Listens on `port` (0: any free one) and returns it. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Sends new connections to another server from now on, as a load balancer does when one instance dies. */
  retarget(port: number, host = this.targetHost): void {
    this.targetPort = port;
    this.targetHost = host;
  }

  /** Forwards both ways: new connections and the ones still open (but not frozen ones). */
  forward(): void {
    this.mode = 'forward';
  }

  /** Cuts every open connection, as a restart of the server behind does. */
  closeAll(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
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

  /** Forwards nothing more on the connections open now, leaving them open; new ones work. */
  freeze(): void {
    for (const pair of this.pairs) pair.frozen = true;
  }

  /**
   * Sends `text` to every open client connection as if the server had: one more chunk of the
   * chunked response body an SDK stream is.
   */
  inject(text: string): void {
    const chunk = `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    for (const { client } of this.pairs) client.write(chunk);
  }

  /** Open connections (client side). */
  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.closeAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
