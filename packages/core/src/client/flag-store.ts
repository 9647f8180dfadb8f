import { compile, type Evaluator } from '../evaluator.js';
import type { Clause, Flag, Patch, Ruleset, Segment } from '../types.js';

/** Where the ruleset being served came from. Only the server's own data counts as current. */
export type RulesetSource = 'server' | 'cache' | 'bootstrap';

export type StoreUpdate =
  | { outcome: 'applied'; changed: string[] }
  /** Not newer than what is held: a duplicate or a late event. */
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'malformed'; reason: string };

/**
 * The ruleset a client serves, and the only place it changes. A put replaces it, a patch changes
 * one flag or segment through `Evaluator.applyPatch` (which refuses anything not newer than what
 * it holds for that key); anything unreadable is refused whole, so the last good ruleset keeps
 * serving. Each update reports which flags may now evaluate differently, including the flags
 * that reach a changed segment or prerequisite.
 */
export class FlagStore {
  /** The ruleset being served. A plain field, read on every getter call; only the store sets it. */
  evaluator: Evaluator | undefined;
  private held: RulesetSource | undefined;

  get source(): RulesetSource | undefined {
    return this.held;
  }

  /** A whole ruleset, as JSON text or already parsed. */
  put(input: unknown, source: RulesetSource): StoreUpdate {
    let parsed: unknown;
    try {
      parsed = typeof input === 'string' ? JSON.parse(input) : input;
    } catch (err) {
      return { outcome: 'malformed', reason: `the ruleset is not JSON: ${(err as Error).message}` };
    }
    let next: Evaluator;
    try {
      next = compile(parsed as Ruleset);
    } catch (err) {
      return { outcome: 'malformed', reason: (err as Error).message };
    }
    const before = this.evaluator;
    // Two instances behind a load balancer may be a moment apart: a server's older put must not
    // undo a newer one. Cached and bootstrap data are only stand-ins, so the server always wins
    // over them, even when its versions start again from a smaller number (a new database).
    if (
      before !== undefined &&
      this.held === 'server' &&
      source === 'server' &&
      next.environment === before.environment &&
      next.version < before.version
    ) {
      return { outcome: 'ignored', reason: `version ${next.version} is older than ${before.version}` };
    }
    this.evaluator = next;
    this.held = source;
    return { outcome: 'applied', changed: before === undefined ? next.flagKeys() : diff(before, next) };
  }

  /** One `patch` event, as JSON text or already parsed. */
  patch(input: unknown): StoreUpdate {
    let patch: unknown;
    try {
      patch = typeof input === 'string' ? JSON.parse(input) : input;
    } catch (err) {
      return { outcome: 'malformed', reason: `the patch is not JSON: ${(err as Error).message}` };
    }
    const problem = patchProblem(patch);
    if (problem !== undefined) return { outcome: 'malformed', reason: problem };
    const p = patch as Patch;
    const evaluator = this.evaluator;
    if (evaluator === undefined) return { outcome: 'ignored', reason: 'no ruleset to patch yet' };
    let applied: boolean;
    try {
      applied = evaluator.applyPatch(p);
    } catch (err) {
      return { outcome: 'malformed', reason: `the patch could not be applied: ${(err as Error).message}` };
    }
    if (!applied) return { outcome: 'ignored', reason: `${p.kind} ${p.key} already at version ${p.version} or newer` };
    const flags = new Set<string>();
    const segments = new Set<string>();
    (p.kind === 'flag' ? flags : segments).add(p.key);
    return { outcome: 'applied', changed: affected(evaluator.toRuleset(), flags, segments) };
  }
}

function patchProblem(patch: unknown): string | undefined {
  if (typeof patch !== 'object' || patch === null) return 'the patch is not an object';
  const p = patch as Record<string, unknown>;
  if (p.kind !== 'flag' && p.kind !== 'segment') return `unknown patch kind ${JSON.stringify(p.kind)}`;
  if (typeof p.key !== 'string' || p.key === '') return 'the patch has no key';
  if (!Number.isSafeInteger(p.version) || (p.version as number) < 0) return 'the patch version is not a whole number';
  if (p.value !== null && (typeof p.value !== 'object' || (p.value as { key?: unknown }).key !== p.key)) {
    return `the patch value is not the ${p.kind} ${p.key}`;
  }
  return undefined;
}

/** Flags whose definition differs between two rulesets, and the flags that depend on them. */
function diff(before: Evaluator, after: Evaluator): string[] {
  const a = before.toRuleset();
  const b = after.toRuleset();
  const flags = changedKeys(a.flags, b.flags);
  const segments = changedKeys(a.segments, b.segments);
  // Flags that disappeared changed too, and may be prerequisites of flags that remain.
  return affected(b, flags, segments);
}

/**
 * Keys added, removed, or at another version. A version is the environment version of the
 * item's last change, so equal versions mean the same definition.
 */
function changedKeys(before: readonly (Flag | Segment)[], after: readonly (Flag | Segment)[]): Set<string> {
  const versions = new Map(before.map((x) => [x.key, x.version]));
  const out = new Set<string>();
  for (const x of after) {
    if (versions.get(x.key) !== x.version) out.add(x.key);
    versions.delete(x.key);
  }
  for (const key of versions.keys()) out.add(key);
  return out;
}

const segmentsIn = (clauses: readonly Clause[]) =>
  clauses.filter((c) => c.op === 'inSegment').flatMap((c) => c.values.map(String));

/**
 * Closes `flags` and `segments` over dependencies: a segment nesting a changed segment changed,
 * and so did a flag with a rule on a changed segment or a prerequisite on a changed flag.
 * Returns the changed flag keys, sorted.
 */
function affected(ruleset: Ruleset, flags: Set<string>, segments: Set<string>): string[] {
  for (let grew = segments.size > 0; grew; ) {
    grew = false;
    for (const s of ruleset.segments) {
      if (segments.has(s.key)) continue;
      if ((s.rules ?? []).some((r) => segmentsIn(r.clauses).some((k) => segments.has(k)))) {
        segments.add(s.key);
        grew = true;
      }
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of ruleset.flags) {
      if (flags.has(f.key)) continue;
      const reaches =
        (f.prerequisites ?? []).some((p) => flags.has(p.flag)) ||
        (segments.size > 0 && (f.rules ?? []).some((r) => segmentsIn(r.clauses).some((k) => segments.has(k))));
      if (reaches) {
        flags.add(f.key);
        grew = true;
      }
    }
  }
  return [...flags].sort();
}
