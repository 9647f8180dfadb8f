import http from 'node:http';
import net from 'node:net';
import { type SseEvent, SseParser } from '@switchyard/core';
import { monotonicMs } from './client-protocol.js';

/**
 * Two ways to hold an SDK's stream, both parsed by the core's `SseParser`:
 *
 * - `http`: `node:http`, as the Node SDK does;
 * - `socket`: a plain TCP socket that sends the same request and reads the HTTP/1.1 response
 *   itself (status line, then chunked framing). On a machine whose cores the clients share with
 *   the server, `node:http` costs the clients more CPU per event than the server spends per
 *   stream, and that shows up in the latency measured; the socket reader costs less.
 */
export type ClientKind = 'http' | 'socket';

export interface StreamHandlers {
  /** Every event, with the time its bytes came off the socket (before any parsing). */
  onEvent(event: SseEvent, receivedAt: number): void;
  /** The stream failed or ended; called at most once. */
  onEnd(err: Error): void;
}

export interface HeldStream {
  close(): void;
}

/** The headers the Node SDK sends when it opens its stream. */
const HEADERS = {
  accept: 'text/event-stream',
  'cache-control': 'no-cache',
  'user-agent': `switchyard-sdk-node/0.1.0 node/${process.versions.node}`,
};

// Like Node's global agent, which the Node SDK uses (keep-alive), but without a socket limit:
// every stream holds its own connection.
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

export function openStream(kind: ClientKind, port: number, token: string, handlers: StreamHandlers): HeldStream {
  return kind === 'http' ? openHttp(port, token, handlers) : openSocket(port, token, handlers);
}

function openHttp(port: number, token: string, handlers: StreamHandlers): HeldStream {
  let ended = false;
  const end = (err: Error) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(err);
  };
  let chunkAt = 0;
  const parser = new SseParser((event) => handlers.onEvent(event, chunkAt));
  const req = http.request({
    host: '127.0.0.1',
    port,
    path: '/sdk/v1/stream',
    agent,
    headers: { ...HEADERS, authorization: `Bearer ${token}` },
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      req.destroy(new Error(`the stream answered ${res.statusCode}`));
      return;
    }
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      chunkAt = monotonicMs();
      parser.feed(chunk);
    });
    res.on('end', () => end(new Error('the stream ended')));
  });
  req.on('error', end);
  req.end();
  return {
    close: () => {
      ended = true;
      req.destroy();
    },
  };
}

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function openSocket(port: number, token: string, handlers: StreamHandlers): HeldStream {
  let ended = false;
  let chunkAt = 0;
  const reader = new ChunkedReader(new SseParser((event) => handlers.onEvent(event, chunkAt)));
  const socket = net.connect({
    port,
    host: '127.0.0.1',
    onread: {
      buffer: READ_BUFFER,
      callback: (length, buffer) => {
        chunkAt = monotonicMs();
        const problem = reader.feed((buffer as Buffer).toString('latin1', 0, length));
        if (problem !== undefined) end(new Error(problem));
        return true;
      },
    },
  });
  const end = (err: Error) => {
    if (ended) return;
    ended = true;
    socket.destroy();
    handlers.onEnd(err);
  };
  socket.on('error', end);
  socket.on('close', () => end(new Error('the stream ended')));
  const lines = [
    'GET /sdk/v1/stream HTTP/1.1',
    `host: 127.0.0.1:${port}`,
    `authorization: Bearer ${token}`,
    ...Object.entries(HEADERS).map(([name, value]) => `${name}: ${value}`),
    'connection: keep-alive',
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return {
    close: () => {
      ended = true;
      socket.destroy();
    },
  };
}

/**
 * An HTTP/1.1 response with chunked framing, read from a socket decoded as latin1 (one char per
 * byte, so chunk sizes count chars). The body goes to the SSE parser; the events the server sends
 * are ASCII apart from JSON string contents, which only the inspected client re-decodes.
 */
export class ChunkedReader {
  private buffer = '';
  private head = true;
  /** Bytes left in the current chunk; -1 between chunks, where a size line comes next. */
  private left = -1;

  constructor(private readonly parser: SseParser) {}

  /** Feeds bytes; returns a description of the problem when the response is not what a stream sends. */
  feed(chunk: string): string | undefined {
    this.buffer += chunk;
    if (this.head) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const head = this.buffer.slice(0, end);
      if (!head.startsWith('HTTP/1.1 200 ')) return `the stream answered "${head.split('\r\n')[0]}"`;
      if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return 'the stream is not chunked';
      this.head = false;
      this.buffer = this.buffer.slice(end + 4);
    }
    let at = 0;
    let body = '';
    for (;;) {
      if (this.left === -1) {
        const lineEnd = this.buffer.indexOf('\r\n', at);
        if (lineEnd === -1) break;
        const size = Number.parseInt(this.buffer.slice(at, lineEnd), 16);
        if (!Number.isInteger(size)) return 'a chunk size is not a number';
        if (size === 0) return 'the stream ended';
        this.left = size;
        at = lineEnd + 2;
      }
      const take = Math.min(this.left, this.buffer.length - at);
      body += this.buffer.slice(at, at + take);
      at += take;
      this.left -= take;
      if (this.left > 0) break;
      // The CRLF after the chunk's bytes.
      if (this.buffer.length - at < 2) {
        this.left = 0;
        break;
      }
      at += 2;
      this.left = -1;
    }
    this.buffer = this.buffer.slice(at);
    if (body !== '') this.parser.feed(body);
    return undefined;
  }
}
