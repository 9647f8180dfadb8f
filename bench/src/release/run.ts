import { randomBytes } from 'node:crypto';
import { AdminApi } from '../propagation/admin-api.js';
import { createBenchDatabase } from '../propagation/database.js';
import { type ServerProcess, startServer } from '../propagation/server-process.js';
import type { Section } from '../report.js';
import { Fleet, type Observation, type Served } from './fleet.js';
import { GUARD, HEALTHY, type PlanSpec, REGRESSING } from './plans.js';
import { renderRelease } from './render.js';

export interface ReleaseOptions {
  /** Postgres server on which the run creates (and drops) its own database. */
  readonly databaseUrl: string;
  /** `SWITCHYARD_PLAN_INTERVAL_MS` of the server. */
  readonly intervalMs: number;
  /** Each round runs both plans, on new flags of the same server. */
  readonly rounds: number;
  readonly clients: number;
  readonly testUsers: number;
  readonly usersPerSecond: number;
  readonly flushMs: number;
}

const ADMIN_TOKEN = `sy_admin_bench_${randomBytes(12).toString('hex')}`;
const API = '/api/v1/projects/demo';
/** A plan that has not ended by then has failed. */
const PLAN_DEADLINE_MS = 45_000;
/** How long every SDK is given to apply the plan's last step after the plan ended. */
const SETTLE_MS = 10_000;

interface HistoryEntry {
  at: string;
  action: string;
  state: string;
  stage: number | null;
  reason: string;
}

/** One step that changed what SDKs serve, and when each client applied it. */
export interface StepResult {
  readonly action: string;
  readonly stage: number | null;
  /** The step's time in the plan's history: its transaction's start, Postgres's clock. */
  readonly at: number;
  /** Per client, ms from `at` to the change event that applied it; NaN when none did. */
  readonly appliedMs: readonly number[];
}

export interface PlanResult {
  readonly spec: PlanSpec;
  readonly flag: string;
  readonly state: string;
  /** From sending `start` to the plan's final step. */
  readonly wallMs: number;
  readonly history: readonly HistoryEntry[];
  readonly steps: readonly StepResult[];
  readonly served: Served;
  /** Test users who lost the variant while the plan widened (must be 0: bucketing is sticky). */
  readonly lostWhileWidening: number;
  /** The first flush round after which the guard's interval in the plan's figures excluded its tolerance. */
  readonly evidence: { sentAt: number; storedAt: number; interval: [number, number] } | undefined;
  /** The final step's time in the history. */
  readonly endedAt: number;
}

export interface RoundResult {
  readonly plans: readonly PlanResult[];
  /** From the first plan's start to the last one's end. */
  readonly wallMs: number;
}

/** When each client applied `step`: the first change at or after it that moved its test users (to none, for a rollback). */
function appliedAt(step: { action: string; at: number }, seen: readonly Observation[]): number {
  const before = seen.filter((o) => o.at < step.at).at(-1);
  const applied = seen.find(
    (o) => o.at >= step.at && (step.action === 'rollback' ? o.onVariant === 0 : o.onVariant !== before?.onVariant),
  );
  return applied === undefined ? Number.NaN : applied.at - step.at;
}

async function runPlan(
  api: AdminApi,
  fleet: Fleet,
  spec: PlanSpec,
  flag: string,
  options: ReleaseOptions,
  log: (line: string) => void,
): Promise<PlanResult> {
  await api.expect(201, 'POST', `${API}/flags`, {
    key: flag,
    name: flag,
    type: 'string',
    variants: [
      { key: 'new', value: 'new' },
      { key: 'old', value: 'old' },
    ],
  });
  await api.expect(200, 'PATCH', `${API}/flags/${flag}/environments/production`, {
    enabled: true,
    offVariant: 'old',
    defaultServe: { variant: 'old' },
  });
  const planPath = `${API}/flags/${flag}/environments/production/release-plan`;
  await api.expect(201, 'PUT', planPath, {
    variant: 'new',
    control: 'old',
    stages: spec.stages,
    guards: [GUARD],
    onBreach: 'rollback',
  });
  fleet.watch(flag, 'new');
  const resultsPath = `${API}/flags/${flag}/environments/production/results?metric=${GUARD.metric}`;
  let evidence: PlanResult['evidence'];
  let state = 'running';
  const startedAt = Date.now();
  await api.expect(200, 'POST', `${planPath}/start`);
  log(`release: ${flag}: started`);
  const served = await fleet.drive({
    flag,
    errorRate: spec.errorRate,
    usersPerSecond: options.usersPerSecond,
    flushMs: options.flushMs,
    afterFlush: async (round) => {
      if (evidence === undefined) {
        // The plan's figures: the guard's interval as the controller judges it, over the stage's units.
        const figures = (await api.expect(200, 'GET', `${planPath}/figures`)).body as {
          guards: { interval: [number, number] | null }[];
        };
        const ci = figures.guards[0]?.interval;
        if (ci != null && ci[0] > GUARD.maxRegression) {
          evidence = { sentAt: round.sentAt, storedAt: round.firstStoredAt, interval: ci };
        }
      }
      state = ((await api.expect(200, 'GET', planPath)).body as { state: string }).state;
      if (state !== 'running') return true;
      if (Date.now() - startedAt > PLAN_DEADLINE_MS) {
        const plan = JSON.stringify((await api.expect(200, 'GET', planPath)).body);
        const results = JSON.stringify((await api.expect(200, 'GET', resultsPath)).body);
        throw new Error(`${flag}: still running after ${PLAN_DEADLINE_MS} ms: ${plan}\nresults: ${results}`);
      }
      return false;
    },
  });
  if (state !== spec.expected) throw new Error(`${flag}: the plan ended ${state}, not ${spec.expected}`);
  const { history } = (await api.expect(200, 'GET', planPath)).body as { history: HistoryEntry[] };
  const last = history.at(-1) as HistoryEntry;
  log(`release: ${flag}: ${last.reason}`);

  // Every client must apply the last step that changed what it serves before the plan counts as seen.
  const everyone = spec.expected === 'completed' ? fleet.testUserCount : 0;
  const deadline = Date.now() + SETTLE_MS;
  while (!fleet.observations().every((seen) => seen.at(-1)?.onVariant === everyone)) {
    if (Date.now() > deadline)
      throw new Error(`${flag}: an SDK did not serve the plan's last step within ${SETTLE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const observations = fleet.observations();
  const steps = history
    .filter((h) => h.action === 'start' || h.action === 'advance' || h.action === 'rollback')
    .map((h) => {
      const step = { action: h.action, stage: h.stage, at: Date.parse(h.at) };
      return { ...step, appliedMs: observations.map((seen) => appliedAt(step, seen)) };
    });
  const rollbackAt = steps.find((s) => s.action === 'rollback')?.at ?? Number.POSITIVE_INFINITY;
  const lostWhileWidening = observations
    .flat()
    .filter((o) => o.at < rollbackAt)
    .reduce((sum, o) => sum + o.lost, 0);
  return {
    spec,
    flag,
    state,
    wallMs: Date.parse(last.at) - startedAt,
    history,
    steps,
    served,
    lostWhileWidening,
    evidence,
    endedAt: Date.parse(last.at),
  };
}

export async function runReleaseBenchmark(options: ReleaseOptions, log: (line: string) => void): Promise<Section> {
  const database = await createBenchDatabase(options.databaseUrl);
  let server: ServerProcess | undefined;
  let fleet: Fleet | undefined;
  let api: AdminApi | undefined;
  try {
    server = await startServer({
      env: {
        DATABASE_URL: database.url,
        // One instance: changes reach its streams straight from its own commits.
        REDIS_URL: '',
        SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN,
        SWITCHYARD_PLAN_INTERVAL_MS: String(options.intervalMs),
        LOG_LEVEL: 'warn',
      },
      readyTimeoutMs: 60_000,
    });
    api = new AdminApi(server.port, ADMIN_TOKEN, 10_000);
    const key = { name: 'bench', type: 'server', project: 'demo', environment: 'production' };
    const sdkKey = ((await api.expect(201, 'POST', '/api/v1/keys', key)).body as { token: string }).token;
    await api.expect(201, 'POST', `${API}/metrics`, {
      key: GUARD.metric,
      name: 'Errors',
      event: 'error',
      kind: 'conversion',
      direction: 'decrease',
    });
    fleet = await Fleet.open({
      baseUrl: `http://127.0.0.1:${server.port}`,
      sdkKey,
      clients: options.clients,
      testUsers: options.testUsers,
    });
    const rounds: RoundResult[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const plans: PlanResult[] = [];
      for (const spec of [HEALTHY, REGRESSING]) {
        plans.push(await runPlan(api, fleet, spec, `release-${spec.name}-${round}`, options, log));
      }
      const first = plans[0] as PlanResult;
      const wallMs = (plans.at(-1) as PlanResult).endedAt - (first.endedAt - first.wallMs);
      rounds.push({ plans, wallMs });
      log(`release: round ${round}: both plans in ${(wallMs / 1000).toFixed(1)} s`);
    }
    return renderRelease(options, rounds);
  } finally {
    await fleet?.close();
    api?.close();
    await server?.stop();
    await database.drop();
  }
}
