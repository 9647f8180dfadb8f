/**
 * Bounds the batches being stored at once, and those waiting for their turn. Inserts beyond
 * `maxInFlight` would only queue inside the connection pool, where they would also delay the
 * management API's writes; batches beyond `maxWaiting` are refused (429), so a client backs off
 * instead of the server holding ever more parsed batches in memory.
 */
export class IngestGate {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxInFlight: number,
    private readonly maxWaiting: number,
  ) {}

  /** Whether a batch arriving now would be refused. */
  get full(): boolean {
    return this.inFlight >= this.maxInFlight && this.waiting.length >= this.maxWaiting;
  }

  /** Runs `store` in its turn; `undefined`, without running it, when the gate is full. */
  async run<T>(store: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.inFlight >= this.maxInFlight) {
      if (this.waiting.length >= this.maxWaiting) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.inFlight++;
    }
    try {
      return { value: await store() };
    } finally {
      // The slot passes straight to the next waiter, so inFlight stays counted for it.
      const next = this.waiting.shift();
      if (next === undefined) this.inFlight--;
      else next();
    }
  }
}
