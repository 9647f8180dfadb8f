/** An environment at a version a committed write produced. */
export interface CommittedVersion {
  environmentId: string;
  version: number;
}

export type CommitListener = (committed: readonly CommittedVersion[]) => void;

/** Called with the id of the last audit entry a committed write added. */
export type AuditListener = (lastId: number) => void;

/**
 * The commit → delivery edge. `commitChange` announces here the environment versions each
 * write produced, once its transaction has committed; delivery listens. One feed per server,
 * created in `buildServer` and handed to whoever writes and to whoever listens.
 */
export class ChangeFeed {
  private readonly listeners = new Set<CommitListener>();
  private readonly auditListeners = new Set<AuditListener>();

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

  /** Calls `listener` after every committed write that added audit entries (every write that changed something). */
  subscribeAudit(listener: AuditListener): () => void {
    this.auditListeners.add(listener);
    return () => this.auditListeners.delete(listener);
  }

  announceAudit(lastId: number): void {
    for (const listener of this.auditListeners) {
      // As above: the write has committed; the management change stream also polls the log.
      try {
        listener(lastId);
      } catch {}
    }
  }
}
