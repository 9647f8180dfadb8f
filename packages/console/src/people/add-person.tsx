import { useState } from 'preact/hooks';
import { call } from '../api/client.js';
import type { User } from '../api/types.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { PasswordField } from '../ui/password-field.js';
import { useSubmit } from '../ui/use-submit.js';

/**
 * The owner adds a person with a first password, told to them by the owner; the person must
 * replace it at their first sign-in. Project roles are given on each project's members page.
 */
export function AddPerson(props: { onAdded: (message: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [owner, setOwner] = useState(false);
  const { busy, error, general, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const { body } = await call<User>('POST', '/users', { body: { email, password, owner } });
      setEmail('');
      setPassword('');
      setOwner(false);
      props.onAdded(
        `Added ${body.email}${body.owner === true ? ' as owner' : ''}: they choose their own password at first sign-in.`,
      );
    });
  };
  return (
    <form onSubmit={submit} aria-label="Add a person" noValidate>
      <h2>Add a person</h2>
      <label for="person-email">Email</label>
      <input id="person-email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <FieldError error={error} field="email" />
      <PasswordField
        id="person-password"
        label="First password (at least 12 characters; they replace it at first sign-in)"
        autocomplete="new-password"
        value={password}
        onInput={setPassword}
        error={error}
        field="password"
      />
      <label class="inline">
        <input type="checkbox" checked={owner} onChange={(e) => setOwner(e.currentTarget.checked)} />
        Organisation owner (manages people and every project)
      </label>
      <ErrorText error={general} />
      <button type="submit" class="primary" disabled={busy}>
        Add person
      </button>
    </form>
  );
}
