import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import pg from 'pg';
import { createBenchDatabase } from '../propagation/database.js';
import { startServer } from '../propagation/server-process.js';
import { Random } from '../random.js';
import type { Section } from '../report.js';
import { table } from '../report.js';

export interface EventsOptions {
  /** Postgres server on which the run creates (and drops) its own database. */
  readonly databaseUrl: string;
  /** How long batches are sent, after a warm-up of `warmupSeconds`. */
  readonly ingestSeconds: number;
  readonly warmupSeconds: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Exposed units per results scenario. */
  readonly units: readonly number[];
  /** Timed results queries per scenario, after two untimed ones. */
  readonly resultRuns: number;
}

const ADMIN_TOKEN = `sy_admin_bench_${randomBytes(12).toString('hex')}`;
/** Per batch: exposures and track events, each counted as one event. */
const BATCH_EXPOSURES = 1000;
const BATCH_TRACKS = 4000;
const INGEST_BUDGET = 50_000;
const RESULTS_BUDGET_MS = 500;
/** In the results scenarios: share of units that buy, per variant, and purchases per buyer (1 to 3). */
const BUY_RATE = { control: 0.1, treatment: 0.11 };

interface Answer {
  status: number;
  body: string;
  retryAfter: string | undefined;
}

function send(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  token: string,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            retryAfter: res.headers['retry-after'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One batch as an SDK sends it: new units exposed, and purchases and page views of earlier ones. */
function batchBody(n: number, random: Random): string {
  const now = Date.now();
  const exposures = Array.from({ length: BATCH_EXPOSURES }, (_, i) => ({
    flag: 'bench-ingest',
    variant: random.chance(0.5) ? 'control' : 'treatment',
    key: `ingest-${n}-${i}`,
    timestamp: now - random.int(0, 60_000),
  }));
  const events = Array.from({ length: BATCH_TRACKS }, (_, i) => ({
    event: random.chance(0.2) ? 'purchase' : 'page-view',
    key: `ingest-${n}-${i % BATCH_EXPOSURES}`,
    value: random.int(100, 10_000) / 100,
    timestamp: now - random.int(0, 60_000),
  }));
  return JSON.stringify({ id: `bench-${n}`, window: { start: now - 60_000, end: now }, exposures, events });
}

interface IngestResult {
  events: number;
  seconds: number;
  batches: number;
  refused: number;
  latenciesMs: number[];
}

async function ingest(
  port: number,
  sdkKey: string,
  options: EventsOptions,
  log: (l: string) => void,
): Promise<IngestResult> {
  const random = new Random(0xe7e7);
  // Bodies are made before the clock starts: the bench measures the server, not JSON.stringify.
  const prepared = Math.ceil(((INGEST_BUDGET * 3) / (BATCH_EXPOSURES + BATCH_TRACKS)) * options.ingestSeconds) + 50;
  log(`events: preparing ${prepared} batches of ${BATCH_EXPOSURES + BATCH_TRACKS} events`);
  const bodies = Array.from({ length: prepared }, (_, n) => batchBody(n, random));
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  let next = 0;
  let refused = 0;
  const result: IngestResult = { events: 0, seconds: 0, batches: 0, refused: 0, latenciesMs: [] };
  const run = async (untilMs: number, counted: boolean) => {
    const worker = async () => {
      while (performance.now() < untilMs && next < bodies.length) {
        const body = bodies[next++] as string;
        for (;;) {
          const started = performance.now();
          const answer = await send(agent, port, 'POST', '/sdk/v1/events', sdkKey, body);
          if (answer.status === 429) {
            refused++;
            await new Promise((r) => setTimeout(r, Number(answer.retryAfter ?? '1') * 1000));
            continue;
          }
          if (answer.status !== 202) throw new Error(`events answered ${answer.status}: ${answer.body.slice(0, 300)}`);
          if (counted) {
            result.latenciesMs.push(performance.now() - started);
            result.events += BATCH_EXPOSURES + BATCH_TRACKS;
            result.batches++;
          }
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  };
  await run(performance.now() + options.warmupSeconds * 1000, false);
  const started = performance.now();
  refused = 0;
  await run(started + options.ingestSeconds * 1000, true);
  result.seconds = (performance.now() - started) / 1000;
  result.refused = refused;
  if (next >= bodies.length) log('events: ran out of prepared batches; the rate is a lower bound');
  agent.destroy();
  return result;
}

/**
 * Writes what ingestion would have written for `units` units of flag `flag` (exposures,
 * their units, purchases around exposure, the units' totals), in SQL: loading a million units through the
 * endpoint would time ingestion again, not the results query.
 */
async function loadUnits(client: pg.Client, environmentId: string, flag: string, units: number): Promise<void> {
  const at = `now() - interval '2 hours'`;
  await client.query(
    `insert into exposures (environment_id, flag, variant, context_key, occurred_at)
     select $1, $2, case when i % 2 = 0 then 'control' else 'treatment' end, $2 || '-' || i,
            ${at} + (i % 3600) * interval '1 second'
     from generate_series(1, $3::int) i`,
    [environmentId, flag, units],
  );
  await client.query(
    `insert into exposure_units (environment_id, flag, context_key, variant, first_at, mixed)
     select $1, $2, $2 || '-' || i, case when i % 2 = 0 then 'control' else 'treatment' end,
            ${at} + (i % 3600) * interval '1 second', i % 1000 = 0
     from generate_series(1, $3::int) i`,
    [environmentId, flag, units],
  );
  // Buyers by a hash of the unit, 1 to 3 purchases each, some of them before the exposure.
  await client.query(
    `insert into track_events (environment_id, batch_id, event, context_key, value, occurred_at)
     select $1, 0, 'purchase', $2 || '-' || i, ((i::int8 * 7919) % 10000) / 100.0,
            ${at} + (i % 3600) * interval '1 second' + (p * 600 - 300) * interval '1 second'
     from generate_series(1, $3::int) i, generate_series(1, 1 + (i * 31) % 3) p
     where (hashint4(i) & 1023) < case when i % 2 = 0 then $4::float8 else $5::float8 end * 1024`,
    [environmentId, flag, units, BUY_RATE.control, BUY_RATE.treatment],
  );
  // The per-unit totals ingestion keeps, counted from those rows.
  await client.query(
    `insert into unit_event_totals (environment_id, flag, event, context_key, variant, mixed, events, total)
     select u.environment_id, u.flag, t.event, u.context_key, u.variant, u.mixed, count(*), coalesce(sum(t.value), 0)
     from exposure_units u
     join track_events t on t.environment_id = u.environment_id and t.context_key = u.context_key and t.occurred_at >= u.first_at
     where u.environment_id = $1 and u.flag = $2
     group by u.environment_id, u.flag, t.event, u.context_key, u.variant, u.mixed`,
    [environmentId, flag],
  );
  await client.query('vacuum analyze exposures, exposure_units, track_events, unit_event_totals');
}

interface ResultsScenario {
  units: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  purchases: number;
  status: string;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

export async function runEventsBenchmark(options: EventsOptions, log: (line: string) => void): Promise<Section> {
  const database = await createBenchDatabase(options.databaseUrl);
  const client = new pg.Client({ connectionString: database.url });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    server = await startServer({
      env: { DATABASE_URL: database.url, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' },
      readyTimeoutMs: 60_000,
    });
    const port = server.port;
    const admin = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const api = async (method: string, path: string, body?: unknown) => {
      const answer = await send(
        admin,
        port,
        method,
        path,
        ADMIN_TOKEN,
        body === undefined ? undefined : JSON.stringify(body),
      );
      if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.body}`);
      return JSON.parse(answer.body);
    };
    const key = { name: 'bench', type: 'server', project: 'demo', environment: 'production' };
    const sdkKey = (await api('POST', '/api/v1/keys', key)).token as string;

    log(`events: ingesting for ${options.ingestSeconds} s with ${options.concurrency} requests in flight`);
    const ingested = await ingest(port, sdkKey, options, log);
    const rate = ingested.events / ingested.seconds;
    log(`events: ${Math.round(rate).toLocaleString('en-US')} events/s`);

    await client.connect();
    const env = await client.query<{ id: string }>(
      `select e.id from environments e join projects p on p.id = e.project_id where p.key = 'demo' and e.key = 'production'`,
    );
    const environmentId = env.rows[0]?.id as string;
    await api('POST', '/api/v1/projects/demo/metrics', {
      key: 'revenue',
      event: 'purchase',
      kind: 'mean',
      direction: 'increase',
    });
    const scenarios: ResultsScenario[] = [];
    for (const units of options.units) {
      const flag = `bench-${units}`;
      await api('POST', '/api/v1/projects/demo/flags', {
        key: flag,
        name: flag,
        type: 'string',
        variants: [
          { key: 'control', value: 'control' },
          { key: 'treatment', value: 'treatment' },
        ],
      });
      await api('PATCH', `/api/v1/projects/demo/flags/${flag}/environments/production`, {
        enabled: true,
        offVariant: 'control',
        defaultServe: {
          rollout: {
            weights: [
              { variant: 'control', weight: 50_000 },
              { variant: 'treatment', weight: 50_000 },
            ],
          },
        },
      });
      log(`events: loading ${units.toLocaleString('en-US')} exposed units`);
      await loadUnits(client, environmentId, flag, units);
      const purchases = await client.query<{ n: string }>(
        `select count(*)::text as n from track_events where environment_id = $1 and context_key like $2`,
        [environmentId, `${flag}-%`],
      );
      const path = `/api/v1/projects/demo/flags/${flag}/environments/production/results?metric=revenue`;
      const times: number[] = [];
      let status = '';
      for (let i = 0; i < options.resultRuns + 2; i++) {
        const started = performance.now();
        const body = await api('GET', path);
        const ms = performance.now() - started;
        if (i >= 2) times.push(ms);
        status = body.status;
        const seen = body.variants.reduce((s: number, v: { units: number }) => s + v.units, 0) + body.excludedUnits;
        if (seen !== units) throw new Error(`results counted ${seen} units of ${units}`);
      }
      times.sort((a, b) => a - b);
      scenarios.push({
        units,
        medianMs: percentile(times, 0.5),
        p95Ms: percentile(times, 0.95),
        maxMs: times[times.length - 1] ?? Number.NaN,
        purchases: Number(purchases.rows[0]?.n),
        status,
      });
      log(`events: results for ${units} units, median ${percentile(times, 0.5).toFixed(1)} ms`);
    }
    admin.destroy();
    return render(options, ingested, scenarios);
  } finally {
    await client.end().catch(() => undefined);
    await server?.stop();
    await database.drop();
  }
}

function render(options: EventsOptions, ingested: IngestResult, scenarios: readonly ResultsScenario[]): Section {
  const rate = ingested.events / ingested.seconds;
  const lat = [...ingested.latenciesMs].sort((a, b) => a - b);
  const ms = (n: number) => (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
  const count = (n: number) => Math.round(n).toLocaleString('en-US');
  const largest = scenarios.find((s) => s.units === 1_000_000);
  const body = [
    `One server process (\`node packages/server/dist/main.js\`) on a fresh Postgres database of the machine's server, ${os.cpus().length} cores shared with the bench process (and whatever else the machine runs: the 1-minute load average was ${os.loadavg()[0]?.toFixed(1)} at the end).`,
    '',
    `**Ingestion** through \`POST /sdk/v1/events\` over HTTP/1.1 keep-alive: batches of ${count(BATCH_EXPOSURES)} exposures and ${count(BATCH_TRACKS)} track events (each counted as one event; every batch has its own id), JSON prepared before timing, ${options.concurrency} requests in flight, ${options.warmupSeconds} s of warm-up and then ${options.ingestSeconds} s timed. The server stores each batch in one transaction (event_batches row, unnest inserts into the day's partitions, the batch's units locked in key order, exposure_units upsert, per-unit totals updated); 429 answers are retried after their Retry-After.`,
    '',
    table(
      ['events stored', 'seconds', 'events/s', 'budget', 'met', 'batches', '429s', 'batch p50 ms', 'batch p99 ms'],
      [
        [
          count(ingested.events),
          ingested.seconds.toFixed(1),
          count(rate),
          `≥ ${count(INGEST_BUDGET)}`,
          rate >= INGEST_BUDGET ? 'yes' : 'no',
          count(ingested.batches),
          count(ingested.refused),
          ms(percentile(lat, 0.5)),
          ms(percentile(lat, 0.99)),
        ],
      ],
      ['right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right'],
    ),
    '',
    `**Results** of a \`mean\` metric (revenue per unit) through \`GET …/results\`, end to end over HTTP, for a flag split 50/50 with N exposed units (0.1 % of them exposed to both variants), about ${BUY_RATE.control * 100} % / ${BUY_RATE.treatment * 100} % of units buying 1 to 3 times, some purchases before exposure. The rows are written with SQL (what ingestion writes, without timing ingestion again), then \`VACUUM ANALYZE\`; scenarios run in order in one database, so each one's query also passes over the earlier scenarios' purchases. ${options.resultRuns} timed queries after 2 untimed.`,
    '',
    table(
      ['exposed units', 'purchases', 'median ms', 'p95 ms', 'max ms', 'status', `budget (1 M)`, 'met'],
      scenarios.map((s) => [
        count(s.units),
        count(s.purchases),
        ms(s.medianMs),
        ms(s.p95Ms),
        ms(s.maxMs),
        s.status,
        s === largest ? `≤ ${RESULTS_BUDGET_MS} ms` : '',
        s === largest ? (s.medianMs <= RESULTS_BUDGET_MS ? 'yes' : 'no') : '',
      ]),
      ['right', 'right', 'right', 'right', 'right', 'left', 'right', 'left'],
    ),
  ].join('\n');
  return { title: 'Events: ingestion and experiment results', body };
}
