import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';

/**
 * What `node:http` hangs on a connection's socket (its `_http_server.js`): an HTTP parser fed by
 * the socket's handle, listeners bound to the connection's state, and the response in
 * `_httpMessage`. Together they keep the parser, the request, the response and Fastify's
 * request and reply alive for as long as the socket lives, about 3 KiB per connection: for an
 * SSE stream, that is hours, for bytes it never uses again once its head is sent.
 */
interface HttpSocket extends Socket {
  parser?: HttpParser | null;
  _httpMessage?: unknown;
}

/** The parts of Node's internal `HTTPParser` that its own 'upgrade' path uses to let go of one. */
interface HttpParser {
  _consumed?: boolean;
  unconsume(): void;
  remove(): void;
  close(): void;
}

/** A plain socket's own listeners (net's end-of-stream handling): everything else is node:http's. */
const PLATFORM = platformListeners();
const HTTP_EVENTS = ['data', 'end', 'close', 'drain', 'error', 'timeout', 'resume', 'pause'] as const;
const HTTP_OVERRIDES = ['on', 'addListener', 'prependListener', 'setEncoding'] as const;

/**
 * Takes the response's socket away from `node:http`, as Node does for an 'upgrade': from then
 * on the socket is the caller's alone, and the parser, the request and the response (and
 * Fastify's objects around them) are garbage. `undefined`, and nothing changed, unless the
 * response's head and everything it wrote is on the socket already and it writes chunked
 * (an HTTP/1.0 client does not), so that chunks written to the socket continue it exactly.
 *
 * The caller then owns what node:http did for the connection: it reads and drops what the
 * client sends (so that the client's leaving is seen), ends the socket when the client ends
 * its side (the server is half-open), ignores its errors (the socket is destroyed with them),
 * and ends the response with the last chunk (`LAST_CHUNK`) before ending the socket.
 */
export function takeSocket(res: ServerResponse): Socket | undefined {
  const socket = res.socket as HttpSocket | null;
  if (
    socket === null ||
    Object.getPrototypeOf(socket) !== Socket.prototype ||
    !res.headersSent ||
    !res.chunkedEncoding ||
    res.writableEnded ||
    !socket.writable ||
    res.writableLength !== socket.writableLength ||
    !isKnownParser(socket.parser)
  ) {
    return undefined;
  }
  const parser = socket.parser;
  if (parser != null) {
    if (parser._consumed) parser.unconsume();
    parser._consumed = false;
    // Out of the server's list of connections checked for header and request timeouts.
    parser.remove();
    // Node frees a parser outside its own callbacks, and so does this: the request that led
    // here may still be unwinding through it.
    setImmediate(() => parser.close());
  }
  socket.parser = null;
  socket._httpMessage = null;
  for (const event of HTTP_EVENTS) {
    for (const listener of socket.listeners(event)) {
      if (!PLATFORM.has(listener)) socket.off(event, listener as () => void);
    }
  }
  for (const name of HTTP_OVERRIDES) delete (socket as unknown as Record<string, unknown>)[name];
  socket.setTimeout(0);
  socket.on('data', ignore);
  socket.on('end', endSocket);
  socket.on('error', ignore);
  return socket;
}

/**
 * Whether the socket's parser is absent or has the internal methods used above: another Node
 * version's may not, and the stream then keeps the response (more memory, nothing broken).
 */
function isKnownParser(parser: HttpParser | null | undefined): boolean {
  return (
    parser == null ||
    (typeof parser.unconsume === 'function' &&
      typeof parser.remove === 'function' &&
      typeof parser.close === 'function')
  );
}

function platformListeners(): Set<unknown> {
  const plain = new Socket();
  return new Set(plain.eventNames().flatMap((event) => plain.listeners(event)));
}

const ignore = () => undefined;

function endSocket(this: Socket): void {
  this.end();
}
