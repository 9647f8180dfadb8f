import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Page, PersonalToken } from '../api/types.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';
import { useSubmit } from '../ui/use-submit.js';

const when = (iso: string | null, none: string) => (iso === null ? none : new Date(iso).toLocaleString());

/** The signed-in person's tokens for scripts and the CLI: a new token is shown once, here. */
export function TokensPage() {
  const tokens = useLoad(() => get<Page<PersonalToken>>('/tokens'), []);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [made, setMade] = useState<{ name: string; token: string }>();
  const { error, general, run } = useSubmit();
  const act = async (work: () => Promise<unknown>) => {
    await run(work);
    tokens.reload();
  };
  const create = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      // A date-time input has no zone: it is the browser's local time, sent with its offset.
      const body = expires === '' ? { name } : { name, expiresAt: new Date(expires).toISOString() };
      const { body: created } = await call<PersonalToken & { token: string }>('POST', '/tokens', { body });
      setMade({ name: created.name, token: created.token });
      setName('');
      setExpires('');
    });
  };
  const now = Date.now();
  return (
    <section>
      <h1>Personal API tokens</h1>
      <p class="muted">A token acts as you, with your roles of the moment. Use it with the CLI or scripts.</p>
      <ErrorText error={tokens.error} />
      {made !== undefined && (
        <div class="notice" role="status">
          Token <strong>{made.name}</strong> created. Copy it now, it is not shown again:{' '}
          <code class="token">{made.token}</code>
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.items.map((t) => {
            const expired = t.expiresAt !== null && Date.parse(t.expiresAt) <= now;
            return (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td>{when(t.expiresAt, 'never')}</td>
                <td>{when(t.lastUsedAt, 'never')}</td>
                <td>
                  {t.revokedAt !== null ? (
                    'revoked'
                  ) : expired ? (
                    'expired'
                  ) : (
                    <button type="button" onClick={() => act(() => call('POST', `/tokens/${seg(t.id)}/revoke`))}>
                      Revoke {t.name}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <form onSubmit={create} class="row" aria-label="Make a token">
        <label>
          Name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Expires (optional)
          <input type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary">
          Make token
        </button>
        <FieldError error={error} field="name" />
        <FieldError error={error} field="expiresAt" />
      </form>
      <ErrorText error={general} />
    </section>
  );
}
