import { ruleClauses } from './compile-flag.js';
import { segmentsNamed } from './compile-segment.js';
import type { Evaluator } from './evaluator.js';
import type { CompiledClause } from './operators.js';

/**
 * The flags that may evaluate differently in `after` than in `before`: added, removed or at
 * another version, and the flags reaching such a flag or segment. Equal versions mean the same
 * definition: a version is the environment version of the item's last change.
 */
export function changedFlags(before: Evaluator, after: Evaluator): string[] {
  const a = before.scope;
  const b = after.scope;
  return affectedFlags(after, changedKeys(a.flags, b.flags), changedKeys(a.segments, b.segments));
}

/**
 * Closes changed `flags` and `segments` over what depends on them in `evaluator`: a segment
 * nesting a changed segment changed, and so did a flag with a rule on a changed segment or a
 * prerequisite on a changed flag. Returns the changed flag keys, sorted.
 */
export function affectedFlags(evaluator: Evaluator, flags: Iterable<string>, segments: Iterable<string>): string[] {
  const changedFlags = new Set(flags);
  const changedSegments = new Set(segments);
  const usesChanged = (rules: readonly (readonly CompiledClause[])[]) =>
    changedSegments.size > 0 && segmentsNamed(rules).some((k) => changedSegments.has(k));
  const { flags: compiledFlags, segments: compiledSegments } = evaluator.scope;
  grow(compiledSegments, changedSegments, (s) => usesChanged(s.rules));
  grow(
    compiledFlags,
    changedFlags,
    (f) => f.prerequisites?.some((p) => changedFlags.has(p.flag)) === true || usesChanged(ruleClauses(f)),
  );
  return [...changedFlags].sort();
}

/** Adds to `changed` every item that `reaches` it, until nothing more is added. */
function grow<T>(items: ReadonlyMap<string, T>, changed: Set<string>, reaches: (item: T) => boolean): void {
  for (let grew = true; grew; ) {
    grew = false;
    for (const [key, item] of items) {
      if (!changed.has(key) && reaches(item)) {
        changed.add(key);
        grew = true;
      }
    }
  }
}

/** Keys added, removed, or at another version. */
function changedKeys(
  before: ReadonlyMap<string, { version: number }>,
  after: ReadonlyMap<string, { version: number }>,
): string[] {
  const out: string[] = [];
  for (const [key, item] of after) if (before.get(key)?.version !== item.version) out.push(key);
  for (const key of before.keys()) if (!after.has(key)) out.push(key);
  return out;
}
