import type { Db } from '../../db/database.js';
import { type KeyChange, keysChangedSince } from '../keys/service.js';
import type { Delivery } from './delivery.js';
import type { SdkKeyCache } from './sdk-keys.js';

export interface KeyCheckOptions {
  db: Db;
  keys: SdkKeyCache;
  delivery: Delivery;
  /** How often Postgres is asked which keys changed (`SWITCHYARD_KEY_CHECK_MS`). */
  intervalMs: number;
  onError: (err: unknown) => void;
}

/**
 * Makes a key's revocation, expiry or rotation felt on this instance within `intervalMs`,
 * whichever instance made it: polls Postgres for keys that changed, evicts them from the SDK
 * key cache and closes the streams they may no longer hold. Polling needs no bus, so it holds
 * while Redis is down; a poll is one indexed query on a table of keys.
 */
export class KeyCheck {
  private since: string | undefined;
  /** The last change acted on per key, so a change seen again in the overlap is not acted on twice. */
  private seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: KeyCheckOptions) {}

  /** The first poll only takes the database's clock: keys changed before are not in any cache yet. */
  async start(): Promise<void> {
    await this.check();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** One poll. A failure is reported, and the next poll asks again from the same point. */
  async check(): Promise<void> {
    try {
      const { now, changes } = await keysChangedSince(this.options.db, this.since);
      const seen = new Map<string, string>();
      for (const change of changes) {
        const stamp = `${change.stamp}|${change.invalid}|${change.previousOver}`;
        this.apply(change, this.seen.get(change.id) !== stamp);
        seen.set(change.id, stamp);
      }
      this.seen = seen;
      this.since = now;
    } catch (err) {
      this.options.onError(err);
    }
  }

  /**
   * A key no longer valid is evicted and its streams closed at every poll that reports it, not
   * only the first: a request that had authenticated just before the revocation may have
   * cached the key or attached its stream since.
   */
  private apply(change: KeyChange, isNew: boolean): void {
    const { keys, delivery } = this.options;
    if (change.invalid) {
      keys.evict(change.id);
      delivery.closeStreamsOf(change.id);
      return;
    }
    if (!isNew) return;
    keys.evict(change.id);
    if (change.previousOver) delivery.closeStreamsOf(change.id, 'previous secret');
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.check();
      this.schedule();
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
