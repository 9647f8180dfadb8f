/** Pretty JSON with keys sorted, so that two versions of one object line up line by line. */
function lines(value: unknown): string[] {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, x]) => [k, sorted(x)]),
      );
    }
    return v;
  };
  return value === null || value === undefined ? [] : JSON.stringify(sorted(value), null, 2).split('\n');
}

type Line = { text: string; kind: 'same' | 'del' | 'add' };

/** A line diff by longest common subsequence: audit entries are small, so O(n·m) is fine. */
export function diffLines(before: string[], after: string[]): { left: Line[]; right: Line[] } {
  const n = before.length;
  const m = after.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        before[i] === after[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const left: Line[] = [];
  const right: Line[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      left.push({ text: before[i] as string, kind: 'same' });
      right.push({ text: after[j] as string, kind: 'same' });
      i++;
      j++;
    } else if (
      j < m &&
      (i === n || ((lcs[i] as number[])[j + 1] as number) >= ((lcs[i + 1] as number[])[j] as number))
    ) {
      right.push({ text: after[j] as string, kind: 'add' });
      j++;
    } else {
      left.push({ text: before[i] as string, kind: 'del' });
      i++;
    }
  }
  return { left, right };
}

function Side({ title, rows }: { title: string; rows: Line[] }) {
  return (
    <div>
      <h3>{title}</h3>
      <pre>
        {rows.length === 0 ? (
          <span class="muted">(nothing)</span>
        ) : (
          rows.map((l, i) => (
            <span key={i} class={`line ${l.kind === 'same' ? '' : l.kind}`}>
              {l.kind === 'del' ? '- ' : l.kind === 'add' ? '+ ' : '  '}
              {l.text}
            </span>
          ))
        )}
      </pre>
    </div>
  );
}

/** Before and after side by side, removed lines red and added lines green. */
export function JsonDiff({ before, after }: { before: unknown; after: unknown }) {
  const { left, right } = diffLines(lines(before), lines(after));
  return (
    <div class="diff">
      <Side title="Before" rows={left} />
      <Side title="After" rows={right} />
    </div>
  );
}
