import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * A speed trick, measured by `pnpm bench propagation` (bench/RESULTS.md, "Propagation"): a
 * patch reaches tens of thousands of streams, so its SSE text is encoded and framed as an
 * HTTP/1.1 chunk once, and the framed bytes go straight to each socket. `res.write` would
 * encode and frame it again for every stream, and cork the socket until the next tick, which
 * held every stream's patch back until the loop over all of them had ended; a broadcast spent
 * most of its time there. Everything that knows HTTP chunk framing is in this file.
 */
export class PreframedChunk {
  /** The text framed as one HTTP/1.1 chunk: size in hex, CRLF, the bytes, CRLF. */
  readonly framed: Buffer;

  constructor(readonly text: string) {
    const body = Buffer.from(text, 'utf8');
    this.framed = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, CRLF]);
  }
}

/**
 * The response's socket, when framed chunks written straight to it are exactly what the response
 * would write there: its head already sent (`headSent`), chunked framing, and nothing of its own
 * waiting (its `writableLength` beyond the socket's), so the order of bytes is kept. That stays
 * true for as long as nothing but framed chunks is written (and the response is not ended), so
 * a caller that writes every later chunk to the socket asks once. `undefined`: the response
 * must write its chunks itself (an HTTP/1.0 client gets no chunked framing).
 */
export function directSocket(res: ServerResponse, headSent: boolean): Socket | undefined {
  const socket = res.socket;
  if (
    socket === null ||
    !headSent ||
    !res.chunkedEncoding ||
    res.writableEnded ||
    !socket.writable ||
    res.writableLength !== socket.writableLength
  ) {
    return undefined;
  }
  return socket;
}
