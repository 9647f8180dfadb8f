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

/** The chunk that ends a chunked response (no trailers). */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
