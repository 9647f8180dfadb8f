import { useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';

export interface Submit {
  /** A submit is in flight: a form that must not be sent twice disables its button meanwhile. */
  busy: boolean;
  /** What the last submit threw, or a refusal found before sending; cleared when one starts. */
  error: unknown;
  /** `error` unless a field shows it beside itself. */
  general: unknown;
  setError: (error: unknown) => void;
  /** Sends the form with `work`; what it throws is shown, never lost to an unhandled rejection. */
  run: (work: () => Promise<unknown>) => Promise<void>;
}

/** The state a form keeps around one submit at a time. */
export function useSubmit(): Submit {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const general = error instanceof ApiError && error.field !== '' ? undefined : error;
  return { busy, error, general, setError, run };
}
