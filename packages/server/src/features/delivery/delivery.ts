import type { Patch } from '@switchyard/core';
import type { Db } from '../../db/database.js';
import type { ChangeFeed, CommittedVersion } from '../changes/change-feed.js';
import { revokedAmong } from '../keys/service.js';
import { environmentVersions, loadChanges, loadEnvironment } from '../rulesets/read-model.js';
import type { ChangeBus } from './bus.js';
import { EnvironmentState, type View } from './environment-state.js';
import { PreframedChunk } from './preframed-chunk.js';
import { HEARTBEAT, patchEvents, putEvent, type SseStream } from './sse-stream.js';

export interface DeliveryOptions {
  db: Db;
  /** This instance's commits, announced by the write path. */
  feed: ChangeFeed;
  /** Other instances' commits. */
  bus: ChangeBus;
  /** How often versions are compared with Postgres, catching any message the bus lost. */
  reconcileIntervalMs: number;
  heartbeatIntervalMs: number;
  onError: (err: unknown, context: string) => void;
  observer?: DeliveryObserver;
}

/** How a change reached this instance: its own commit, the bus, or reconciliation with Postgres. */
export type ChangePath = 'commit' | 'bus' | 'reconcile';

/** What delivery reports for operators (the server's telemetry implements it). */
export interface DeliveryObserver {
  /**
   * Committed changes were applied and sent to this instance's streams, `lagMs` after the
   * oldest of them was written (by Postgres's clock).
   */
  applied(path: ChangePath, lagMs: number): void;
  /** Reconciliation found an environment behind Postgres: a change the bus did not bring. */
  caughtUp(): void;
}

const UNOBSERVED: DeliveryObserver = { applied: () => undefined, caughtUp: () => undefined };

/**
 * Streams written to before a broadcast or a heartbeat lets other work run (an API request, a
 * new stream's `put`): a few milliseconds of writes. Large enough that the yields cost nothing
 * measurable (bench/RESULTS.md, "Propagation").
 */
const WRITE_SLICE = 2000;

/** An environment's open streams, by view: a broadcast writes one chunk to each set. */
type Streams = Record<View, Set<SseStream>>;

/**
 * Keeps every environment's ruleset in memory and every SDK stream current. Changes arrive
 * three ways: this instance's own commits, the bus (other instances' commits), and the
 * reconciliation timer; all three only say "environment E is at version V", and the one
 * refresh queue per environment loads what changed from Postgres and pushes it, in order.
 */
export class Delivery {
  private readonly states = new Map<string, EnvironmentState>();
  private readonly subscribers = new Map<string, Streams>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopListening: (() => void) | undefined;
  private closed = false;
  private readonly observer: DeliveryObserver;

  constructor(private readonly options: DeliveryOptions) {
    this.observer = options.observer ?? UNOBSERVED;
  }

  /** Loads every environment, then follows changes. SDK reads are served from memory from here on. */
  async start(): Promise<void> {
    const { feed, bus } = this.options;
    this.stopListening = feed.subscribe((committed) => {
      for (const c of committed) {
        bus.publish(c);
        void this.refresh(c.environmentId, c.version, 'commit');
      }
    });
    bus.subscribe(
      (m: CommittedVersion) => void this.refresh(m.environmentId, m.version, 'bus'),
      () => void this.reconcile(),
    );
    await this.reconcile();
    this.timers.push(setInterval(() => void this.reconcile(), this.options.reconcileIntervalMs).unref());
    this.timers.push(setInterval(() => void this.heartbeat(), this.options.heartbeatIntervalMs).unref());
  }

  /** The environment's state, loading it first when this instance does not know it yet. */
  async state(environmentId: string): Promise<EnvironmentState | undefined> {
    const known = this.states.get(environmentId);
    if (known !== undefined) return known;
    // The caller answers the SDK: a load that failed (Postgres down) must reach it as a failure,
    // not as "no such environment", which an SDK would take for a deleted one.
    let failure: unknown;
    await this.enqueue(environmentId, async () => {
      if (this.states.has(environmentId)) return;
      try {
        await this.load(environmentId);
      } catch (err) {
        failure = err;
      }
    });
    if (failure !== undefined) throw failure;
    return this.states.get(environmentId);
  }

  /**
   * Registers a stream and sends it what it lacks: the patches after `lastEventId` when the
   * ring still holds them, else a fresh `put`. Runs on the refresh queue, so no patch can slip
   * in between what the stream is sent now and what it is sent next.
   */
  async attach(
    environmentId: string,
    view: View,
    stream: SseStream,
    lastEventId: number | undefined,
  ): Promise<boolean> {
    let attached = false;
    await this.enqueue(environmentId, async () => {
      const state = this.states.get(environmentId) ?? (await this.load(environmentId));
      if (state === undefined || this.closed) return;
      const missed = lastEventId === undefined ? undefined : state.patchesSince(view, lastEventId);
      const first = missed === undefined ? putEvent(state.version, state.body(view).json) : patchEvents(missed);
      if (first !== '' && !stream.send(first)) return;
      let streams = this.subscribers.get(environmentId);
      if (streams === undefined) {
        streams = { server: new Set(), client: new Set() };
        this.subscribers.set(environmentId, streams);
      }
      const set = streams[view];
      set.add(stream);
      stream.onClose(() => set.delete(stream));
      attached = true;
    });
    return attached;
  }

  /** How many streams are open, per environment this instance serves (`project/environment`), zeros included. */
  streamsByEnvironment(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [id, state] of this.states) {
      const streams = this.subscribers.get(id);
      counts.set(state.name, streams === undefined ? 0 : streams.server.size + streams.client.size);
    }
    return counts;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    for (const t of this.timers) clearInterval(t);
    for (const set of this.allSets()) for (const stream of set) stream.end();
    this.subscribers.clear();
    await Promise.allSettled([...this.queues.values()]);
  }

  /** Compares every environment's version with Postgres and refreshes what is behind. */
  async reconcile(): Promise<void> {
    if (this.closed) return;
    try {
      const versions = await environmentVersions(this.options.db);
      const work: Promise<void>[] = [];
      for (const [id, version] of versions) {
        const state = this.states.get(id);
        if (state === undefined || state.version < version) work.push(this.refresh(id, version, 'reconcile'));
      }
      for (const id of this.states.keys()) if (!versions.has(id)) work.push(this.refresh(id, 0, 'reconcile'));
      await Promise.all(work);
      await this.closeRevoked();
    } catch (err) {
      this.options.onError(err, 'reconcile');
    }
  }

  /**
   * Ends the open streams of a key (revoked or expired), or only those opened with the secret
   * its rotation replaced once that secret's grace period is over. Its SDKs reconnect and are
   * refused, or come back with the new secret.
   */
  closeStreamsOf(keyId: string, which: 'all' | 'previous secret' = 'all'): number {
    let closed = 0;
    for (const set of this.allSets()) {
      for (const stream of set) {
        if (stream.keyId !== keyId || (which === 'previous secret' && !stream.previousSecret)) continue;
        stream.end();
        set.delete(stream);
        closed++;
      }
    }
    return closed;
  }

  /** Ends the streams of keys revoked or expired since they connected (on any instance): the key check's safety net. */
  private async closeRevoked(): Promise<void> {
    const keyIds = new Set<string>();
    for (const set of this.allSets()) for (const stream of set) keyIds.add(stream.keyId);
    const revoked = new Set(await revokedAmong(this.options.db, [...keyIds]));
    if (revoked.size === 0) return;
    for (const set of this.allSets()) {
      for (const stream of set) {
        if (!revoked.has(stream.keyId)) continue;
        stream.end();
        set.delete(stream);
      }
    }
  }

  /**
   * Brings one environment to at least `version` (0: whatever it is now). `path` says who asked:
   * 'reconcile' is any read of Postgres on this instance's own initiative.
   */
  refresh(environmentId: string, version: number, path: ChangePath = 'reconcile'): Promise<void> {
    return this.enqueue(environmentId, async () => {
      const state = this.states.get(environmentId);
      if (state === undefined) {
        await this.load(environmentId);
        return;
      }
      if (version !== 0 && version <= state.version) return;
      const batch = await loadChanges(this.options.db, environmentId, state.version);
      if (batch === undefined) {
        this.drop(environmentId);
        return;
      }
      if (batch.version <= state.version) return;
      await this.broadcast(environmentId, state.apply(batch));
      // Only a refresh that found something new counts: the others lost the race to an earlier one.
      if (path === 'reconcile') this.observer.caughtUp();
      if (batch.oldestAt !== undefined) this.observer.applied(path, Math.max(0, Date.now() - batch.oldestAt));
    });
  }

  private async load(environmentId: string): Promise<EnvironmentState | undefined> {
    const snapshot = await loadEnvironment(this.options.db, environmentId);
    if (snapshot === undefined) return undefined;
    const state = new EnvironmentState(snapshot);
    this.states.set(environmentId, state);
    return state;
  }

  private drop(environmentId: string): void {
    this.states.delete(environmentId);
    const streams = this.subscribers.get(environmentId);
    if (streams !== undefined) for (const set of [streams.server, streams.client]) for (const s of set) s.end();
    this.subscribers.delete(environmentId);
  }

  private *allSets(): Iterable<Set<SseStream>> {
    for (const streams of this.subscribers.values()) {
      yield streams.server;
      yield streams.client;
    }
  }

  /**
   * Each view's patches, encoded and framed once, to every stream of that view. It runs on the
   * environment's refresh queue, which it holds until the last write: the next version's
   * patches, and any new stream's first event, wait for it, so every stream gets every version
   * in order even though other work runs between the slices.
   */
  private async broadcast(environmentId: string, patches: Record<View, Patch[]>): Promise<void> {
    const streams = this.subscribers.get(environmentId);
    if (streams === undefined) return;
    for (const view of ['server', 'client'] as const) {
      const set = streams[view];
      if (set.size === 0 || patches[view].length === 0) continue;
      await this.writeAll(set, new PreframedChunk(patchEvents(patches[view])));
    }
  }

  /**
   * A comment to every stream, a slice at a time like a broadcast. It does not queue behind
   * the broadcasts: a comment between two patches changes nothing for the client.
   */
  private async heartbeat(): Promise<void> {
    for (const set of [...this.allSets()]) await this.writeAll(set, HEARTBEAT);
  }

  /**
   * Writes one chunk to every stream of `set`, yielding to the event loop every `WRITE_SLICE`
   * streams; a stream that was cut off leaves the set. Streams that join or leave meanwhile are
   * handled by the Set's iteration (a stream added during it is visited; the refresh queue
   * keeps new streams out during a broadcast anyway).
   */
  private async writeAll(set: Set<SseStream>, chunk: PreframedChunk): Promise<void> {
    let written = 0;
    for (const stream of set) {
      if (!stream.send(chunk)) set.delete(stream);
      if (++written % WRITE_SLICE === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.closed) return;
      }
    }
  }

  /** Runs `task` after every earlier task of the same environment; a failure is reported, not propagated. */
  private enqueue(environmentId: string, task: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(environmentId) ?? Promise.resolve();
    const next = previous.then(task).catch((err: unknown) => this.options.onError(err, `refresh ${environmentId}`));
    this.queues.set(environmentId, next);
    void next.then(() => {
      if (this.queues.get(environmentId) === next) this.queues.delete(environmentId);
    });
    return next;
  }
}
