import { useState } from 'preact/hooks';
import { ApiError, call, seg } from '../api/client.js';
import type { Environment } from '../api/types.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useSubmit } from '../ui/use-submit.js';

/** What the dialog kills (or revives): one flag in one environment, or every flag with a tag. */
export type KillTarget =
  | { kind: 'flag'; project: string; flag: string; env: string; revive?: boolean }
  | { kind: 'tag'; project: string; environments: Environment[] };

/**
 * The kill switch: asks why (the reason goes to the audit log) and for an explicit confirmation
 * before it calls the API, since a kill changes what every user is served at once.
 */
export function KillDialog(props: { target: KillTarget; onClose: () => void; onDone: (message: string) => void }) {
  const { target } = props;
  const [reason, setReason] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [tag, setTag] = useState('');
  const [env, setEnv] = useState(target.kind === 'tag' ? (target.environments[0]?.key ?? '') : target.env);
  const { busy, error, general, setError, run } = useSubmit();
  const revive = target.kind === 'flag' && target.revive === true;
  const what = target.kind === 'flag' ? target.flag : `every flag tagged “${tag || '…'}”`;
  const submit = (e: Event) => {
    e.preventDefault();
    if (reason.trim() === '') {
      setError(
        new ApiError(400, 'VALIDATION_FAILED', 'say why: the reason goes to the audit log', { field: 'reason' }),
      );
      return;
    }
    return run(async () => {
      if (target.kind === 'flag') {
        const action = revive ? 'unkill' : 'kill';
        const path = `/projects/${seg(target.project)}/flags/${seg(target.flag)}/environments/${seg(env)}/${action}`;
        await call('POST', path, { body: { reason } });
        props.onDone(`${target.flag} ${revive ? 'revived' : 'killed'} in ${env}.`);
      } else {
        const path = `/projects/${seg(target.project)}/environments/${seg(env)}/kill`;
        const { body } = await call<{ killed: string[] }>('POST', path, { body: { tag, reason } });
        props.onDone(
          body.killed.length === 0
            ? `No flag tagged ${tag} was on in ${env}.`
            : `Killed in ${env}: ${body.killed.join(', ')}.`,
        );
      }
    });
  };
  const title = revive
    ? `Revive ${what} in ${env}`
    : target.kind === 'flag'
      ? `Kill ${what} in ${env}`
      : 'Kill flags by tag';
  return (
    <Dialog title={title} onClose={props.onClose} danger={!revive}>
      <form onSubmit={submit}>
        {target.kind === 'tag' && (
          <>
            <label for="kill-tag">Tag</label>
            <input id="kill-tag" required value={tag} onInput={(e) => setTag(e.currentTarget.value.trim())} />
            <FieldError error={error} field="tag" />
            <label for="kill-env">Environment</label>
            <select id="kill-env" value={env} onChange={(e) => setEnv(e.currentTarget.value)}>
              {target.environments.map((e) => (
                <option key={e.key} value={e.key}>
                  {e.name}
                </option>
              ))}
            </select>
          </>
        )}
        <p>
          {revive
            ? `The flag goes back to its rules and rollout in ${env}.`
            : `Everyone in ${env} gets the off variant of ${what} within a second.`}
        </p>
        <label for="kill-reason">Reason (required, shown in the audit log)</label>
        <textarea id="kill-reason" rows={2} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <FieldError error={error} field="reason" />
        <label class="inline">
          <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.currentTarget.checked)} />
          {revive ? 'Yes, revive it' : `Yes, kill ${what} in ${env}`}
        </label>
        <ErrorText error={general} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={revive ? 'primary' : 'kill'} disabled={!confirmed || busy}>
            {revive ? 'Revive' : 'Kill'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
