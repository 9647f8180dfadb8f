import { useState } from 'preact/hooks';
import { ApiError, call, seg } from '../api/client.js';
import type { User } from '../api/types.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorText } from '../ui/errors.js';
import { PasswordField } from '../ui/password-field.js';
import { useSubmit } from '../ui/use-submit.js';

/**
 * The owner sets a password for someone who lost theirs, typed twice. The person's sessions end
 * and they must choose their own at their next sign-in, so the owner never keeps knowing it.
 */
export function SetPasswordDialog(props: { user: User; onClose: () => void; onDone: (message: string) => void }) {
  const { user } = props;
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const { busy, error, general, setError, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    if (password !== repeat) {
      setError(new ApiError(0, 'MISMATCH', 'the two passwords differ', { field: 'repeat' }));
      return;
    }
    return run(async () => {
      await call('PATCH', `/users/${seg(user.id)}`, { body: { password } });
      props.onDone(`Password set for ${user.email}: they must choose their own at their next sign-in.`);
    });
  };
  return (
    <Dialog title={`Set a password for ${user.email}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <p>Their sessions end now. At their next sign-in they must replace this password with one of their own.</p>
        <PasswordField
          id="set-password"
          label="New password (at least 12 characters)"
          autocomplete="new-password"
          value={password}
          onInput={setPassword}
          error={error}
          field="password"
        />
        <PasswordField
          id="set-password-repeat"
          label="The same password again"
          autocomplete="new-password"
          value={repeat}
          onInput={setRepeat}
          error={error}
          field="repeat"
        />
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
