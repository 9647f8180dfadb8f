import type { Principal } from '../../auth/principal.js';
import type { Db, Tx } from '../../db/database.js';
import type { ChangeFeed, CommittedVersion } from './change-feed.js';
import * as store from './store.js';

/** Who makes a write and why: recorded with every audit entry. */
export interface Actor {
  principal: Principal;
  reason: string | undefined;
}

/** An audit entry as stored: its record, with the id and time the log gave it and who wrote it why. */
export interface AuditEntry extends AuditRecord {
  id: number;
  createdAt: Date;
  actor: string;
  /** `user:<id>`, `token:<id>`, `key:<id>` or `system`: who acted, however they are named. */
  actorId: string;
  reason: string | null;
}

/** What a write does once it has committed, never before and never for a write that rolled back. */
export type AfterCommit = () => void;

/**
 * Writes what must commit or roll back with the audit entries of a write, in its transaction:
 * the webhook outbox. It may return what to do once the write has committed (wake the
 * dispatcher that sends what it wrote). An interface here so that this, the one write path,
 * depends on no domain.
 */
export type AuditFollower = (tx: Tx, entries: readonly AuditEntry[]) => Promise<AfterCommit | undefined>;

/** What every write needs: the database, and the feed its commits are announced on. Built in `buildServer`. */
export interface Writer {
  db: Db;
  feed: ChangeFeed;
  /** Called with every write's audit entries, inside its transaction. */
  followAudit?: AuditFollower;
}

/** A ruleset entry of one environment: what SDKs receive a patch for. */
export interface EntryRef {
  environmentId: string;
  kind: 'flag' | 'segment';
  key: string;
}

/** One line of the audit log; the actor and the reason come from the write's {@link Actor}. */
export interface AuditRecord {
  projectId: string | null;
  environmentId?: string | null;
  action: string;
  targetKind:
    | 'project'
    | 'environment'
    | 'flag'
    | 'segment'
    | 'key'
    | 'metric'
    | 'release-plan'
    | 'scheduled-change'
    | 'webhook'
    | 'user'
    | 'member'
    | 'token';
  targetKey: string;
  before: unknown;
  after: unknown;
}

/** A write that changes something: at least one audit entry, by type. */
export interface Change<T> {
  /**
   * The ruleset entries the write changes. Each of their environments moves up one version (once,
   * however many of its entries change) and each entry gets an outbox row at that version. Empty
   * for writes outside every ruleset: projects, environments, keys.
   */
  entries: readonly EntryRef[];
  /** Writes the rows, given the new version of each environment of `entries`, and says what the audit log records. */
  apply(versions: ReadonlyMap<string, number>): Promise<{ result: T; audit: readonly [AuditRecord, ...AuditRecord[]] }>;
  /** Environments the write deletes, announced after the commit so that delivery forgets them. */
  removedEnvironments?: readonly CommittedVersion[];
}

/** A write that, once checked against the locked rows, changes nothing (killing a flag that is off). */
export interface NoChange<T> {
  unchanged: T;
}

export const noChange = <T>(result: T): NoChange<T> => ({ unchanged: result });

/**
 * Takes, until the commit, the write lock of these environments (the one every write's version
 * bump takes). A `plan` whose check reads other entries of an environment (a prerequisite or
 * segment cycle, what still refers to a deleted entry) takes it before that check: the check
 * then sees every write committed before, and no other write can commit beside it unseen. Two
 * instances writing the two halves of a cycle at the same moment thus store one, refuse the other.
 */
export async function lockEnvironments(tx: Tx, environmentIds: readonly string[]): Promise<void> {
  await store.lockEnvironments(tx, environmentIds);
}

/**
 * The one write path (DESIGN §5). In one transaction: `plan` locks, reads and checks what it
 * needs and describes the change; then the environment versions move, `apply` writes the rows,
 * and the outbox rows and audit entries (and what follows them) are written here, from the description. Only after the
 * commit are the new versions and the last audit entry announced on the feed: never for a write that rolled back.
 */
export async function commitChange<T>(
  writer: Writer,
  actor: Actor,
  plan: (tx: Tx) => Promise<Change<T> | NoChange<T>>,
): Promise<T> {
  const { result, committed, afterCommit, lastAuditId } = await writer.db.transaction(async (tx) => {
    const change = await plan(tx);
    if ('unchanged' in change)
      return { result: change.unchanged, committed: [], afterCommit: undefined, lastAuditId: undefined };
    const versions = await store.bumpVersions(
      tx,
      change.entries.map((e) => e.environmentId),
    );
    const { result, audit } = await change.apply(versions);
    await store.insertOutbox(tx, change.entries, versions);
    const entries = await store.insertAudit(tx, actor, audit);
    const afterCommit = await writer.followAudit?.(tx, entries);
    const bumped = [...versions].map(([environmentId, version]) => ({ environmentId, version }));
    return {
      result,
      committed: [...bumped, ...(change.removedEnvironments ?? [])],
      afterCommit,
      lastAuditId: entries.at(-1)?.id,
    };
  });
  writer.feed.announce(committed);
  if (lastAuditId !== undefined) writer.feed.announceAudit(lastAuditId);
  // The write has committed: what follows it must not turn it into an error answer.
  try {
    afterCommit?.();
  } catch {}
  return result;
}
