import { ORGANISATION, type Principal } from '../../auth/principal.js';
import { AppError, isDatabaseUnavailable } from '../../errors.js';
import { type Actor, commitChange, noChange } from '../changes/commit-change.js';
import { environmentById } from '../environments/service.js';
import {
  type ConfigPatch,
  type FlagWriter,
  flagById,
  lockFlagForWrite,
  patchedConfig,
  prepareConfigChange,
  readConfig,
  refusePatchPatterns,
  tellConfigWrite,
} from '../flags/service.js';
import { projectById } from '../projects/service.js';
import { describeChange, readableTime, scheduleAudit, writeActionOf } from './service.js';
import * as store from './store.js';

/** Unexpected errors (not a refusal, not the database being away) a change may meet before it is `failed`. */
export const MAX_ATTEMPTS = 5;

/** Due changes applied per pass; the rest wait for the next. */
const BATCH = 100;

/** What the audit log and a change's `settledBy` call the scheduler. */
export const SCHEDULER = 'scheduler';

export interface ScheduleRunnerOptions {
  /** The flags' writer: the configuration write hook (a running release plan pauses) is told as for a person's write. */
  writer: FlagWriter;
  now: () => number;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Applies due scheduled changes. Not a timer of its own: the release plan controller runs
 * {@link ScheduleRunner.runDue} on its tick, so only the instance holding the plans' lock does.
 * Each change is applied, refused or failed in the one transaction that moves it out of
 * `pending` (and only while it still is), so it fires once across instances and restarts.
 */
export class ScheduleRunner {
  constructor(private readonly options: ScheduleRunnerOptions) {}

  /** Works through the changes due now; an error with one is reported and the others go on. */
  async runDue(onError: (err: unknown, context: string) => void): Promise<void> {
    const ids = await store.dueIds(this.options.writer.db, new Date(this.options.now()), BATCH);
    for (const id of ids) {
      try {
        await this.fire(id);
      } catch (err) {
        onError(err, `scheduled change ${id}`);
      }
    }
  }

  /**
   * Applies the pending change `id` through the one write path, or records why it is refused:
   * its configuration moved and it was to be refused then, or it is no longer valid (the flag
   * was archived, a variant it serves removed…). Public so that tests can race two instances.
   */
  async fire(id: number): Promise<void> {
    const { writer: w } = this.options;
    const row = await store.findScheduled(w.db, id);
    if (row === undefined || row.state !== 'pending') return;
    const project = await projectById(w.db, row.projectId);
    const flag = await flagById(w.db, row.flagId);
    const env = await environmentById(w.db, row.environmentId);
    // Deleting any of them deleted the change with it.
    if (project === undefined || flag === undefined || env === undefined) return;
    const change = row.change as ConfigPatch;
    const why = `scheduled change #${row.id} by ${row.scheduledBy}: ${describeChange(change)} at ${readableTime(row.at)}${row.reason === null ? '' : ` (${row.reason})`}`;
    const actor = schedulerActor(row, why);
    try {
      await refusePatchPatterns(change);
      await commitChange(w, actor, async (tx) => {
        // The flag before the change: the order every configuration write locks them in.
        await lockFlagForWrite(tx, project, flag.key);
        const claimed = await store.claimPending(tx, id);
        if (claimed === undefined) return noChange(undefined);
        const { config } = await readConfig(tx, project, flag.key, env.key);
        const moved = config.version !== claimed.baseVersion;
        if (moved && claimed.ifVersionMoved === 'refuse') {
          throw new AppError(
            'CONFLICT',
            `the configuration moved from version ${claimed.baseVersion} to ${config.version} since the change was scheduled`,
          );
        }
        const prepared = await prepareConfigChange(tx, project, flag.key, env.key, writeActionOf(change), (current) =>
          patchedConfig(current, change),
        );
        const next = prepared.next ?? config;
        const over = moved ? ` over version ${config.version} (scheduled on ${claimed.baseVersion})` : '';
        if (sameJson(fieldsOf(next), fieldsOf(config))) {
          // Nothing to write: SDKs need no patch, and the environment keeps its version.
          return {
            entries: [],
            apply: async () => {
              const after = await store.settle(tx, id, {
                state: 'applied',
                appliedVersion: config.version,
                outcome: `applied${over}: the configuration already was as the change makes it`,
                settledBy: SCHEDULER,
              });
              return {
                result: undefined,
                audit: [scheduleAudit(project.id, 'apply', claimed, after, flag.key, env.key)],
              };
            },
          };
        }
        return {
          entries: [prepared.entry],
          apply: async (versions) => {
            const version = versions.get(env.id) as number;
            const { audit } = await prepared.write(version);
            const told = await tellConfigWrite(w, tx, {
              project,
              env,
              flag,
              action: writeActionOf(change),
              before: config,
              after: next,
            });
            const after = await store.settle(tx, id, {
              state: 'applied',
              appliedVersion: version,
              outcome: `applied at version ${version}${over}`,
              settledBy: SCHEDULER,
            });
            return {
              result: undefined,
              audit: [audit, ...told, scheduleAudit(project.id, 'apply', claimed, after, flag.key, env.key)],
            };
          },
        };
      });
    } catch (err) {
      if (err instanceof AppError && err.code !== 'INTERNAL' && err.code !== 'UNAVAILABLE') {
        await this.settleWithout(row, 'refused', `refused: ${err.message}`, why);
        return;
      }
      if (!isDatabaseUnavailable(err)) {
        const attempts = await store.countAttempt(w.db, id);
        if (attempts >= MAX_ATTEMPTS) {
          await this.settleWithout(
            row,
            'failed',
            `failed: ${attempts} attempts to apply it ended in an unexpected error (see the server's log)`,
            why,
          );
        }
      }
      throw err;
    }
  }

  /** Ends a pending change without applying it, with its own audit entry (`schedule.refuse` or `.fail`). */
  private async settleWithout(
    row: store.ScheduledChange,
    state: 'refused' | 'failed',
    outcome: string,
    why: string,
  ): Promise<void> {
    const { id } = row;
    await commitChange(this.options.writer, schedulerActor(row, `${why} → ${outcome}`), async (tx) => {
      const claimed = await store.claimPending(tx, id);
      if (claimed === undefined) return noChange(undefined);
      const flag = await flagById(tx, claimed.flagId);
      const env = await environmentById(tx, claimed.environmentId);
      if (flag === undefined || env === undefined) return noChange(undefined);
      return {
        entries: [],
        apply: async () => {
          const after = await store.settle(tx, id, { state, outcome, settledBy: SCHEDULER });
          return {
            result: undefined,
            audit: [
              scheduleAudit(
                claimed.projectId,
                state === 'refused' ? 'refuse' : 'fail',
                claimed,
                after,
                flag.key,
                env.key,
              ),
            ],
          };
        },
      };
    });
  }
}

/** The configuration's fields, without its version and times: what a change can change. */
function fieldsOf(c: {
  enabled: boolean;
  offVariant: unknown;
  prerequisites: unknown;
  targets: unknown;
  rules: unknown;
  defaultServe: unknown;
  salt: unknown;
  measured: boolean;
}) {
  return [c.enabled, c.offVariant, c.prerequisites, c.targets, c.rules, c.defaultServe, c.salt, c.measured];
}

/**
 * The scheduler acting on the scheduling person's behalf: the audit log names both
 * (`scheduler for alice@example.com`); the stable actor id is `system`, and the person's own id
 * is in the `schedule.*` entry's `scheduledById`.
 */
function schedulerActor(row: Pick<store.ScheduledChange, 'scheduledBy'>, reason: string): Actor {
  const principal: Principal = {
    name: `${SCHEDULER} for ${row.scheduledBy}`,
    id: 'system',
    userId: null,
    via: 'system',
    access: ORGANISATION,
  };
  return { principal, reason };
}
