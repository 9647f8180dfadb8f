/** One row of the chart: an estimate with its 95 % interval and, optionally, the sequential one. */
export interface IntervalRow {
  label: string;
  estimate: number;
  ci95: [number, number];
  sequential?: [number, number] | undefined;
}

const ROW = 34;
const LEFT = 110;
const WIDTH = 560;
const PAD = 24;

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * Relative effects against the control as a forest plot in SVG: a dot at the estimate, a thick
 * bar for the 95 % interval, a thin one for the always-valid sequential interval, and a line at
 * zero (no effect). An interval wholly on one side of zero is a real difference.
 */
export function IntervalChart({ rows, title }: { rows: IntervalRow[]; title: string }) {
  const values = rows.flatMap((r) => [...r.ci95, ...(r.sequential ?? []), r.estimate]).filter(Number.isFinite);
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const span = hi - lo || 1;
  const x = (v: number) => LEFT + PAD + ((v - lo) / span) * (WIDTH - LEFT - 2 * PAD);
  const height = rows.length * ROW + 30;
  const clamp = (v: number) => (Number.isFinite(v) ? v : v > 0 ? hi : lo);
  return (
    <svg class="chart" role="img" aria-label={title} viewBox={`0 0 ${WIDTH} ${height}`} width={WIDTH} height={height}>
      <title>{title}</title>
      <line x1={x(0)} x2={x(0)} y1={4} y2={height - 22} stroke="#5b6470" stroke-dasharray="3 3" />
      <text x={x(0)} y={height - 6} text-anchor="middle">
        0
      </text>
      <text x={x(lo)} y={height - 6} text-anchor="start">
        {pct(lo)}
      </text>
      <text x={x(hi)} y={height - 6} text-anchor="end">
        {pct(hi)}
      </text>
      {rows.map((r, i) => {
        const y = i * ROW + ROW / 2 + 4;
        const [a, b] = r.ci95.map(clamp) as [number, number];
        const real = a > 0 || b < 0;
        const color = real ? (r.estimate > 0 ? '#1f7a3a' : '#b3261e') : '#1d5fd1';
        return (
          <g key={r.label}>
            <text x={4} y={y + 4}>
              {r.label}
            </text>
            {r.sequential !== undefined && (
              <line
                x1={x(clamp(r.sequential[0]))}
                x2={x(clamp(r.sequential[1]))}
                y1={y}
                y2={y}
                stroke={color}
                stroke-opacity={0.45}
                stroke-width={2}
              />
            )}
            <line x1={x(a)} x2={x(b)} y1={y} y2={y} stroke={color} stroke-width={6} stroke-linecap="round" />
            <circle cx={x(r.estimate)} cy={y} r={5} fill="#fff" stroke={color} stroke-width={2} />
            <text x={x(b) + 8} y={y - 8} font-size="10">
              {pct(r.estimate)} [{pct(a)}, {pct(b)}]
            </text>
          </g>
        );
      })}
    </svg>
  );
}
