import { type Hasher, Murmur3Utf8 } from './bucket.js';
import { compileFlag } from './compile-flag.js';
import { compileSegment } from './compile-segment.js';
import { SwitchyardError } from './errors.js';
import type { CompiledFlag, FlagScope } from './flag-walk.js';
import { patchIsValid } from './patch.js';
import type { EvaluationResult } from './reasons.js';
import { refusal } from './refusal.js';
import { type CompiledSegment, semverMemo } from './scope.js';
import {
  type EvaluationContext,
  type Flag,
  type FlagType,
  type Patch,
  type Ruleset,
  SCHEMA_VERSION,
  type Segment,
} from './types.js';
import { runOutOfLine } from './v8-keep-out-of-inliner.js';

export interface CompileOptions {
  /**
   * Keep each flag and segment definition as given, for {@link Evaluator.toRuleset} (a cache or a
   * bootstrap to write). Off by default: the definitions take as much memory as the compiled
   * flags, and most clients never write a ruleset back.
   */
  keepDefinitions?: boolean;
}

export interface EvaluatorOptions extends CompileOptions {
  /** How rollouts hash; {@link compile} gives each ruleset a {@link Murmur3Utf8} of its own. */
  hasher: Hasher;
}

/**
 * A compiled ruleset: evaluates flags locally and takes patches. It never throws from
 * `evaluate`; every problem comes back as a result with reason `ERROR` and an error code.
 */
export class Evaluator {
  readonly environment: string;
  private currentVersion: number;
  /** @internal The compiled flags and segments, for the change tracking in `changes.ts`. */
  readonly scope: FlagScope;
  private readonly definitions: { flags: Map<string, Flag>; segments: Map<string, Segment> } | undefined;
  /** Version of each deleted flag or segment, so a late, older upsert cannot resurrect it. */
  private readonly tombstones = new Map<string, number>();
  /** The flags marked `measured`, whose exposures an SDK records. */
  private readonly measured = new Set<string>();

  constructor(ruleset: Ruleset, options: EvaluatorOptions) {
    assertRuleset(ruleset);
    this.environment = ruleset.environment;
    this.currentVersion = ruleset.version;
    this.definitions = options.keepDefinitions === true ? { flags: new Map(), segments: new Map() } : undefined;
    this.scope = {
      flags: new Map(),
      segments: new Map(),
      hasher: options.hasher,
      semver: semverMemo(),
      stack: [],
      failure: undefined,
    };
    for (const [i, s] of ruleset.segments.entries()) this.put('segment', keyOf(s, `segments[${i}]`), s);
    for (const [i, f] of ruleset.flags.entries()) this.put('flag', keyOf(f, `flags[${i}]`), f);
  }

  /** The environment version this ruleset is at: the highest version loaded or patched in. */
  get version(): number {
    return this.currentVersion;
  }

  evaluate<T>(
    flagKey: string,
    context: EvaluationContext,
    defaultValue: T,
    expectedType?: FlagType,
  ): EvaluationResult<T> {
    const flag = this.scope.flags.get(flagKey);
    // Kept this small so that it inlines into an SDK's getters; the rest is out of line.
    if (flag === undefined || flag.invalid || (expectedType !== undefined && flag.type !== expectedType)) {
      return refusal(flagKey, flag, defaultValue, expectedType);
    }
    return (flag.constant ?? runOutOfLine(flag, context, defaultValue, this.scope)) as EvaluationResult<T>;
  }

  /**
   * Applies a change to one flag or segment. Returns `false` and changes nothing when the
   * patch is not newer than what is held for that key.
   */
  applyPatch(patch: Patch): boolean {
    if (!patchIsValid(patch)) return false;
    const { kind, key, version, value } = patch;
    const id = `${kind}:${key}`;
    const held =
      (kind === 'flag' ? this.scope.flags : this.scope.segments).get(key)?.version ?? this.tombstones.get(id);
    if (held !== undefined && version <= held) return false;
    if (value === null) this.tombstones.set(id, version);
    else this.tombstones.delete(id);
    this.put(kind, key, value);
    this.currentVersion = Math.max(this.currentVersion, version);
    return true;
  }

  flagKeys(): string[] {
    return [...this.scope.flags.keys()];
  }

  /** Whether a flag may be sent to browsers. */
  isClientSide(key: string): boolean {
    return this.scope.flags.get(key)?.clientSide === true;
  }

  /**
   * Whether an SDK records exposures of a flag (DESIGN §9). Costs one comparison while no flag
   * is measured, which is most of the time: SDK getters ask it after every evaluation.
   */
  isMeasured(key: string): boolean {
    return this.measured.size !== 0 && this.measured.has(key);
  }

  /**
   * Flags and segments as they stand, in the ruleset's JSON form (for a cache or a bootstrap).
   * Only for an evaluator compiled with `keepDefinitions`.
   */
  toRuleset(): Ruleset {
    const kept = this.definitions;
    if (kept === undefined) throw new Error('toRuleset() needs an evaluator compiled with keepDefinitions');
    return {
      schemaVersion: SCHEMA_VERSION,
      environment: this.environment,
      version: this.currentVersion,
      flags: [...kept.flags.values()],
      segments: [...kept.segments.values()],
    };
  }

  /** Compiles and holds a flag or segment under `key`, or drops it when `value` is null. */
  private put(kind: Patch['kind'], key: string, value: Flag | Segment | null): void {
    const flag = kind === 'flag';
    // Each map only ever gets its own kind: `kind` picks the map and the compiler together.
    const compiled = (flag ? this.scope.flags : this.scope.segments) as Map<string, CompiledFlag | CompiledSegment>;
    const kept = (flag ? this.definitions?.flags : this.definitions?.segments) as
      | Map<string, Flag | Segment>
      | undefined;
    if (flag) {
      if ((value as Flag | null)?.measured === true) this.measured.add(key);
      else this.measured.delete(key);
    }
    if (value === null) {
      kept?.delete(key);
      compiled.delete(key);
    } else {
      kept?.set(key, value);
      compiled.set(key, flag ? compileFlag(value, key, this.scope.hasher) : compileSegment(value, key));
    }
  }
}

/** Compiles a ruleset. Throws a {@link SwitchyardError} only when the ruleset as a whole is unusable. */
export function compile(ruleset: Ruleset, options?: CompileOptions): Evaluator {
  return new Evaluator(ruleset, { ...options, hasher: new Murmur3Utf8() });
}

const invalid = (what: string) => new SwitchyardError('INVALID_RULESET', `invalid ${what}`);

function assertRuleset(ruleset: unknown): asserts ruleset is Ruleset {
  if (typeof ruleset !== 'object' || ruleset === null) throw invalid('ruleset');
  const r = ruleset as Partial<Ruleset>;
  if (r.schemaVersion !== SCHEMA_VERSION) {
    throw new SwitchyardError(
      'UNSUPPORTED_SCHEMA_VERSION',
      `schemaVersion ${JSON.stringify(r.schemaVersion)}: this engine reads ${SCHEMA_VERSION}`,
    );
  }
  if (typeof r.environment !== 'string') throw invalid('environment');
  if (!Number.isInteger(r.version) || (r.version as number) < 0) throw invalid('version');
  if (!Array.isArray(r.flags)) throw invalid('flags');
  if (!Array.isArray(r.segments)) throw invalid('segments');
}

function keyOf(item: unknown, path: string): string {
  const key = (item as { key?: unknown } | null)?.key;
  if (typeof key !== 'string' || key === '') throw invalid(`${path}.key`);
  return key;
}
