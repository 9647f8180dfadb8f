interface Versioned {
  readonly environment: string;
  readonly version: number;
}

/**
 * The one version rule for whole rulesets, in both SDKs: a server's `put` older than the
 * server's ruleset being served is ignored. Two instances behind a load balancer may be a moment
 * apart, and an older put must not undo a newer one. Only the server's own data is protected:
 * cached and bootstrap rulesets are stand-ins the server always replaces, even when its versions
 * start again from a smaller number (a new database), and so is another environment's.
 * (Patches carry their own per-flag and per-segment versions, checked by the evaluators.)
 */
export const isOlderPut = (held: Versioned | undefined, heldFromServer: boolean, next: Versioned): boolean =>
  heldFromServer && next.environment === held?.environment && next.version < held.version;
