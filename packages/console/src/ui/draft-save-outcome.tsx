import { DraftConflict } from './draft-conflict.js';
import { ErrorText } from './errors.js';
import type { DraftState } from './use-draft.js';
import type { DraftSave } from './use-draft-save.js';

/** Below a draft's fields: why its save failed, a conflict with someone else's change, or that it was saved. */
export function DraftSaveOutcome<D>(props: {
  /** What the draft is of, as the conflict names it: "configuration", "flag", "segment". */
  what: string;
  /** The notice of a successful save. */
  savedText: string;
  drafted: DraftState<unknown, D>;
  save: DraftSave<D>;
}) {
  const { drafted, save } = props;
  return (
    <>
      <ErrorText error={save.general} />
      <DraftConflict
        what={props.what}
        incoming={drafted.incoming !== undefined}
        refused={save.refused}
        onReload={save.reload}
        onKeep={drafted.keep}
      />
      {save.saved && (
        <p class="notice" role="status">
          {props.savedText}
        </p>
      )}
    </>
  );
}
