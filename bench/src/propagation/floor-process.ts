/**
 * The floor the propagation bench compares the server with: a plain Node process that holds
 * the same streams on bare sockets and, on each flip, writes one pre-framed chunk to all of
 * them in a loop, and nothing else. It answers the request line the clients send with the
 * smallest chunked SSE response they accept (a head, then a `put`), so the same client swarm
 * reads it. Its CPU time per flip is what the platform costs for the writes alone, on this
 * machine, at this moment.
 *
 * The bench sends `{ type: 'flip', version, enabled, bytes }` over IPC (`bytes`: the size of the
 * patch the server sent, so the floor writes a chunk of the same size), and `{ type: 'gc' }`
 * before it reads the floor's memory.
 */
import net from 'node:net';

interface FlipCommand {
  readonly type: 'flip';
  readonly version: number;
  readonly enabled: boolean;
  readonly bytes: number;
}

type Command = FlipCommand | { readonly type: 'gc' };

const gc = (globalThis as { gc?: () => void }).gc;

const HEAD =
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n' +
  'connection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n';

const sockets = new Set<net.Socket>();

function framed(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n')]);
}

const PUT = framed('event: put\nid: 0\ndata: {"flags":{},"segments":{}}\n\n');

/** A patch event of about `bytes` bytes of data, padded so its size matches the server's. */
function patchEvent(command: FlipCommand): string {
  const value = { kind: 'flag', key: 'new-checkout', version: command.version, value: { enabled: command.enabled } };
  const bare = JSON.stringify({ ...value, pad: '' });
  const data = JSON.stringify({ ...value, pad: 'x'.repeat(Math.max(0, command.bytes - bare.length)) });
  return `event: patch\ndata: ${data}\nid: ${command.version}\n\n`;
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let head = '';
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    socket.write(HEAD);
    socket.write(PUT);
    sockets.add(socket);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  process.send?.({ type: 'listening', port });
});

process.on('message', (message: Command) => {
  if (message.type === 'gc') {
    // Twice, as the servers' hook does (gc-on-signal.ts).
    gc?.();
    gc?.();
    process.send?.({ type: 'gc done' });
    return;
  }
  const chunk = framed(patchEvent(message));
  for (const socket of sockets) socket.write(chunk);
});

process.on('disconnect', () => process.exit(0));
