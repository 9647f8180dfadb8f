import { useState } from 'preact/hooks';
import { ApiError, call } from '../api/client.js';
import { ErrorText, FieldError } from '../ui/errors.js';

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
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (next !== repeat) {
      setError(new ApiError(0, 'MISMATCH', 'the two new passwords differ', { field: 'repeat' }));
      return;
    }
    setBusy(true);
    try {
      await call('PUT', '/me/password', { body: { currentPassword: current, newPassword: next } });
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const general = error instanceof ApiError && error.field !== '' ? undefined : error;
  return (
    <main class="sign-in">
      <h1>Choose your password</h1>
      <p>{email}: your password was set by someone else. Choose your own before you go on; your other sessions end.</p>
      <form onSubmit={submit}>
        <label for="current-password">Current password</label>
        <input
          id="current-password"
          type="password"
          autocomplete="current-password"
          required
          value={current}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
        <FieldError error={error} field="currentPassword" />
        <label for="new-password">New password (at least 12 characters)</label>
        <input
          id="new-password"
          type="password"
          autocomplete="new-password"
          required
          minLength={12}
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
        />
        <FieldError error={error} field="newPassword" />
        <label for="repeat-password">New password again</label>
        <input
          id="repeat-password"
          type="password"
          autocomplete="new-password"
          required
          value={repeat}
          onInput={(e) => setRepeat(e.currentTarget.value)}
        />
        <FieldError error={error} field="repeat" />
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
