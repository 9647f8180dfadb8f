import { useState } from 'preact/hooks';
import { ApiError, call, seg } from '../api/client.js';
import type { User } from '../api/types.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorText, FieldError } from '../ui/errors.js';

/**
 * The owner sets a password for someone who lost theirs, typed twice. The person's sessions end
 * and they must choose their own at their next sign-in, so the owner never keeps knowing it.
 */
export function SetPasswordDialog(props: { user: User; onClose: () => void; onDone: (message: string) => void }) {
  const { user } = props;
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (password !== repeat) {
      setError(new ApiError(0, 'MISMATCH', 'the two passwords differ', { field: 'repeat' }));
      return;
    }
    setBusy(true);
    try {
      await call('PATCH', `/users/${seg(user.id)}`, { body: { password } });
      props.onDone(`Password set for ${user.email}: they must choose their own at their next sign-in.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const general = error instanceof ApiError && error.field !== '' ? undefined : error;
  return (
    <Dialog title={`Set a password for ${user.email}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <p>Their sessions end now. At their next sign-in they must replace this password with one of their own.</p>
        <label for="set-password">New password (at least 12 characters)</label>
        <input
          id="set-password"
          type="password"
          autocomplete="new-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <FieldError error={error} field="password" />
        <label for="set-password-repeat">The same password again</label>
        <input
          id="set-password-repeat"
          type="password"
          autocomplete="new-password"
          value={repeat}
          onInput={(e) => setRepeat(e.currentTarget.value)}
        />
        <FieldError error={error} field="repeat" />
        <ErrorText error={general} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Set password
          </button>
        </div>
      </form>
    </Dialog>
  );
}
