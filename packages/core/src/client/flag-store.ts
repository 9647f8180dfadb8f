import { affectedFlags, changedFlags } from '../changes.js';
import { type CompileOptions, compile, type Evaluator } from '../evaluator.js';
import { type PatchPart, patchProblem } from '../patch.js';
import type { Patch, Ruleset } from '../types.js';
import { isOlderPut } from './version-rule.js';

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

  /** `keepDefinitions` when the client writes the ruleset to a cache; else the memory is saved. */
  constructor(private readonly options: CompileOptions = {}) {}

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
      next = compile(parsed as Ruleset, this.options);
    } catch (err) {
      // The engine's SwitchyardError: its `switchyard: ` prefix comes again with the SDK's own error.
      return { outcome: 'malformed', reason: (err as Error).message.replace(/^switchyard: /, '') };
    }
    const before = this.evaluator;
    if (source === 'server' && isOlderPut(before, this.held === 'server', next)) {
      return { outcome: 'ignored', reason: `version ${next.version} is older than ${before?.version}` };
    }
    this.evaluator = next;
    this.held = source;
    return { outcome: 'applied', changed: before === undefined ? next.flagKeys().sort() : changedFlags(before, next) };
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
    if (problem !== undefined) return { outcome: 'malformed', reason: PATCH_PROBLEMS[problem] };
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
    const changed = [p.key];
    return {
      outcome: 'applied',
      changed: p.kind === 'flag' ? affectedFlags(evaluator, changed, []) : affectedFlags(evaluator, [], changed),
    };
  }
}

/** What a log line says about each part {@link patchProblem} finds wrong. */
const PATCH_PROBLEMS: Record<PatchPart, string> = {
  patch: 'the patch is not an object',
  kind: 'the patch kind is neither flag nor segment',
  key: 'the patch has no key',
  version: 'the patch version is not a whole number',
  value: 'the patch value is not the flag or segment its key names',
};
