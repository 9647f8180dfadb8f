import { SwitchyardError } from '../errors.js';

/**
 * - `initializing`: nothing from the server yet;
 * - `ready`: serving what the server holds, or offline;
 * - `stale`: serving the last known flags (or the cache, or a bootstrap) while the server cannot
 *   be reached;
 * - `failed`: the server refused the key (or an offline bootstrap is unusable); serving what was
 *   last known, never retrying;
 * - `closed`.
 */
export type ClientStatus = 'initializing' | 'ready' | 'stale' | 'failed' | 'closed';

/** What the state announces; the client's emitter takes these. */
export interface StateEvents {
  /** Flags are served: once at first, and again after every `stale` period. */
  ready: () => void;
  stale: (error: SwitchyardError) => void;
}

/**
 * The status and readiness of a client, the one state machine of both SDKs:
 *
 * ```
 * initializing ──current──► ready ◄──current── stale
 *      │                      └──────lost──────►  ▲
 *      └──lost, with cached or bootstrap flags────┘  (ready, then stale, at once)
 * any but closed ──fail──► failed;  any ──close──► closed
 * ```
 *
 * `waitForReady` resolves at the first `ready`, and rejects with the failure, or `CLOSED`, when
 * the client ends before that; the outcome never changes afterwards.
 */
export interface ClientState {
  readonly status: ClientStatus;
  /** The client holds what the server holds (or is offline with its bootstrap). */
  current(): void;
  /**
   * The server cannot be reached. `serving`: cached or bootstrap flags are there, which before
   * the first `ready` makes the client ready, and stale.
   */
  lost(error: SwitchyardError, serving: boolean): void;
  /** Cached flags arrived after the server was already found unreachable (a slow cache read). */
  served(): void;
  /** Ends the client (the key was refused): `waitForReady` rejects with `error` unless it was ready. */
  fail(error: SwitchyardError): void;
  close(): void;
  /**
   * Resolves at the first `ready`; rejects with the failure, or `CLOSED`, when the client ends
   * before that. The outcome never changes afterwards. Each client races it against its timeout.
   */
  readonly ready: Promise<void>;
}

// Closures rather than a class, and no more than both SDKs need: written to fit the browser's
// 5 KB bundle, which does not take it yet (docs/architecture.md, "The one client").
export function clientState(
  emit: <E extends keyof StateEvents>(event: E, ...args: Parameters<StateEvents[E]>) => void,
): ClientState {
  let status: ClientStatus = 'initializing';
  /** Why the server could not be reached before the first `ready`. */
  let unreachable: SwitchyardError | undefined;
  let settle!: [() => void, (error: SwitchyardError) => void];
  const ready = new Promise<void>((resolve, reject) => {
    settle = [resolve, reject];
  });
  // Rejected when nobody waits (a client that was never awaited): not an unhandled rejection.
  ready.catch(() => {});

  const toReady = (next: ClientStatus) => {
    status = next;
    settle[0]();
    emit('ready');
  };
  const toStale = (error: SwitchyardError) => {
    status = 'stale';
    emit('stale', error);
  };
  /** Before the first `ready`, cached or bootstrap flags served: ready, and at once stale. */
  const fallback = (error: SwitchyardError) => {
    toReady('stale');
    toStale(error);
  };
  // A settled promise never changes, so whatever ends the client after its first `ready` leaves
  // `waitForReady` resolving, and only the first of `fail` and `close` counts before it.
  const end = (last: ClientStatus, error: SwitchyardError) => {
    status = last;
    settle[1](error);
  };

  return {
    get status() {
      return status;
    },
    current() {
      if (status === 'initializing' || status === 'stale') toReady('ready');
    },
    lost(error, serving) {
      if (status === 'ready') toStale(error);
      else if (status === 'initializing') {
        unreachable = error;
        if (serving) fallback(error);
      }
    },
    served() {
      if (unreachable && status === 'initializing') fallback(unreachable);
    },
    fail(error) {
      if (status !== 'closed') end('failed', error);
    },
    close() {
      end('closed', new SwitchyardError('CLOSED', 'closed before ready'));
    },
    ready,
  };
}
