import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../../db/database.js';
import type { ChangePath, DeliveryObserver } from '../delivery/delivery.js';
import type { EventsObserver } from '../events/routes.js';

/** What the collect-time gauges read when Prometheus scrapes. */
export interface TelemetrySources {
  /** Open SSE streams per environment. */
  streams(): Map<string, number>;
  /** Absent for the embedded database, which has no pool. */
  pool: (() => PoolStats) | undefined;
  /** Absent without Redis (one instance). */
  redis: (() => Record<string, boolean>) | undefined;
}

const PATHS: readonly ChangePath[] = ['commit', 'bus', 'reconcile'];
const EVENT_KINDS = ['evaluations', 'events', 'exposures'] as const;
const DROP_REASONS = ['busy', 'duplicate'] as const;

/**
 * One server's Prometheus metrics, in a registry of its own rather than prom-client's global
 * one, so that several servers in one process (tests, benchmarks) each report only their own.
 * Domains never import it: each is handed the observer it reports to.
 */
export class Telemetry {
  readonly registry = new Registry();
  readonly delivery: DeliveryObserver;
  readonly events: EventsObserver;
  private readonly requests: Histogram<'method' | 'route' | 'status_code'>;

  /**
   * `processMetrics` adds prom-client's process and Node.js series (CPU, memory, event-loop
   * delay, GC). Off by default: they start monitors that live as long as the process, which a
   * process building many servers (the tests) must not accumulate.
   */
  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });

    this.requests = new Histogram({
      name: 'switchyard_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status, until the response was sent (SSE streams excluded: they last for hours).',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    const lag = new Histogram({
      name: 'switchyard_fanout_lag_seconds',
      help: "From a change's commit (Postgres's clock) until this instance applied it and sent it to its streams, by how the change reached the instance (commit: its own write; bus: another instance's, through Redis; reconcile: found by reconciliation).",
      labelNames: ['path'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const catchUps = new Counter({
      name: 'switchyard_reconcile_catchups_total',
      help: 'Times reconciliation found an environment behind Postgres and brought it up to date: changes the bus did not deliver.',
      registers,
    });
    for (const path of PATHS) lag.zero({ path });
    this.delivery = {
      applied: (path, lagMs) => lag.observe({ path }, lagMs / 1000),
      caughtUp: () => catchUps.inc(),
    };

    const ingested = new Counter({
      name: 'switchyard_events_ingested_total',
      help: 'Items of SDK event batches stored, by kind.',
      labelNames: ['kind'],
      registers,
    });
    const dropped = new Counter({
      name: 'switchyard_event_batches_dropped_total',
      help: 'SDK event batches not stored: busy (refused with 429 while ingestion was behind; the SDK sends it again) or duplicate (a retry of a batch already stored).',
      labelNames: ['reason'],
      registers,
    });
    for (const kind of EVENT_KINDS) ingested.inc({ kind }, 0);
    for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
    this.events = {
      ingested: (counts) => {
        for (const kind of EVENT_KINDS) ingested.inc({ kind }, counts[kind]);
      },
      dropped: (reason) => dropped.inc({ reason }),
    };
  }

  /** Adds the gauges read at scrape time. Called once, when the server's parts exist. */
  watch(sources: TelemetrySources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'switchyard_sse_streams_open',
      help: 'SDK streams open on this instance, per environment (project/environment).',
      labelNames: ['environment'],
      registers,
      collect() {
        this.reset();
        for (const [environment, open] of sources.streams()) this.set({ environment }, open);
      },
    });
    const { pool, redis } = sources;
    if (pool !== undefined) {
      const poolGauge = (name: string, help: string, read: (s: PoolStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read(pool()));
          },
        });
      poolGauge(
        'switchyard_db_pool_in_use',
        'Postgres connections checked out by a query or transaction.',
        (s) => s.inUse,
      );
      poolGauge('switchyard_db_pool_idle', 'Postgres connections open and idle in the pool.', (s) => s.idle);
      poolGauge(
        'switchyard_db_pool_waiting',
        'Queries waiting for a Postgres connection (the pool is exhausted while above 0).',
        (s) => s.waiting,
      );
    }
    if (redis !== undefined) {
      new Gauge({
        name: 'switchyard_redis_connected',
        help: "1 while the bus's Redis connection (publish, subscribe) is ready, else 0.",
        labelNames: ['connection'],
        registers,
        collect() {
          for (const [connection, up] of Object.entries(redis())) this.set({ connection }, up ? 1 : 0);
        },
      });
    }
  }

  /** `route` is the route's pattern (`/api/v1/projects/:project`), never the URL: one series per route, not per id. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.requests.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
