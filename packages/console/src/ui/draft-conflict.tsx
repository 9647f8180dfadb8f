import type { ApiError } from '../api/client.js';

/**
 * What a form with unsaved changes shows when its subject changed elsewhere: the choice between
 * the newer version and the draft, and, after a save refused with 412, why.
 */
export function DraftConflict(props: {
  what: string;
  incoming: boolean;
  refused: ApiError | undefined;
  onReload: () => void;
  onKeep: () => void;
}) {
  if (props.refused !== undefined) {
    return (
      <div class="conflict" role="alert">
        <p>
          Not saved: someone changed this {props.what} after your draft was started ({props.refused.code}). Reload to
          see their version; your draft is lost.
        </p>
        <button type="button" onClick={props.onReload}>
          Reload
        </button>
      </div>
    );
  }
  if (!props.incoming) return null;
  return (
    <div class="conflict" role="alert">
      <p>Someone else just changed this {props.what}, and you have unsaved changes.</p>
      <button type="button" onClick={props.onReload}>
        Reload
      </button>
      <button type="button" onClick={props.onKeep}>
        Keep my draft
      </button>
    </div>
  );
}
