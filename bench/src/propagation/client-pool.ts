import { Worker } from 'node:worker_threads';
import type { FromClientThread, StreamTarget, ToClientThread, VersionReport } from './client-protocol.js';
import type { ClientKind } from './streams.js';

export interface ClientPoolOptions {
  /** Server ports; streams are spread evenly over them. */
  readonly ports: readonly number[];
  readonly streams: number;
  readonly threads: number;
  readonly client: ClientKind;
  readonly token: string;
  readonly batchSize: number;
  /** Longest wait for one stream's `put`. */
  readonly openTimeoutMs: number;
  /** Longest wait for a thread to have all its streams open. */
  readonly openAllTimeoutMs: number;
}

/** When every stream of every thread had one version's patch. */
export interface Delivered {
  readonly firstAt: number;
  readonly lastAt: number;
  readonly enabled: boolean | undefined;
  readonly bytes: number | undefined;
}

interface Waiter {
  readonly resolve: (d: Delivered) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** SSE streams held by worker threads, so that the main thread's timing of the API stays clean. */
export class ClientPool {
  private readonly reports = new Map<number, VersionReport[]>();
  private readonly waiters = new Map<number, Waiter>();
  private failure: Error | undefined;

  private constructor(private readonly workers: readonly Worker[]) {
    for (const w of workers) {
      w.on('message', (m: FromClientThread) => this.onMessage(m));
      w.on('error', (err) => this.onFailure(new Error(`client thread crashed: ${err.message}`)));
    }
  }

  /** Starts the threads and opens every stream; resolves when all of them got their `put`. */
  static async open(options: ClientPoolOptions): Promise<ClientPool> {
    // Stream i goes to server i mod ports; each server's streams are split over the threads.
    const perThread: StreamTarget[][] = Array.from({ length: Math.max(1, options.threads) }, (_, w) =>
      options.ports
        .map((port, p) => ({
          port,
          count: countOf(countOf(options.streams, options.ports.length, p), options.threads, w),
        }))
        .filter((t) => t.count > 0),
    );
    const targets = perThread.filter((t) => t.length > 0);
    const workers = targets.map(() => new Worker(new URL('./client-thread.js', import.meta.url)));
    const pool = new ClientPool(workers);
    try {
      await Promise.all(
        workers.map((w, i) =>
          pool.expect(w, 'opened', options.openAllTimeoutMs, {
            type: 'open',
            client: options.client,
            targets: targets[i] ?? [],
            token: options.token,
            batchSize: Math.max(1, Math.ceil(options.batchSize / workers.length)),
            timeoutMs: options.openTimeoutMs,
          }),
        ),
      );
      return pool;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** Resolves when every stream has the patch of `version` (reports that came early count). */
  delivered(version: number, timeoutMs: number): Promise<Delivered> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const ready = this.take(version);
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(version);
        const got = this.reports.get(version)?.length ?? 0;
        reject(
          new Error(`version ${version} reached ${got} of ${this.workers.length} client threads in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiters.set(version, { resolve, reject, timer });
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => this.expect(w, 'closed', 5000, { type: 'close' })));
    await Promise.allSettled(this.workers.map((w) => w.terminate()));
    for (const [version, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`the clients closed before version ${version} arrived`));
    }
    this.waiters.clear();
  }

  private onMessage(m: FromClientThread): void {
    if (m.type === 'failed') {
      this.onFailure(new Error(m.message));
      return;
    }
    if (m.type !== 'version') return;
    const list = this.reports.get(m.version) ?? [];
    list.push(m);
    this.reports.set(m.version, list);
    const waiter = this.waiters.get(m.version);
    const ready = waiter === undefined ? undefined : this.take(m.version);
    if (waiter !== undefined && ready !== undefined) {
      clearTimeout(waiter.timer);
      this.waiters.delete(m.version);
      waiter.resolve(ready);
    }
  }

  private onFailure(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
  }

  /** The combined report of `version` once every thread sent one. */
  private take(version: number): Delivered | undefined {
    const list = this.reports.get(version);
    if (list === undefined || list.length < this.workers.length) return undefined;
    this.reports.delete(version);
    return {
      firstAt: Math.min(...list.map((r) => r.firstAt)),
      lastAt: Math.max(...list.map((r) => r.lastAt)),
      enabled: list.find((r) => r.enabled !== undefined)?.enabled,
      bytes: list.find((r) => r.bytes !== undefined)?.bytes,
    };
  }

  /** Sends `command` to one thread and waits for its answer of type `type` (or a failure). */
  private expect(worker: Worker, type: 'opened' | 'closed', timeoutMs: number, command: ToClientThread) {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`a client thread did not answer "${type}" in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (m: FromClientThread) => {
        if (m.type === type) done();
        else if (m.type === 'failed') done(new Error(m.message));
      };
      const onExit = () => done(new Error('a client thread exited'));
      const done = (err?: Error) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        if (err === undefined) resolve();
        else reject(err);
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.postMessage(command);
    });
  }
}

/** The size of share `index` when `total` is split into `parts` shares as evenly as possible. */
function countOf(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}
