import { useState } from 'preact/hooks';
import { get, seg } from '../api/client.js';
import type { Page } from '../api/types.js';
import { Link } from '../router.js';
import { ErrorText } from '../ui/errors.js';
import { IntervalChart } from '../ui/interval-chart.js';
import { useLoad } from '../ui/use-load.js';

interface Results {
  control: string;
  metric: { key: string; kind: string; direction: string };
  status: string;
  minUnitsPerVariant: number;
  srm: { pValue: number | null; mismatch: boolean };
  variants: { variant: string; units: number; mean: number }[];
  comparisons: {
    variant: string;
    relative: { estimate: number; ci95: [number, number] };
    absolute: { estimate: number; ci95: [number, number] };
    pValue: number | null;
    sequential: { ci95: [number, number]; significant: boolean };
  }[];
  excludedUnits: number;
}

/** An experiment's results on one metric: per variant, and each against the control as a chart. */
export function ResultsPage(props: { project: string; flag: string; env: string }) {
  const flagPath = `/projects/${seg(props.project)}/flags/${seg(props.flag)}`;
  const metrics = useLoad(
    () => get<Page<{ key: string; name: string }>>(`/projects/${seg(props.project)}/metrics`),
    [props.project],
  );
  const [metric, setMetric] = useState(() => new URLSearchParams(location.search).get('metric') ?? '');
  const chosen = metric || metrics.data?.items[0]?.key || '';
  const results = useLoad(
    async () =>
      chosen === ''
        ? undefined
        : get<Results>(`${flagPath}/environments/${seg(props.env)}/results?metric=${seg(chosen)}`),
    [flagPath, props.env, chosen],
  );
  const r = results.data;
  return (
    <section>
      <p>
        <Link href={`${flagPath}?env=${seg(props.env)}`}>← {props.flag}</Link>
      </p>
      <h1>
        Results of {props.flag} in {props.env}
      </h1>
      <label for="metric">Metric</label>
      <select id="metric" value={chosen} onChange={(e) => setMetric(e.currentTarget.value)}>
        {metrics.data?.items.map((m) => (
          <option key={m.key} value={m.key}>
            {m.name} ({m.key})
          </option>
        ))}
      </select>
      <ErrorText error={metrics.error ?? results.error} />
      {metrics.data?.items.length === 0 && <p>The project has no metrics yet.</p>}
      {r !== undefined && (
        <>
          <p>
            Status: <strong>{r.status}</strong> (at least {r.minUnitsPerVariant} units per variant). Control:{' '}
            <code>{r.control}</code>. {r.excludedUnits} units exposed to several variants are left out.
          </p>
          {r.srm.mismatch && (
            <p class="error" role="alert">
              Sample-ratio mismatch (p = {r.srm.pValue?.toPrecision(2)}): the split does not match the weights, so these
              numbers cannot be trusted.
            </p>
          )}
          <table>
            <thead>
              <tr>
                <th scope="col">Variant</th>
                <th scope="col">Units</th>
                <th scope="col">{r.metric.kind === 'conversion' ? 'Conversion' : 'Mean'}</th>
              </tr>
            </thead>
            <tbody>
              {r.variants.map((v) => (
                <tr key={v.variant}>
                  <td>{v.variant}</td>
                  <td>{v.units}</td>
                  <td>{r.metric.kind === 'conversion' ? `${(v.mean * 100).toFixed(2)} %` : v.mean.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Against {r.control}, relative (95 % interval; thin: always-valid sequential interval)</h2>
          <IntervalChart
            title={`Relative effect on ${r.metric.key} against ${r.control}`}
            rows={r.comparisons.map((c) => ({
              label: c.variant,
              estimate: c.relative.estimate,
              ci95: c.relative.ci95,
              sequential: c.sequential.ci95,
            }))}
          />
        </>
      )}
    </section>
  );
}
