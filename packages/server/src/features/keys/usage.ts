import type { Db } from '../../db/database.js';

/**
 * Collects which credentials (SDK and admin keys, personal tokens) authenticated requests and
 * writes their `last_used_at` every `intervalMs` with `mark`, one statement per batch: a key
 * used ten thousand times a second costs one write per interval, not one per request.
 */
export class UsageBatch {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly mark: (db: Db, ids: string[], at: Date) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  record(id: string): void {
    this.pending.add(id);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes what was recorded so far; a failed write is kept for the next one. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const ids = [...this.pending];
      this.pending = new Set();
      try {
        await this.mark(this.db, ids, new Date());
      } catch (err) {
        for (const id of ids) this.pending.add(id);
        this.onError(err);
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.flush();
  }
}
