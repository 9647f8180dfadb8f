/**
 * A worker thread holding SSE streams, as many SDKs would. For each environment version it
 * notes when each of its streams received the patch (the time the chunk came off the socket,
 * before parsing) and tells the main thread once every stream has it.
 */
import { parentPort } from 'node:worker_threads';
import type { FromClientThread, OpenCommand, StreamTarget, ToClientThread } from './client-protocol.js';
import { type ClientKind, type HeldStream, openStream } from './streams.js';

const port = parentPort;
if (port === null) throw new Error('client-thread.js runs as a worker thread');

const post = (message: FromClientThread) => port.postMessage(message);

const streams: HeldStream[] = [];
let closing = false;
let failed = false;

interface Progress {
  count: number;
  firstAt: number;
  lastAt: number;
  enabled: boolean | undefined;
  bytes: number | undefined;
}
const progress = new Map<number, Progress>();

function fail(message: string): void {
  if (closing || failed) return;
  failed = true;
  post({ type: 'failed', message });
}

function received(version: number, at: number, inspected: Inspected | undefined): void {
  let p = progress.get(version);
  if (p === undefined) {
    p = { count: 0, firstAt: at, lastAt: at, enabled: undefined, bytes: undefined };
    progress.set(version, p);
  }
  p.count++;
  if (at < p.firstAt) p.firstAt = at;
  if (at > p.lastAt) p.lastAt = at;
  if (inspected !== undefined) {
    p.enabled = inspected.enabled;
    p.bytes = inspected.bytes;
  }
  if (p.count === streams.length) {
    progress.delete(version);
    post({ type: 'version', version, firstAt: p.firstAt, lastAt: p.lastAt, enabled: p.enabled, bytes: p.bytes });
  }
}

interface Inspected {
  /** `enabled` of the flag the patch carries; `undefined` when the patch is not about a flag. */
  readonly enabled: boolean | undefined;
  /** Bytes of the event's data, for the floor to write a chunk of the same size. */
  readonly bytes: number;
}

function inspect(data: string, kind: ClientKind): Inspected {
  // The socket reader hands over latin1 text: re-decode it as the UTF-8 it was sent as.
  const json = kind === 'socket' ? Buffer.from(data, 'latin1').toString('utf8') : data;
  const patch = JSON.parse(json) as { kind?: string; value?: { enabled?: unknown } | null };
  const enabled = patch.kind === 'flag' && typeof patch.value?.enabled === 'boolean' ? patch.value.enabled : undefined;
  return { enabled, bytes: Buffer.byteLength(json) };
}

/** Opens one stream; resolves once its `put` arrived, so the server has registered it. */
function openOne(command: OpenCommand, target: number, inspected: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const stream = openStream(command.client, target, command.token, {
      onEvent(event, receivedAt) {
        if (event.event === 'patch') {
          received(Number(event.lastEventId), receivedAt, inspected ? inspect(event.data, command.client) : undefined);
        } else if (event.event === 'put' && !ready) {
          ready = true;
          clearTimeout(timer);
          streams.push(stream);
          resolve();
        }
      },
      onEnd(err) {
        clearTimeout(timer);
        if (ready) fail(`a stream to port ${target} ended: ${err.message}`);
        else reject(err);
      },
    });
    const timer = setTimeout(() => {
      stream.close();
      reject(new Error(`no put within ${command.timeoutMs} ms`));
    }, command.timeoutMs);
  });
}

async function open(command: OpenCommand): Promise<void> {
  // Streams are interleaved across the targets, so every server fills up at the same pace.
  const queue: number[] = [];
  const remaining = command.targets.map((t: StreamTarget) => ({ ...t }));
  for (let more = true; more; ) {
    more = false;
    for (const t of remaining) {
      if (t.count === 0) continue;
      queue.push(t.port);
      t.count--;
      more = true;
    }
  }
  for (let i = 0; i < queue.length; i += command.batchSize) {
    const batch = queue.slice(i, i + command.batchSize);
    await Promise.all(batch.map((target, j) => openOne(command, target, i + j === 0)));
  }
  post({ type: 'opened', count: streams.length });
}

port.on('message', (message: ToClientThread) => {
  if (message.type === 'open') {
    open(message).catch((err: unknown) => fail(`opening streams: ${err instanceof Error ? err.message : err}`));
  } else {
    closing = true;
    for (const stream of streams) stream.close();
    streams.length = 0;
    post({ type: 'closed' });
  }
});
