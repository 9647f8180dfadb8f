import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Patch } from '@switchyard/core';
import { LAST_CHUNK, PreframedChunk } from './preframed-chunk.js';

/**
 * One SDK's open stream. Kept small: an instance holds tens of thousands of them. Once its head
 * is sent, a stream is its socket and nothing of node:http or Fastify (`takeSocket`): every
 * write is a pre-framed chunk straight to the socket, and a broadcast's write per stream is a
 * check of the socket and the write.
 */
export class SseStream {
  /** Whether `out` is the socket, written to in pre-framed chunks. */
  private readonly direct: boolean;

  constructor(
    /**
     * The socket taken from node:http, or, for a client that cannot take chunks (HTTP/1.0),
     * the response, which frames what it writes itself.
     */
    private readonly out: Socket | ServerResponse,
    readonly keyId: string,
    /** Past this many bytes waiting to be sent, the client is too slow and is cut off. */
    private readonly maxBuffered: number,
    /** Opened with the secret a rotation replaced: it ends with that secret's grace period. */
    readonly previousSecret = false,
  ) {
    this.direct = !(out instanceof ServerResponse);
  }

  /** Writes `chunk` unless the client has fallen too far behind; returns `false` when it was cut off. */
  send(chunk: string | PreframedChunk): boolean {
    const out = this.out;
    if (out.destroyed || out.writableEnded) return false;
    if (out.writableLength > this.maxBuffered) {
      out.destroy();
      return false;
    }
    if (this.direct) out.write(typeof chunk === 'string' ? new PreframedChunk(chunk).framed : chunk.framed);
    else out.write(typeof chunk === 'string' ? chunk : chunk.text);
    return true;
  }

  /** Calls `listener` once when the stream is gone, whoever ended it. */
  onClose(listener: () => void): void {
    this.out.once('close', listener);
  }

  end(): void {
    const out = this.out;
    if (out.destroyed || out.writableEnded) return;
    // The socket is no longer in node:http's list of idle connections that a closing server
    // cuts, so it is closed once the last chunk is out rather than left to the client.
    if (this.direct) out.end(LAST_CHUNK, () => out.destroy());
    else out.end();
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
