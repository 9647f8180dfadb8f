import { useState } from 'preact/hooks';
import { ApiError, call } from '../api/client.js';
import { ErrorText, FieldError } from '../ui/errors.js';

/** Email and password → the session cookie (set by the server, unreadable to scripts) and a CSRF token. */
export function SignIn({ onSignedIn }: { onSignedIn: (csrfToken: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { body } = await call<{ csrfToken: string }>('POST', '/session', { body: { email, password } });
      onSignedIn(body.csrfToken);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err), {}));
    } finally {
      setBusy(false);
    }
  };
  const general = error !== undefined && error.field === '' ? error : undefined;
  return (
    <main class="sign-in">
      <h1>Sign in to Switchyard</h1>
      <form onSubmit={submit}>
        <label for="email">Email</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <FieldError error={error} field="email" />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <FieldError error={error} field="password" />
        <ErrorText error={general} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="hint">
        The first start of the server prints the owner's email and a one-time password in its terminal.
      </p>
    </main>
  );
}
