import { useState } from 'preact/hooks';
import { ApiError, call, get, seg } from '../api/client.js';
import type { Flag } from '../api/types.js';
import { useChanges } from '../live/changes.js';
import { type Guard, PlanMetrics } from '../plan/plan-metrics.js';
import { Link } from '../router.js';
import { mayAct, useSession } from '../session.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';
import { useSubmit } from '../ui/use-submit.js';

interface Plan {
  variant: string;
  control: string;
  stages: { percent: number; holdSeconds: number; minUnits: number }[];
  guards: Guard[];
  onBreach: 'rollback' | 'kill' | 'pause';
  state: 'draft' | 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
  stage: { number: number; percent: number } | null;
  stageStartedAt: string | null;
  revision: number;
  history: { at: string; actor: string; action: string; stage: number | null; reason: string | null }[];
}

/** The actions a plan in each state accepts. */
const ACTIONS: Record<Plan['state'], string[]> = {
  draft: ['start'],
  running: ['pause', 'advance', 'abort'],
  paused: ['resume', 'abort'],
  completed: [],
  rolled_back: [],
  aborted: [],
};

function describeGuard(g: Guard): string {
  if ('maxRegression' in g) return `${g.metric}: no worse than ${g.maxRegression * 100} % relative to control`;
  if ('max' in g) return `${g.metric} ≤ ${g.max}`;
  return `${g.metric} ≥ ${g.min}`;
}

/** A flag's release plan in one environment: its stages, guards, state and history, and its controls. */
export function PlanPage(props: { project: string; flag: string; env: string }) {
  const { me } = useSession();
  const canEdit = mayAct(me, props.project, 'editor');
  const flagPath = `/projects/${seg(props.project)}/flags/${seg(props.flag)}`;
  const path = `${flagPath}/environments/${seg(props.env)}/release-plan`;
  const plan = useLoad(async () => {
    try {
      return await get<Plan>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }, [path]);
  const flag = useLoad(() => get<Flag>(flagPath), [flagPath]);
  const [reason, setReason] = useState('');
  const { error, run } = useSubmit();
  // Bumped on every change to the plan, so its figures are read again at once too.
  const [changed, setChanged] = useState(0);
  useChanges(props.project, (entry) => {
    if (entry.targetKey === props.flag || entry.targetKind === 'release-plan') {
      plan.reload();
      setChanged((n) => n + 1);
    }
  });
  const act = (action: string) =>
    run(async () => {
      await call('POST', `${path}/${action}`, { body: reason === '' ? {} : { reason } });
      setReason('');
      plan.reload();
    });
  const p = plan.data;
  return (
    <section>
      <p>
        <Link href={`${flagPath}?env=${seg(props.env)}`}>← {props.flag}</Link>
      </p>
      <h1>
        Release plan of {props.flag} in {props.env}
      </h1>
      <ErrorText error={plan.error} />
      {p === null && <p>No release plan yet.</p>}
      {p !== undefined && p !== null && (
        <>
          <p>
            Releases <code>{p.variant}</code> against <code>{p.control}</code>. State:{' '}
            <strong class="plan-state">{p.state}</strong>
            {p.stage !== null && p.state !== 'draft' && ` · stage ${p.stage.number} (${p.stage.percent} %)`}. On a
            breach: {p.onBreach}.
          </p>
          <h2>Stages</h2>
          <ol class="stages">
            {p.stages.map((s, i) => (
              <li key={i} aria-current={p.stage?.number === i + 1 && p.state !== 'draft' ? 'step' : undefined}>
                {s.percent} % for at least {s.holdSeconds} s{s.minUnits > 0 ? ` and ${s.minUnits} units` : ''}
                {p.stage?.number === i + 1 && p.state !== 'draft' ? ' ← now' : ''}
              </li>
            ))}
          </ol>
          <h2>Guards</h2>
          {p.guards.length === 0 ? (
            <p class="muted">No guards: only the sample-ratio check pauses the plan.</p>
          ) : (
            <ul>
              {p.guards.map((g) => (
                <li key={describeGuard(g)}>
                  {describeGuard(g)} ·{' '}
                  <Link href={`${flagPath}/results/${seg(props.env)}?metric=${seg(g.metric)}`}>results</Link>
                </li>
              ))}
            </ul>
          )}
          {p.state !== 'draft' && <PlanMetrics path={path} plan={p} refresh={changed} />}
          {canEdit && ACTIONS[p.state].length > 0 && (
            <div class="row">
              <label>
                Reason
                <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
              </label>
              {ACTIONS[p.state].map((a) => (
                <button type="button" key={a} class={a === 'abort' ? 'kill' : ''} onClick={() => act(a)}>
                  {a[0]?.toUpperCase()}
                  {a.slice(1)}
                </button>
              ))}
            </div>
          )}
          <ErrorText error={error} />
          <h2>History</h2>
          <ul>
            {p.history.map((h) => (
              <li key={`${h.at}-${h.action}`}>
                <time dateTime={h.at}>{new Date(h.at).toLocaleString()}</time> {h.actor}: {h.action}
                {h.stage !== null ? ` (stage ${h.stage})` : ''} {h.reason ?? ''}
              </li>
            ))}
          </ul>
        </>
      )}
      {canEdit && flag.data !== undefined && (p === null || p?.state === 'draft') && (
        <NewPlan path={path} flag={flag.data} onSaved={plan.reload} />
      )}
    </section>
  );
}

/** A draft plan: the variant to release, its stages and its guards. */
function NewPlan(props: { path: string; flag: Flag; onSaved: () => void }) {
  const variants = props.flag.variants.map((v) => v.key);
  const [variant, setVariant] = useState(variants[0] ?? '');
  const [percents, setPercents] = useState('1, 5, 25, 50, 100');
  const [hold, setHold] = useState('600');
  const [guards, setGuards] = useState<{ metric: string; kind: 'maxRegression' | 'max' | 'min'; value: string }[]>([]);
  const [onBreach, setOnBreach] = useState<Plan['onBreach']>('rollback');
  const { error, general, run } = useSubmit();
  const save = (e: Event) => {
    e.preventDefault();
    const stages = percents
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => ({ percent: Number(s), holdSeconds: Number(hold), minUnits: 0 }));
    const body = {
      variant,
      stages,
      onBreach,
      guards: guards.map((g) => ({ metric: g.metric, [g.kind]: Number(g.value) })),
    };
    return run(async () => {
      await call('PUT', props.path, { body });
      props.onSaved();
    });
  };
  return (
    <form onSubmit={save} aria-label="Release plan draft">
      <h2>Draft a plan</h2>
      <div class="row">
        <label>
          Release variant
          <select value={variant} onChange={(e) => setVariant(e.currentTarget.value)}>
            {variants.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Stages (percents)
          <input value={percents} onInput={(e) => setPercents(e.currentTarget.value)} />
        </label>
        <label>
          Hold each (seconds)
          <input type="number" min={1} value={hold} onInput={(e) => setHold(e.currentTarget.value)} />
        </label>
        <label>
          On a breach
          <select value={onBreach} onChange={(e) => setOnBreach(e.currentTarget.value as Plan['onBreach'])}>
            <option value="rollback">roll back</option>
            <option value="pause">pause</option>
            <option value="kill">kill</option>
          </select>
        </label>
      </div>
      <FieldError error={error} field="variant" />
      <FieldError error={error} field="stages" />
      {guards.map((g, i) => (
        <div class="row" key={i}>
          <label>
            Guard metric
            <input
              value={g.metric}
              onInput={(e) => setGuards(guards.map((x, j) => (j === i ? { ...x, metric: e.currentTarget.value } : x)))}
            />
          </label>
          <label>
            Bound
            <select
              value={g.kind}
              onChange={(e) =>
                setGuards(guards.map((x, j) => (j === i ? { ...x, kind: e.currentTarget.value as typeof g.kind } : x)))
              }
            >
              <option value="maxRegression">max relative regression (0.1 = 10 %)</option>
              <option value="max">at most</option>
              <option value="min">at least</option>
            </select>
          </label>
          <label>
            Value
            <input
              value={g.value}
              onInput={(e) => setGuards(guards.map((x, j) => (j === i ? { ...x, value: e.currentTarget.value } : x)))}
            />
          </label>
          <button type="button" onClick={() => setGuards(guards.filter((_, j) => j !== i))}>
            Remove guard
          </button>
          <FieldError error={error} field={`guards[${i}]`} />
        </div>
      ))}
      <button type="button" onClick={() => setGuards([...guards, { metric: '', kind: 'maxRegression', value: '0.1' }])}>
        Add guard
      </button>
      <ErrorText error={general} />
      <button type="submit" class="primary">
        Save draft
      </button>
    </form>
  );
}
