import type { IncomingHttpHeaders } from 'node:http';
import { type Principal, roleIn } from '../../auth/principal.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { ChangeFeed } from '../changes/change-feed.js';
import { projectById } from '../projects/service.js';
import { type ChangeFrame, type ChangeStream, changeFrame, HEARTBEAT_COMMENT } from './change-stream.js';
import { auditEntryView } from './entry-view.js';
import {
  type AuditEntry,
  anyStillRunning,
  auditAfter,
  newestAuditId,
  projectAuditBetween,
  runningWrites,
} from './store.js';

/** How instances tell each other that the audit log grew: the change bus carries it. */
export interface AuditSignals {
  publishAudit(lastId: number): void;
  subscribeAudit(onAudit: (lastId: number) => void): void;
}

export interface ChangeStreamSettings {
  /**
   * How often the log is read while streams are open, whatever the bus says: what brings the
   * entries of other instances when Redis lost a message, or when there is no Redis.
   */
  pollIntervalMs: number;
  /** A comment to every stream, and its credentials checked again, this often. */
  heartbeatIntervalMs: number;
  /** Streams this instance holds open at once; past it a new one is answered 503. */
  maxOpen: number;
  /** Streams one principal (a session's person, a personal token, a key) holds open at once; past it 429. */
  maxPerPrincipal: number;
  /** A stream with more unsent bytes than this is cut off. */
  maxBufferedBytes: number;
  /** Reconnection delay advised to EventSource clients. */
  retryMs: number;
}

export const DEFAULT_CHANGE_STREAMS = { pollIntervalMs: 1000, maxOpen: 1000, maxPerPrincipal: 20 };

export interface ChangeStreamsOptions {
  db: Db;
  /** This instance's commits. */
  feed: ChangeFeed;
  /** Other instances' commits. */
  signals: AuditSignals;
  settings: ChangeStreamSettings;
  /** Who a stream's credentials stand for now; `undefined` once they no longer authenticate. */
  recheck(credentials: IncomingHttpHeaders): Promise<Principal | undefined>;
  onError(err: unknown, context: string): void;
}

/** Entries read from the log at once. */
const BATCH = 500;
/** Entries of one stream's replay read at once. */
const REPLAY_PAGE = 200;
/** Replays reading Postgres at once: a reconnecting crowd of consoles must leave the pool to the rest. */
const REPLAYS_AT_ONCE = 2;
/** A replay waits for the client to read once this much is buffered. */
const REPLAY_HIGH_WATER = 256 * 1024;
/** How soon the log is read again while an entry waits behind an id whose write may still commit. */
const GAP_RETRY_MS = 20;
/** A new stream waits this long at most for this instance to know where the log stands. */
const READY_WITHIN_MS = 5000;

/** Entries after which the credentials of open streams are checked at once, not at the next heartbeat. */
const SECURITY_KINDS: readonly string[] = ['key', 'token', 'user', 'member'];

/**
 * The management change stream of every project, on one instance: the audit log, live. Every
 * write announces its last entry id (this instance's on the feed, others' on the bus), and one
 * reader follows the log by id from Postgres and hands each entry to the streams of its
 * project; a timer reads it too, in case a message was lost. Ids are taken when a write inserts
 * its entries, not when it commits, so the reader never passes an id whose write may still
 * commit: what follows such a gap waits until the writes running when it was seen have ended
 * (a write that rolled back leaves a gap for good).
 * SDK delivery shares nothing with it but the database pool, of which it uses little.
 */
export class ChangeStreams {
  /** Every entry up to this id has been handed out (or predates this instance); `undefined` until known. */
  private cursor: number | undefined;
  /** Entries up to `upTo` were read past a gap; the gap is final once the writes running then have ended. */
  private gap: { upTo: number; running: readonly string[] } | undefined;
  /** Writes running at the start: until they end, they may still add entries below the cursor. */
  private startRunning: readonly string[] | undefined;
  private readonly byProject = new Map<string, Set<ChangeStream>>();
  private readonly perPrincipal = new Map<string, number>();
  private open = 0;
  private work: Promise<void> = Promise.resolve();
  private readQueued = false;
  private gapTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private replaying = 0;
  private readonly replayTurns: (() => void)[] = [];
  private checking: Promise<void> | undefined;
  private checkAgain = false;
  private stopListening: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: ChangeStreamsOptions) {}

  start(): void {
    const { feed, signals, settings } = this.options;
    // This instance's own signal comes back through the bus: the read it asked for already sees that entry.
    let ownLast: number | undefined;
    this.stopListening = feed.subscribeAudit((lastId) => {
      ownLast = lastId;
      signals.publishAudit(lastId);
      this.read();
    });
    signals.subscribeAudit((lastId) => {
      if (lastId !== ownLast) this.read();
    });
    this.timers.push(
      setInterval(() => {
        if (this.open > 0 || this.cursor === undefined) this.read();
      }, settings.pollIntervalMs).unref(),
      setInterval(() => this.heartbeat(), settings.heartbeatIntervalMs).unref(),
    );
    this.read();
  }

  /**
   * Takes a place for a new stream of `principalId`, or refuses it: 429 past the principal's
   * bound, 503 past the instance's. Returns what gives the place back.
   */
  reserve(principalId: string): () => void {
    const { maxOpen, maxPerPrincipal } = this.options.settings;
    if (this.closed || this.open >= maxOpen) {
      throw new AppError('UNAVAILABLE', `this instance holds its most change streams (${maxOpen}); retry later`, {
        limit: maxOpen,
      });
    }
    const held = this.perPrincipal.get(principalId) ?? 0;
    if (held >= maxPerPrincipal) {
      throw new AppError(
        'RATE_LIMITED',
        `at most ${maxPerPrincipal} change streams may be open at once for one person, token or key; close one first`,
        { limit: maxPerPrincipal },
      );
    }
    this.open++;
    this.perPrincipal.set(principalId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.perPrincipal.get(principalId) ?? 1) - 1;
      if (left === 0) this.perPrincipal.delete(principalId);
      else this.perPrincipal.set(principalId, left);
    };
  }

  /** Resolves once this instance knows where the log stands; 503 when Postgres does not tell it in time. */
  async ready(): Promise<void> {
    const deadline = Date.now() + READY_WITHIN_MS;
    while (this.cursor === undefined || this.startRunning !== undefined) {
      if (this.closed || Date.now() > deadline) {
        throw new AppError('UNAVAILABLE', 'the audit log cannot be read now; retry later');
      }
      this.read();
      await this.work;
      if (this.cursor === undefined || this.startRunning !== undefined) await sleep(GAP_RETRY_MS);
    }
  }

  /**
   * Follows the project's entries after `after` (the stream's Last-Event-ID) on `stream`: the
   * stream is registered first, so that live entries are held while the missed ones are read
   * from Postgres up to where the reader stood, then sent after them; none twice, none skipped.
   * Without `after` it starts where the reader stands.
   */
  async attach(stream: ChangeStream, after: number | undefined): Promise<void> {
    const upTo = this.cursor;
    if (upTo === undefined || this.closed || stream.closed) {
      stream.end();
      return;
    }
    let set = this.byProject.get(stream.projectId);
    if (set === undefined) {
      set = new Set();
      this.byProject.set(stream.projectId, set);
    }
    set.add(stream);
    stream.res.once('close', () => this.remove(stream));
    if (after !== undefined && after < upTo) {
      try {
        await this.replay(stream, after, upTo);
      } catch (err) {
        this.options.onError(err, 'change stream replay');
        stream.end();
        return;
      }
    }
    stream.goLive(upTo);
  }

  /** How many change streams this instance holds open. */
  openStreams(): number {
    return this.open;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.gapTimer);
    for (const set of this.byProject.values()) for (const s of set) s.end();
    this.byProject.clear();
    await Promise.allSettled([this.work, this.checking]);
  }

  private remove(stream: ChangeStream): void {
    const set = this.byProject.get(stream.projectId);
    if (set === undefined) return;
    set.delete(stream);
    if (set.size === 0) this.byProject.delete(stream.projectId);
  }

  /** Reads the log once more after whatever read is running; calls while one waits add nothing. */
  private read(): void {
    if (this.readQueued || this.closed) return;
    this.readQueued = true;
    this.work = this.work
      .then(() => {
        this.readQueued = false;
        return this.follow();
      })
      .catch((err: unknown) => this.options.onError(err, 'change stream read'));
  }

  private async follow(): Promise<void> {
    const { db } = this.options;
    if (this.cursor === undefined) {
      this.cursor = await newestAuditId(db);
      this.startRunning = await runningWrites(db);
    }
    // Asked before the read: a write that ends in between is then in what the read sees.
    if (this.startRunning !== undefined && !(await anyStillRunning(db, this.startRunning))) {
      this.startRunning = undefined;
    }
    const gapFinal = this.gap !== undefined && !(await anyStillRunning(db, this.gap.running));
    const entries = await auditAfter(db, this.cursor, BATCH);
    let i = 0;
    let securityRelevant = false;
    const hand = (entry: AuditEntry) => {
      this.dispatch(entry);
      if (SECURITY_KINDS.includes(entry.targetKind) || entry.action === 'project.delete') securityRelevant = true;
    };
    if (this.gap !== undefined && gapFinal) {
      // Every write that could still have held an id up to `upTo` has ended: what is missing there never comes.
      for (; i < entries.length && (entries[i] as AuditEntry).id <= this.gap.upTo; i++) hand(entries[i] as AuditEntry);
      this.cursor = Math.max(this.cursor, this.gap.upTo);
      this.gap = undefined;
    }
    for (; i < entries.length && (entries[i] as AuditEntry).id === this.cursor + 1; i++) {
      hand(entries[i] as AuditEntry);
      this.cursor++;
    }
    if (this.gap !== undefined && this.cursor >= this.gap.upTo) this.gap = undefined;
    if (i < entries.length) {
      this.gap ??= { upTo: (entries.at(-1) as AuditEntry).id, running: await runningWrites(db) };
      this.readSoon();
    } else if (entries.length === BATCH) {
      this.read();
    }
    if (securityRelevant) void this.recheckAll();
  }

  private readSoon(): void {
    if (this.gapTimer !== undefined || this.closed) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      this.read();
    }, GAP_RETRY_MS);
  }

  private dispatch(entry: AuditEntry): void {
    if (entry.projectId === null) return;
    const set = this.byProject.get(entry.projectId);
    if (set === undefined) return;
    const frame = changeFrame(entry.id, JSON.stringify(auditEntryView(entry)));
    for (const s of set) s.deliver(frame);
  }

  private async replay(stream: ChangeStream, after: number, upTo: number): Promise<void> {
    await this.replayTurn();
    try {
      let from = after;
      while (from < upTo && !stream.closed) {
        const page = await projectAuditBetween(this.options.db, stream.projectId, from, upTo, REPLAY_PAGE);
        for (const entry of page) {
          const frame: ChangeFrame = changeFrame(entry.id, JSON.stringify(auditEntryView(entry)));
          if (!stream.send(frame)) return;
        }
        if (page.length < REPLAY_PAGE) return;
        from = (page.at(-1) as AuditEntry).id;
        await stream.drained(REPLAY_HIGH_WATER);
      }
    } finally {
      this.replayDone();
    }
  }

  private async replayTurn(): Promise<void> {
    if (this.replaying < REPLAYS_AT_ONCE) {
      this.replaying++;
      return;
    }
    await new Promise<void>((resolve) => this.replayTurns.push(resolve));
  }

  /** Hands the replay's turn to the next one waiting, if any. */
  private replayDone(): void {
    const next = this.replayTurns.shift();
    if (next === undefined) this.replaying--;
    else next();
  }

  private heartbeat(): void {
    for (const set of this.byProject.values()) for (const s of set) s.write(HEARTBEAT_COMMENT);
    void this.recheckAll();
  }

  /**
   * Checks every open stream's credentials and role again, and ends those that no longer hold:
   * a session signed out or expired, a token or key revoked, a member removed, a project deleted.
   * Streams sharing credentials are checked once.
   */
  private async recheckAll(): Promise<void> {
    if (this.checking !== undefined) {
      this.checkAgain = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.checkAgain = false;
        await this.recheckOnce().catch((err: unknown) => this.options.onError(err, 'change stream recheck'));
      } while (this.checkAgain && !this.closed);
    })();
    await this.checking;
    this.checking = undefined;
  }

  private async recheckOnce(): Promise<void> {
    const byCredentials = new Map<string, ChangeStream[]>();
    for (const set of this.byProject.values()) {
      for (const s of set) {
        const key = `${s.credentials.authorization ?? ''}\n${s.credentials.cookie ?? ''}`;
        byCredentials.set(key, [...(byCredentials.get(key) ?? []), s]);
      }
    }
    const projects = new Map<string, boolean>();
    const exists = async (projectId: string) => {
      let known = projects.get(projectId);
      if (known === undefined) {
        known = (await projectById(this.options.db, projectId)) !== undefined;
        projects.set(projectId, known);
      }
      return known;
    };
    for (const streams of byCredentials.values()) {
      const first = streams[0] as ChangeStream;
      const principal = await this.options.recheck(first.credentials);
      for (const s of streams) {
        if (principal === undefined || roleIn(principal, s.projectId) === undefined || !(await exists(s.projectId))) {
          s.end();
        }
      }
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
