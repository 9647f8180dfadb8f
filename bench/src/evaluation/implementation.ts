import type { BenchContext, FlagId } from './scenario.js';

/** Evaluates one flag for the `index`-th prepared context and tells whether it is on. */
export type Evaluate = (index: number) => boolean | Promise<boolean>;

/**
 * One flag engine set up with the three flags and the contexts converted to its own form ahead
 * of time, so that only the evaluation call itself is timed.
 */
export interface Implementation {
  /** The npm package, also the name shown in the report. */
  readonly name: string;
  /** `evaluate` returns a promise: the harness awaits each call in turn. */
  readonly async: boolean;
  /** How it is set up and called, for the report. */
  readonly notes: string;
  readonly flags: Readonly<Record<FlagId, Evaluate>>;
  close(): Promise<void> | void;
}

export type CreateImplementation = (contexts: readonly BenchContext[]) => Promise<Implementation>;
