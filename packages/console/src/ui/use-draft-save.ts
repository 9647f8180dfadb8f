import { useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import type { DraftState } from './use-draft.js';
import { type Submit, useSubmit } from './use-submit.js';

export interface DraftSave<D> extends Submit {
  /** The last save succeeded and the draft has not changed since. */
  saved: boolean;
  /** The save met a newer version than the draft's base (412). */
  refused: ApiError | undefined;
  /** A change of the draft: "saved" no longer holds. */
  change: (next: D) => void;
  /** Called by the save once the API took it. */
  succeeded: () => void;
  /** Drops the draft for the newest version; after a refused save, `onStale` has it read again. */
  reload: () => void;
}

/**
 * Saving a draft guarded by its version (`If-Match`): a refusal because someone changed it
 * meanwhile is told apart from an error, and shown by `DraftSaveOutcome` with the choice to reload.
 */
export function useDraftSave<S, D>(drafted: DraftState<S, D>, onStale: () => void): DraftSave<D> {
  const submit = useSubmit();
  const [saved, setSaved] = useState(false);
  const { error, setError } = submit;
  const refused = error instanceof ApiError && error.status === 412 ? error : undefined;
  return {
    ...submit,
    general: refused === undefined ? submit.general : undefined,
    saved,
    refused,
    change: (next) => {
      drafted.change(next);
      setSaved(false);
    },
    succeeded: () => {
      setSaved(true);
      drafted.saved();
    },
    reload: () => {
      drafted.reload();
      setError(undefined);
      if (refused !== undefined) onStale();
    },
  };
}
