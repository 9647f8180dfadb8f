import { useEffect, useState } from 'preact/hooks';

export interface DraftState<S, D> {
  draft: D;
  /** What the draft was started from: its version is the one a save sends as `If-Match`. */
  base: S;
  /** A newer version that arrived while the draft had unsaved changes, until the person chooses. */
  incoming: S | undefined;
  change: (next: D) => void;
  /** Drops the draft for the newest version. */
  reload: () => void;
  /** Keeps the draft on its old base: a save then meets the newer version as a 412. */
  keep: () => void;
  /** After a successful save: the next version to arrive replaces the draft. */
  saved: () => void;
}

export interface DraftOptions<S> {
  /**
   * A version the person's own write elsewhere on the page produced without changing what the
   * draft edits (saving a flag's variants moves every configuration's version): the draft keeps
   * its changes and moves its base there, instead of asking as for someone else's change.
   */
  ours?: (next: S, base: S) => boolean;
  /** Such a write is still in flight: new versions wait until it tells which ones it made. */
  settling?: boolean;
}

/**
 * A form's draft of something that can change under it (someone else's edit, arriving live).
 * An untouched draft follows each new version; one with unsaved changes is never silently
 * replaced: the new version waits in `incoming` for the person to reload or keep their draft.
 */
export function useDraft<S, D>(
  source: S,
  toDraft: (s: S) => D,
  versionOf: (s: S) => number,
  options: DraftOptions<S> = {},
): DraftState<S, D> {
  const [base, setBase] = useState(source);
  const [draft, setDraft] = useState(() => toDraft(source));
  const [dirty, setDirty] = useState(false);
  const [incoming, setIncoming] = useState<S>();
  const adopt = (s: S) => {
    setBase(s);
    setDraft(toDraft(s));
    setDirty(false);
    setIncoming(undefined);
  };
  const settling = options.settling === true;
  const ours = options.ours?.(source, base) === true;
  useEffect(() => {
    if (versionOf(source) === versionOf(base)) return;
    if (!dirty) adopt(source);
    else if (settling) return;
    else if (ours) {
      setBase(source);
      setIncoming(undefined);
    } else setIncoming(source);
  }, [source, settling, ours]);
  return {
    draft,
    base,
    incoming,
    change: (next) => {
      setDraft(next);
      setDirty(true);
    },
    reload: () => adopt(source),
    keep: () => setIncoming(undefined),
    saved: () => setDirty(false),
  };
}
