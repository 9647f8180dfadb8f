import { createClient, type SwitchyardClient } from '@switchyard/sdk-node';
import { Random } from '../random.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
/** How often the traffic loop wakes to serve the users who arrived since. */
const STEP_MS = 10;

/** What one SDK client served the test users after one change of the watched flag. */
export interface Observation {
  /** `Date.now()` when the change event fired, before anything was evaluated. */
  readonly at: number;
  /** Test users served the released variant. */
  readonly onVariant: number;
  /** Test users served the variant at the client's previous observation and not at this one. */
  readonly lost: number;
}

/** Per variant: users served it, and those of them who reported an error. */
export type Served = Map<string, { users: number; errors: number }>;

export interface TrafficPlan {
  readonly flag: string;
  /** The share of each variant's users who report an error. */
  readonly errorRate: Readonly<Record<string, number>>;
  readonly usersPerSecond: number;
  /** Every client sends its batch this often, as `flushIntervalMs` would have it. */
  readonly flushMs: number;
  /** Checked after every flush round: the traffic stops once it says so. */
  readonly afterFlush: (round: FlushRound) => Promise<boolean>;
}

export interface FlushRound {
  /** When the round's batches were sent. */
  readonly sentAt: number;
  /** When the first client's batch was acknowledged: the server stores a batch before it answers. */
  readonly firstStoredAt: number;
}

/**
 * Node SDK clients as an application's processes would run them: each follows the server over
 * SSE, serves the users that reach it, reports their exposures and `error` events through the
 * real events endpoint, and is watched through its `change` listener.
 */
export class Fleet {
  private watched: { flag: string; value: string; seen: Observation[][]; had: Set<string>[] } | undefined;
  private userCount = 0;

  private constructor(
    readonly clients: readonly SwitchyardClient[],
    private readonly testUsers: readonly string[],
    private readonly random: Random,
  ) {
    for (const [i, client] of clients.entries()) {
      client.on('change', ({ flags }) => {
        if (this.watched !== undefined && flags.includes(this.watched.flag)) this.observe(i);
      });
    }
  }

  static async open(o: { baseUrl: string; sdkKey: string; clients: number; testUsers: number }): Promise<Fleet> {
    const clients = Array.from({ length: o.clients }, () =>
      // Batches leave when the traffic loop flushes them, so that it knows when each was stored.
      createClient({ sdkKey: o.sdkKey, baseUrl: o.baseUrl, logger: silent, flushIntervalMs: 3_600_000 }),
    );
    await Promise.all(clients.map((c) => c.waitForReady({ timeout: 10_000 })));
    const testUsers = Array.from({ length: o.testUsers }, (_, i) => `test-user-${i}`);
    return new Fleet(clients, testUsers, new Random(0x5e1ea5e));
  }

  /**
   * Starts recording, per client, how many test users each change of `flag` leaves on `value`.
   * The test users are evaluated with `allFlags`, which sends no exposure: watching adds
   * nothing to the data the guards judge.
   */
  watch(flag: string, value: string): void {
    this.watched = {
      flag,
      value,
      seen: this.clients.map(() => []),
      had: this.clients.map(() => new Set()),
    };
    for (const i of this.clients.keys()) this.observe(i);
  }

  get testUserCount(): number {
    return this.testUsers.length;
  }

  /** What each client served the test users after each change since `watch`. */
  observations(): readonly (readonly Observation[])[] {
    return this.watched?.seen ?? [];
  }

  private observe(i: number): void {
    const at = Date.now();
    const w = this.watched;
    const client = this.clients[i];
    if (w === undefined || client === undefined) return;
    const now = new Set<string>();
    for (const key of this.testUsers) if (client.allFlags({ key })[w.flag] === w.value) now.add(key);
    const before = w.had[i] as Set<string>;
    let lost = 0;
    for (const key of before) if (!now.has(key)) lost++;
    w.had[i] = now;
    (w.seen[i] as Observation[]).push({ at, onVariant: now.size, lost });
  }

  /**
   * New users arrive at `usersPerSecond`, each served once by the next client in turn, and
   * report an error at their variant's rate; every `flushMs` all clients send their batches.
   * Runs until `afterFlush` says stop, and answers what was served.
   */
  async drive(plan: TrafficPlan): Promise<Served> {
    const served: Served = new Map();
    let last = Date.now();
    let owed = 0;
    let nextFlush = last + plan.flushMs;
    for (;;) {
      const now = Date.now();
      owed += ((now - last) * plan.usersPerSecond) / 1000;
      last = now;
      for (; owed >= 1; owed--) this.serveOne(plan, served);
      if (now >= nextFlush) {
        nextFlush = now + plan.flushMs;
        const sentAt = Date.now();
        const stored = await Promise.all(this.clients.map((c) => c.flush().then(() => Date.now())));
        if (await plan.afterFlush({ sentAt, firstStoredAt: Math.min(...stored) })) return served;
      }
      await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    }
  }

  private serveOne(plan: TrafficPlan, served: Served): void {
    const n = this.userCount++;
    const client = this.clients[n % this.clients.length] as SwitchyardClient;
    const context = { key: `user-${n}` };
    const variant = client.getString(plan.flag, context, 'default');
    const errored = this.random.chance(plan.errorRate[variant] ?? 0);
    if (errored) client.track('error', context);
    const counts = served.get(variant) ?? { users: 0, errors: 0 };
    counts.users++;
    if (errored) counts.errors++;
    served.set(variant, counts);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
