/** An environment at a version a committed write produced. */
export interface CommittedVersion {
  environmentId: string;
  version: number;
}

export type CommitListener = (committed: readonly CommittedVersion[]) => void;

/**
 * The commit → delivery edge. `commitChange` announces here the environment versions each
 * write produced, once its transaction has committed; delivery listens. One feed per server,
 * created in `buildServer` and handed to whoever writes and to whoever listens.
 */
export class ChangeFeed {
  private readonly listeners = new Set<CommitListener>();

  /** Calls `listener` after every committed write that changed an environment; returns the unsubscribe. */
  subscribe(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(committed: readonly CommittedVersion[]): void {
    if (committed.length === 0) return;
    for (const listener of this.listeners) {
      // The write has committed: a listener that fails must not turn it into an error answer.
      // Delivery, the listener, catches up through reconciliation anyway.
      try {
        listener(committed);
      } catch {}
    }
  }
}
