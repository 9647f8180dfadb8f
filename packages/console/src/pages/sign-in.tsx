import { useState } from 'preact/hooks';
import { asApiError, call } from '../api/client.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { PasswordField } from '../ui/password-field.js';
import { useSubmit } from '../ui/use-submit.js';

/** Email and password → the session cookie (set by the server, unreadable to scripts) and a CSRF token. */
export function SignIn({ onSignedIn }: { onSignedIn: (csrfToken: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, general, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const { body } = await call<{ csrfToken: string }>('POST', '/session', { body: { email, password } });
      onSignedIn(body.csrfToken);
    });
  };
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
        <PasswordField
          id="password"
          name="password"
          label="Password"
          autocomplete="current-password"
          required
          value={password}
          onInput={setPassword}
          error={error}
          field="password"
        />
        <ErrorText error={general === undefined ? undefined : asApiError(general)} />
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
