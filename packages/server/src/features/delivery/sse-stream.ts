import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Patch } from '@switchyard/core';

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * SSE text encoded and framed once, then written as is to every stream it goes to: a patch
 * reaches tens of thousands of streams.
 */
export class SseChunk {
  /** The text framed as one HTTP/1.1 chunk: size in hex, CRLF, the bytes, CRLF. */
  readonly framed: Buffer;

  constructor(readonly text: string) {
    const body = Buffer.from(text, 'utf8');
    this.framed = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, CRLF]);
  }
}

/** One SDK's open stream. Kept small: an instance holds tens of thousands of them. */
export class SseStream {
  /** Whether the response has written through `res` once, so its head is on the socket. */
  private started = false;

  constructor(
    readonly res: ServerResponse,
    readonly keyId: string,
    /** Past this many bytes waiting to be sent, the client is too slow and is cut off. */
    private readonly maxBuffered: number,
  ) {}

  /** Writes `chunk` unless the client has fallen too far behind; returns `false` when it was cut off. */
  send(chunk: string | SseChunk): boolean {
    const res = this.res;
    if (res.destroyed) return false;
    if (res.writableLength > this.maxBuffered) {
      res.destroy();
      return false;
    }
    const socket = res.socket;
    if (typeof chunk !== 'string' && socket !== null && this.writesDirectly(socket)) {
      // The bytes `res.write` would produce, without its per-call encoding and framing, and
      // without its cork until the next tick, which held every stream's patch back until the
      // loop over all of them had ended. A broadcast spends most of its time here.
      socket.write(chunk.framed);
      return true;
    }
    res.write(typeof chunk === 'string' ? chunk : chunk.text);
    this.started = true;
    return true;
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }

  /**
   * A pre-framed chunk may go straight to the socket only when it is exactly what the response
   * would write there: its head already sent, chunked framing, and nothing of its own waiting
   * (its `writableLength` beyond the socket's), so the order of bytes is kept.
   */
  private writesDirectly(socket: Socket): boolean {
    const res = this.res;
    return (
      this.started &&
      res.chunkedEncoding &&
      !res.writableEnded &&
      socket.writable &&
      res.writableLength === socket.writableLength
    );
  }
}

export function putEvent(version: number, json: string): string {
  return `event: put\nid: ${version}\ndata: ${json}\n\n`;
}

/**
 * Patches as SSE events. Only the last event of each version carries `id:`: an SDK resumes
 * from the last id it saw, so a stream cut between two patches of one version (a tag kill
 * writes several) resumes before that version and gets all of it again.
 */
export function patchEvents(patches: readonly Patch[]): string {
  let out = '';
  for (let i = 0; i < patches.length; i++) {
    const p = patches[i] as Patch;
    const next = patches[i + 1];
    out += `event: patch\ndata: ${JSON.stringify(p)}\n`;
    if (next === undefined || next.version !== p.version) out += `id: ${p.version}\n`;
    out += '\n';
  }
  return out;
}

export const HEARTBEAT = new SseChunk(':\n\n');
