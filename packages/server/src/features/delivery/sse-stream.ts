import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Patch } from '@switchyard/core';
import { directSocket, PreframedChunk } from './preframed-chunk.js';

/** One SDK's open stream. Kept small: an instance holds tens of thousands of them. */
export class SseStream {
  /** Whether the response has written through `res` once, so its head is on the socket. */
  private started = false;
  /**
   * The socket, once pre-framed chunks may go straight to it (see `directSocket`): from then on
   * every write of the stream does, so nothing of the response's own can come between them, and
   * a broadcast's write per stream is a check of the socket and the write.
   */
  private socket: Socket | undefined;

  constructor(
    readonly res: ServerResponse,
    readonly keyId: string,
    /** Past this many bytes waiting to be sent, the client is too slow and is cut off. */
    private readonly maxBuffered: number,
    /** Opened with the secret a rotation replaced: it ends with that secret's grace period. */
    readonly previousSecret = false,
  ) {}

  /** Writes `chunk` unless the client has fallen too far behind; returns `false` when it was cut off. */
  send(chunk: string | PreframedChunk): boolean {
    const socket = this.socket;
    if (socket !== undefined) {
      if (!socket.writable) return false;
      if (socket.writableLength > this.maxBuffered) {
        socket.destroy();
        return false;
      }
      socket.write(typeof chunk === 'string' ? new PreframedChunk(chunk).framed : chunk.framed);
      return true;
    }
    const res = this.res;
    if (res.destroyed || res.writableEnded) return false;
    if (res.writableLength > this.maxBuffered) {
      res.destroy();
      return false;
    }
    if (typeof chunk !== 'string') {
      this.socket = directSocket(res, this.started);
      if (this.socket !== undefined) return this.send(chunk);
    }
    res.write(typeof chunk === 'string' ? chunk : chunk.text);
    this.started = true;
    return true;
  }

  end(): void {
    this.socket = undefined;
    if (!this.res.destroyed) this.res.end();
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

export const HEARTBEAT = new PreframedChunk(':\n\n');
