import os from 'node:os';
import { quantile } from '../harness.js';
import type { Section } from '../report.js';
import { table } from '../report.js';
import { GUARD, HEALTHY, type PlanSpec, REGRESSING } from './plans.js';
import type { PlanResult, ReleaseOptions, RoundResult } from './run.js';

/** The issue's budgets: both plans in under a minute; the last SDK serving control ≤ 1 s after the decision. */
const ROUND_BUDGET_MS = 60_000;
const ROLLBACK_BUDGET_MS = 1000;

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const ms = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'missed');
const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const yes = (ok: boolean) => (ok ? 'yes' : 'no');

function stagesText(plan: PlanSpec): string {
  const held = plan.stages[0];
  return `${plan.stages.map((s) => `${s.percent} %`).join(' → ')}, each stage held ${held?.holdSeconds} s and until ${held?.minUnits} units were exposed in it`;
}

function servedText(p: PlanResult): [string, string] {
  const of = (v: string) => p.served.get(v) ?? { users: 0, errors: 0 };
  const n = of('new');
  const o = of('old');
  const rate = (x: { users: number; errors: number }) => (x.users === 0 ? '–' : pct(x.errors / x.users));
  return [`${count(n.users)} / ${count(o.users)}`, `${rate(n)} / ${rate(o)}`];
}

const lastSdk = (appliedMs: readonly number[]) => Math.max(...appliedMs);
const firstSdk = (appliedMs: readonly number[]) => Math.min(...appliedMs);

export function renderRelease(options: ReleaseOptions, rounds: readonly RoundResult[]): Section {
  const plans = rounds.flatMap((r, i) => r.plans.map((p) => ({ round: i + 1, p })));
  const rollbacks = plans.filter(({ p }) => p.spec === REGRESSING);
  const everyStep = plans.flatMap(({ p }) => p.steps.map((s) => lastSdk(s.appliedMs)));
  const sortedSteps = [...everyStep].sort((a, b) => a - b);
  const body = [
    `One server process (\`node packages/server/dist/main.js\`, no Redis) on a fresh Postgres database of the machine's server, \`SWITCHYARD_PLAN_INTERVAL_MS=${options.intervalMs}\`; ${options.clients} Node SDK clients (\`@switchyard/sdk-node\`, each on its own SSE stream) in the bench process, on ${os.cpus().length} cores shared with the server (1-minute load average ${os.loadavg()[0]?.toFixed(1)} at the end). New users arrive at ${count(options.usersPerSecond)} per second, each served once by the next client in turn with \`getString\` (which queues its exposure), and report an \`error\` event (\`track\`) at their variant's error rate; every ${options.flushMs} ms each client sends its batch to \`POST /sdk/v1/events\`. A metric \`errors\` (conversion, lower is better) guards both plans with \`{"metric": "${GUARD.metric}", "maxRegression": ${GUARD.maxRegression}}\`, \`onBreach: "rollback"\`. Each round runs, on new flags: the **healthy** plan, ${stagesText(HEALTHY)}, both variants failing ${pct(HEALTHY.errorRate.new)} of users; then the **regressing** plan, ${stagesText(REGRESSING)}, the released variant failing ${pct(REGRESSING.errorRate.new)} against the control's ${pct(REGRESSING.errorRate.old)}.`,
    '',
    `Every client's \`change\` listener evaluates ${count(options.testUsers)} test users (with \`allFlags\`, which sends no exposure) the moment the change arrives. A step's time is its entry in the plan's history (the step transaction's start, Postgres's clock, the same machine's); a client applied it at the first change at or after it that moved its test users (to none of them on the variant, for a rollback). **Evidence**: after every flush round the bench asks \`GET …/release-plan/figures\` for the guard's interval as the controller judges it (the plan's units compared stage by stage, the pooled variance); the evidence became significant when the round's first batch was stored (the server answers 202 after storing it), the first round whose interval lies wholly above +${GUARD.maxRegression * 100} %.`,
    '',
    table(
      [
        'round',
        'plan',
        'outcome',
        'steps',
        'start → end s',
        'users new / old',
        'error rate new / old',
        'test users that lost the variant',
      ],
      plans.map(({ round, p }) => [
        String(round),
        p.spec.name,
        p.state,
        p.history
          .filter((h) => h.action !== 'create')
          .map((h) => h.action)
          .join(', '),
        seconds(p.wallMs),
        ...servedText(p),
        String(p.lostWhileWidening),
      ]),
      ['right', 'left', 'left', 'left', 'right', 'right', 'right', 'right'],
    ),
    '',
    table(
      ['round', 'both plans s', 'budget', 'met'],
      rounds.map((r, i) => [
        String(i + 1),
        seconds(r.wallMs),
        `< ${seconds(ROUND_BUDGET_MS)} s`,
        yes(r.wallMs < ROUND_BUDGET_MS),
      ]),
      ['right', 'right', 'right', 'left'],
    ),
    '',
    "**The rollback**, per round: from the evidence to the controller's decision (the rollback's history time), and from the decision to the first and the last SDK serving control to every test user. The controller starts its next tick one interval after the last one ended, so evidence stored just after a tick read the guard waits at most an interval plus a tick's own duration.",
    '',
    table(
      [
        'round',
        'rolled back at',
        'evidence stored → decision ms',
        'interval ms',
        'decision → first SDK ms',
        'decision → last SDK ms',
        'budget',
        'met',
      ],
      rollbacks.map(({ round, p }) => {
        const step = p.steps.find((s) => s.action === 'rollback');
        const last = step === undefined ? Number.NaN : lastSdk(step.appliedMs);
        const stage = p.spec.stages[(step?.stage ?? 0) - 1];
        return [
          String(round),
          `stage ${step?.stage ?? '?'} (${stage?.percent ?? '?'} %)`,
          p.evidence === undefined || step === undefined ? 'n/a' : ms(step.at - p.evidence.storedAt),
          String(options.intervalMs),
          step === undefined ? 'n/a' : ms(firstSdk(step.appliedMs)),
          ms(last),
          `≤ ${ms(ROLLBACK_BUDGET_MS)} ms`,
          yes(last <= ROLLBACK_BUDGET_MS),
        ];
      }),
      ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
    ),
    '',
    `Every step (start, advance, rollback: ${everyStep.length} in all) reached the last of the ${options.clients} SDKs ${ms(quantile(sortedSteps, 0.5))} ms after the controller's decision at the median, ${ms(sortedSteps.at(-1) ?? Number.NaN)} ms at the most.`,
    '',
    "The controller's reasons, as in the audit log:",
    '',
    ...plans.map(
      ({ round, p }) =>
        `- round ${round}, ${p.spec.name}: ${p.history.at(-2)?.action === 'advance' && p.spec === HEALTHY ? `"${p.history.at(-2)?.reason}", then ` : ''}"${p.history.at(-1)?.reason}"`,
    ),
  ].join('\n');
  return { title: 'Release plans: a healthy plan and a rollback, through Node SDKs', body };
}
