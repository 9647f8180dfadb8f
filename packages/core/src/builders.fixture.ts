import { Murmur3Utf8 } from './bucket.js';
import { compileFlag } from './compile-flag.js';
import { compileSegment } from './compile-segment.js';
import { type CompiledFlag, type FlagScope, runFlag } from './flag-walk.js';
import { allMatch, compileClause } from './operators.js';
import { type CompiledSegment, type EvalScope, semverMemo } from './scope.js';
import type { Clause, EvaluationContext, Flag, Rule, Ruleset, Segment, WeightedVariant } from './types.js';

/**
 * Builders shared by the core's unit tests: flags, rulesets, clauses and scopes.
 * Not a test file and not part of the package: the build leaves `*.fixture.ts` out.
 */

// --- Flags and rulesets ---------------------------------------------------------------------

/** An enabled boolean flag with variants `on` (true) and `off` (false), serving `on` by default. */
export function boolFlag(key: string, fields: Partial<Flag> = {}): Flag {
  return {
    key,
    type: 'boolean',
    variants: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    enabled: true,
    defaultServe: { variant: 'on' },
    version: 1,
    ...fields,
  };
}

/** The boolean flag `new-checkout`, serving `off` by default: a valid flag nobody has turned on yet. */
export function checkoutFlag(fields: Partial<Flag> = {}): Flag {
  return boolFlag('new-checkout', { defaultServe: { variant: 'off' }, ...fields });
}

/** A ruleset of schema version 1 holding the given flags and segments. */
export function ruleset(flags: Flag[], segments: Segment[] = [], version = 10, environment = 'production'): Ruleset {
  return { schemaVersion: 1, environment, version, flags, segments };
}

/** Rollout weights from `[variant, weight]` pairs, weights in thousandths of a percent. */
export const split = (...pairs: [string, number][]): WeightedVariant[] =>
  pairs.map(([variant, weight]) => ({ variant, weight }));

// --- Clauses and rules ----------------------------------------------------------------------

/** A clause that matches contexts in any of the given segments. */
export const inSegment = (...keys: string[]): Clause => ({ attribute: 'key', op: 'inSegment', values: keys });

/** A rule serving `on` when all the given clauses match. */
export const onFor = (id: string, clauses: Clause[]): Rule => ({
  id,
  clauses,
  serve: { variant: 'on' },
});

// --- Scopes and compiled flags --------------------------------------------------------------

/** A fresh evaluation scope over the given compiled segments, with nothing under way. */
export function newEvalScope(segments: Map<string, CompiledSegment> = new Map()): EvalScope {
  return { segments, semver: semverMemo(), stack: [], failure: undefined };
}

/** A scope holding the given segments, compiled. */
export function scopeWithSegments(segments: Segment[]): EvalScope {
  return newEvalScope(new Map(segments.map((s) => [s.key, compileSegment(s, s.key)])));
}

/** A fresh scope to compile flags into: no flags, no segments. */
export function newScope(): FlagScope {
  return { flags: new Map(), hasher: new Murmur3Utf8(), ...newEvalScope() };
}

/** Whether a context matches one clause. */
export function clauseMatches(clause: Clause, context: EvaluationContext, scope: EvalScope = newEvalScope()): boolean {
  return allMatch([compileClause(clause)], context, scope);
}

/** Whether a context is in a compiled segment, evaluated as an `inSegment` clause would. */
export function isMember(segment: CompiledSegment, context: EvaluationContext, scope = newEvalScope()): boolean {
  scope.segments.set(segment.key, segment);
  return clauseMatches(inSegment(segment.key), context, scope);
}

const scopes = new WeakMap<CompiledFlag, FlagScope>();

/** Compiles a flag into `scope` (a fresh one by default), where later flags can find it as a prerequisite. */
export function compiled(input: unknown, scope = newScope()): CompiledFlag {
  const flag = compileFlag(input, 'fallback-key', scope.hasher);
  scope.flags.set(flag.key, flag);
  scopes.set(flag, scope);
  return flag;
}

/** What a compiled flag serves to a context, with `caller-default` as the caller's default unless given. */
export function served(flag: CompiledFlag, context: EvaluationContext = {}, defaultValue: unknown = 'caller-default') {
  if (flag.invalid) throw new Error('served() on a broken flag');
  return runFlag(flag, context, defaultValue, scopes.get(flag) ?? newScope());
}
