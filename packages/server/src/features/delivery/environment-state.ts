import { brotliCompressSync, gzipSync } from 'node:zlib';
import {
  type Flag,
  type Patch,
  type Ruleset,
  SCHEMA_VERSION,
  type Segment,
  viewFlag,
  viewSegment,
} from '@switchyard/core';
import type { ChangeBatch, EnvironmentSnapshot } from '../rulesets/read-model.js';

/** What a key reads: server keys the whole ruleset, client keys only what browsers may see. */
export type View = 'server' | 'client';

export interface ServedBody {
  version: number;
  etag: string;
  json: string;
  gzip(): Buffer;
  brotli(): Buffer;
}

/** How many patches each view keeps for `Last-Event-ID` resumes. */
export const RING_CAPACITY = 4096;

type ItemId = `${'flag' | 'segment'}:${string}`;
type Item = Flag | Segment;

interface ViewState {
  /** Items and their versions as this view last served them. */
  items: Map<ItemId, Item>;
  /** Recent patches, oldest first. */
  ring: Patch[];
  /** Every patch with a version above this one is still in `ring`. */
  coveredFrom: number;
  body: ServedBody | undefined;
}

/**
 * One environment's ruleset as this instance serves it: kept in memory, serialised once per
 * version and view, with the recent patches of each view for resuming streams.
 */
export class EnvironmentState {
  readonly environmentId: string;
  readonly name: string;
  private currentVersion: number;
  private readonly flags = new Map<string, Flag>();
  private readonly segments = new Map<string, Segment>();
  private readonly views: Record<View, ViewState>;
  /**
   * Browsers evaluate flags as the client view gives them, checked here (see `clientView`).
   * Remembered per stored object, so an unchanged item keeps its identity from one diff to the next.
   */
  private readonly clientViews = new WeakMap<Item, Item>();

  constructor(snapshot: EnvironmentSnapshot) {
    this.environmentId = snapshot.environmentId;
    this.name = snapshot.name;
    this.currentVersion = snapshot.version;
    for (const f of snapshot.flags) this.flags.set(f.key, f);
    for (const s of snapshot.segments) this.segments.set(s.key, s);
    const fresh = (view: View): ViewState => ({
      items: this.itemsOf(view),
      ring: [],
      coveredFrom: snapshot.version,
      body: undefined,
    });
    this.views = { server: fresh('server'), client: fresh('client') };
  }

  get version(): number {
    return this.currentVersion;
  }

  /**
   * Applies a batch of committed changes and returns the patches each view's streams must get,
   * in version order. Server keys get one patch per change; client keys get the difference in
   * what they may see (a flag leaving `clientSide` becomes a deletion, a segment a client flag
   * starts to need becomes an insertion).
   */
  apply(batch: ChangeBatch): Record<View, Patch[]> {
    const lastChange = new Map<ItemId, number>();
    for (const change of batch.changes) {
      lastChange.set(`${change.kind}:${change.key}`, change.version);
      if (change.kind === 'flag') {
        if (change.value === null) this.flags.delete(change.key);
        else this.flags.set(change.key, change.value as Flag);
      } else if (change.value === null) this.segments.delete(change.key);
      else this.segments.set(change.key, change.value as Segment);
    }
    this.currentVersion = batch.version;
    const server = batch.changes.map(
      (c) => ({ kind: c.kind, key: c.key, version: c.version, value: c.value }) as Patch,
    );
    const client = this.diff('client', lastChange, batch.version);
    this.record('server', server, this.itemsOf('server'));
    this.record('client', client.patches, client.items);
    return { server, client: client.patches };
  }

  /** The patches after `version` for a resuming stream, or `undefined` when it needs a fresh `put`. */
  patchesSince(view: View, version: number): Patch[] | undefined {
    const v = this.views[view];
    if (version > this.currentVersion || version < v.coveredFrom) return undefined;
    return v.ring.filter((p) => p.version > version);
  }

  body(view: View): ServedBody {
    const v = this.views[view];
    if (v.body === undefined || v.body.version !== this.currentVersion) v.body = this.serialise(view);
    return v.body;
  }

  private serialise(view: View): ServedBody {
    const items = [...this.views[view].items.entries()];
    const ruleset: Ruleset = {
      schemaVersion: SCHEMA_VERSION,
      environment: this.name,
      version: this.currentVersion,
      flags: items.filter(([id]) => id.startsWith('flag:')).map(([, item]) => item as Flag),
      segments: items.filter(([id]) => id.startsWith('segment:')).map(([, item]) => item as Segment),
    };
    const json = JSON.stringify(ruleset);
    let gzip: Buffer | undefined;
    let brotli: Buffer | undefined;
    return {
      version: this.currentVersion,
      etag: `"${this.currentVersion}"`,
      json,
      gzip: () => {
        gzip ??= gzipSync(json);
        return gzip;
      },
      brotli: () => {
        brotli ??= brotliCompressSync(json);
        return brotli;
      },
    };
  }

  private diff(view: View, lastChange: Map<ItemId, number>, batchVersion: number) {
    const before = this.views[view].items;
    const after = this.itemsOf(view);
    const patches: Patch[] = [];
    for (const [id, item] of after) {
      if (before.get(id) !== item) patches.push(patchOf(id, item.version, item));
    }
    for (const id of before.keys()) {
      if (!after.has(id)) patches.push(patchOf(id, lastChange.get(id) ?? batchVersion, null));
    }
    patches.sort((a, b) => a.version - b.version);
    return { patches, items: after };
  }

  private record(view: View, patches: Patch[], items: Map<ItemId, Item>): void {
    const v = this.views[view];
    v.items = items;
    v.ring.push(...patches);
    if (v.ring.length > RING_CAPACITY) {
      const dropped = v.ring.splice(0, v.ring.length - RING_CAPACITY);
      v.coveredFrom = (dropped.at(-1) as Patch).version;
      // Patches sharing the newest dropped version are incomplete in the ring: drop them too.
      while (v.ring.length > 0 && (v.ring[0] as Patch).version === v.coveredFrom) v.ring.shift();
    }
  }

  /** The items a view serves, keyed for diffing. */
  private itemsOf(view: View): Map<ItemId, Item> {
    const items = new Map<ItemId, Item>();
    if (view === 'server') {
      for (const f of this.flags.values()) items.set(`flag:${f.key}`, f);
      for (const s of this.segments.values()) items.set(`segment:${s.key}`, s);
      return items;
    }
    const needed = new Set<string>();
    const need = (rules: { clauses: { op: string; values: unknown[] }[] }[] | undefined) => {
      for (const rule of rules ?? []) {
        for (const clause of rule.clauses) {
          if (clause.op !== 'inSegment') continue;
          for (const key of clause.values) {
            const k = String(key);
            if (needed.has(k)) continue;
            needed.add(k);
            need(this.segments.get(k)?.rules);
          }
        }
      }
    };
    // Browsers get the flags marked clientSide and only the segments those flags reach. A
    // prerequisite that is not clientSide stays on the server, so in a browser it is not met.
    const clientFlags = [...this.flags.values()].filter((f) => f.clientSide === true);
    for (const f of clientFlags) {
      items.set(`flag:${f.key}`, this.viewed(f, viewFlag));
      need(f.rules);
    }
    for (const key of [...needed].sort()) {
      const s = this.segments.get(key);
      if (s !== undefined) items.set(`segment:${key}`, this.viewed(s, viewSegment));
    }
    return items;
  }

  private viewed<T extends Item>(item: T, view: (item: T) => T): T {
    let v = this.clientViews.get(item) as T | undefined;
    if (v === undefined) {
      v = view(item);
      this.clientViews.set(item, v);
    }
    return v;
  }
}

function patchOf(id: ItemId, version: number, value: Item | null): Patch {
  const colon = id.indexOf(':');
  const kind = id.slice(0, colon) as 'flag' | 'segment';
  return { kind, key: id.slice(colon + 1), version, value } as Patch;
}
