import { useState } from 'preact/hooks';
import { ApiError, call } from '../api/client.js';
import { ErrorText } from '../ui/errors.js';
import { PasswordField } from '../ui/password-field.js';
import { useSubmit } from '../ui/use-submit.js';

/**
 * The first sign-in of a person whose password someone else set (an owner, or the first
 * start's printout): until they choose their own, the API answers nothing else.
 */
export function ChangePassword({
  email,
  onChanged,
  onSignOut,
}: {
  email: string;
  onChanged: () => void;
  onSignOut: () => void;
}) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const { busy, error, general, setError, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    if (next !== repeat) {
      setError(new ApiError(0, 'MISMATCH', 'the two new passwords differ', { field: 'repeat' }));
      return;
    }
    return run(async () => {
      await call('PUT', '/me/password', { body: { currentPassword: current, newPassword: next } });
      onChanged();
    });
  };
  return (
    <main class="sign-in">
      <h1>Choose your password</h1>
      <p>{email}: your password was set by someone else. Choose your own before you go on; your other sessions end.</p>
      <form onSubmit={submit}>
        <PasswordField
          id="current-password"
          label="Current password"
          autocomplete="current-password"
          required
          value={current}
          onInput={setCurrent}
          error={error}
          field="currentPassword"
        />
        <PasswordField
          id="new-password"
          label="New password (at least 12 characters)"
          autocomplete="new-password"
          required
          minLength={12}
          value={next}
          onInput={setNext}
          error={error}
          field="newPassword"
        />
        <PasswordField
          id="repeat-password"
          label="New password again"
          autocomplete="new-password"
          required
          value={repeat}
          onInput={setRepeat}
          error={error}
          field="repeat"
        />
        <ErrorText error={general} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Change password'}
          </button>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </form>
    </main>
  );
}
