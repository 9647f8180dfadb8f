import type { EventPartitions } from './partitions.js';

export interface EventRetentionOptions {
  partitions: EventPartitions;
  /** How often partitions are created ahead and expired ones dropped. */
  intervalMs: number;
  onError: (err: unknown) => void;
}

/**
 * Keeps the event tables' partitions: creates the coming days' ahead of time and drops those
 * past the retention period, at start and then every `intervalMs`. Every instance runs it;
 * both steps are idempotent, and creation is serialised by a Postgres advisory lock.
 */
export class EventRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<string[]> | undefined;

  constructor(private readonly options: EventRetentionOptions) {}

  /**
   * Starts the first pass without waiting for it: a server starts as fast without it, and
   * ingestion does not depend on it (it creates the partitions it needs, and the default ones
   * take the rest). A failure is reported, never thrown: a server whose database is down must
   * still start, and say so on /readyz.
   */
  start(): void {
    this.runOnce().catch(this.options.onError);
    this.timer = setInterval(() => {
      this.runOnce().catch(this.options.onError);
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Waits for a run in progress, so that nothing touches the database after it is closed. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass: the partitions ahead, then the expired ones dropped; returns the dropped names. */
  runOnce(): Promise<string[]> {
    const { partitions } = this.options;
    this.running ??= (async () => {
      try {
        await partitions.ensureAhead();
        return await partitions.dropExpired();
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
