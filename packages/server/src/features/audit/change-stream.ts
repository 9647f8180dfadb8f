import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/** An audit entry framed as the `change` event the stream sends, built once for every stream that gets it. */
export interface ChangeFrame {
  id: number;
  text: string;
}

export const changeFrame = (id: number, json: string): ChangeFrame => ({
  id,
  text: `event: change\nid: ${id}\ndata: ${json}\n\n`,
});

export const HEARTBEAT_COMMENT = ':\n\n';

/**
 * One open management change stream: a project's audit entries, each sent once, in id order.
 * While the entries it missed are replayed from Postgres, the live ones are held and sent after.
 */
export class ChangeStream {
  /** The id of the last entry sent (or of the position announced with a bare `id:`): nothing at or below it is sent again. */
  private lastId: number;
  /** Live entries that arrived during the replay; `undefined` once live. */
  private held: ChangeFrame[] | undefined = [];
  private heldBytes = 0;

  constructor(
    readonly res: ServerResponse,
    readonly projectId: string,
    /** Who opened it (`Principal.id`): streams are counted per principal. */
    readonly principalId: string,
    /** The request's `Authorization` and `Cookie`, checked again while the stream is open. */
    readonly credentials: IncomingHttpHeaders,
    after: number,
    /** Past this many bytes waiting to be sent (or held), the client is too slow and is cut off. */
    private readonly maxBuffered: number,
  ) {
    this.lastId = after;
  }

  get closed(): boolean {
    const { res } = this;
    return res.destroyed || res.writableEnded || res.socket === null || res.socket.destroyed;
  }

  /** A live entry: held during the replay, sent after it. */
  deliver(frame: ChangeFrame): void {
    if (this.held === undefined) {
      this.send(frame);
      return;
    }
    this.held.push(frame);
    this.heldBytes += frame.text.length;
    if (this.heldBytes > this.maxBuffered) this.res.destroy();
  }

  /** Sends the entry unless it was sent already; `false` when the stream is gone. */
  send(frame: ChangeFrame): boolean {
    if (frame.id <= this.lastId) return !this.closed;
    if (!this.write(frame.text)) return false;
    this.lastId = frame.id;
    return true;
  }

  /**
   * Ends the replay at `upTo` (every entry of the project up to it has been sent), then sends
   * what was held. A bare `id:` moves the client's Last-Event-ID there, so a reconnection does
   * not replay entries of other projects it was never going to get.
   */
  goLive(upTo: number): void {
    if (upTo > this.lastId && this.write(`id: ${upTo}\n\n`)) this.lastId = upTo;
    const held = this.held ?? [];
    this.held = undefined;
    this.heldBytes = 0;
    for (const frame of held) if (!this.send(frame)) return;
  }

  /** Writes unless the client has fallen too far behind; `false` when it was (or now is) cut off. */
  write(text: string): boolean {
    if (this.closed) return false;
    if (this.res.writableLength > this.maxBuffered) {
      this.res.destroy();
      return false;
    }
    this.res.write(text);
    return true;
  }

  /** Resolves once the client has read what is buffered (or is gone): the replay's pace. */
  async drained(highWater: number): Promise<void> {
    if (this.closed || this.res.writableLength <= highWater) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}
