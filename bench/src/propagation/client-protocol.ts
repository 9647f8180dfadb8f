/** Messages between the bench's main thread and its SSE client threads. */

import type { ClientKind } from './streams.js';

/** How many streams a thread opens on one server port. */
export interface StreamTarget {
  readonly port: number;
  readonly count: number;
}

export interface OpenCommand {
  readonly type: 'open';
  readonly client: ClientKind;
  readonly targets: readonly StreamTarget[];
  /** A server SDK key of the environment whose flag is flipped. */
  readonly token: string;
  /** Streams opened at once; the next batch starts when every stream of this one got its `put`. */
  readonly batchSize: number;
  /** Longest wait for one stream's `put`. */
  readonly timeoutMs: number;
}

export type ToClientThread = OpenCommand | { readonly type: 'close' };

/** Every stream of the thread got the patch of `version`; times from `monotonicMs`. */
export interface VersionReport {
  readonly type: 'version';
  readonly version: number;
  readonly firstAt: number;
  readonly lastAt: number;
  /** `enabled` of the flag in the patch, read from the thread's first stream. */
  readonly enabled: boolean | undefined;
  /** Bytes of that patch's data, read from the same stream. */
  readonly bytes: number | undefined;
}

export type FromClientThread =
  | { readonly type: 'opened'; readonly count: number }
  | VersionReport
  /** Opening failed, or an open stream ended or failed: the run cannot be trusted any more. */
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'closed' };

/**
 * Milliseconds on CLOCK_MONOTONIC, which every thread and process of the machine shares: a
 * client thread's receive time and the main thread's API response time compare directly.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
