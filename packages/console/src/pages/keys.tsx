import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Environment, Page } from '../api/types.js';
import { mayAct, useSession } from '../session.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';
import { useSubmit } from '../ui/use-submit.js';

interface ApiKey {
  id: string;
  name: string;
  type: 'admin' | 'server' | 'client';
  prefix: string;
  environment: string | null;
  createdAt: string;
  revokedAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revision: number;
}

/** The project's SDK and admin keys: a new key's token is shown once, here, and never again. */
export function KeysPage({ project }: { project: string }) {
  const { me } = useSession();
  const admin = mayAct(me, project, 'admin');
  const keys = useLoad(
    async () => (admin ? get<Page<ApiKey>>(`/keys?project=${seg(project)}`) : undefined),
    [project, admin],
  );
  const envs = useLoad(() => get<Page<Environment>>(`/projects/${seg(project)}/environments`), [project]);
  const [name, setName] = useState('');
  const [type, setType] = useState<'server' | 'client'>('server');
  const [env, setEnv] = useState('');
  const [token, setToken] = useState<{ name: string; token: string }>();
  const { error, general, run } = useSubmit();
  if (!admin) return <p>Keys are managed by the project's admins.</p>;
  const act = (work: () => Promise<void>) =>
    run(async () => {
      await work();
      keys.reload();
    });
  const create = (e: Event) => {
    e.preventDefault();
    const environment = env || envs.data?.items[0]?.key;
    void act(async () => {
      const { body } = await call<ApiKey & { token: string }>('POST', '/keys', {
        body: { name, type, project, environment },
      });
      setToken({ name: body.name, token: body.token });
      setName('');
    });
  };
  return (
    <section>
      <h1>SDK keys</h1>
      <p class="muted">Server keys read every flag; client keys are public and read only flags visible to browsers.</p>
      <ErrorText error={keys.error ?? general} />
      {token !== undefined && (
        <div class="notice" role="status">
          Key <strong>{token.name}</strong> created. Copy its token now, it is not shown again:{' '}
          <code class="token">{token.token}</code>
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Environment</th>
            <th scope="col">Starts with</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.items.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>{k.type}</td>
              <td>{k.environment ?? 'all'}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.lastUsedAt === null ? 'never' : new Date(k.lastUsedAt).toLocaleString()}</td>
              <td>
                {k.revokedAt !== null ? (
                  'revoked'
                ) : (
                  <button
                    type="button"
                    onClick={() =>
                      confirm(`Revoke ${k.name}? What uses it stops working.`) &&
                      act(async () => {
                        await call('POST', `/keys/${seg(k.id)}/revoke`, { ifMatch: k.revision });
                      })
                    }
                  >
                    Revoke {k.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>New key</h2>
      <form class="row" onSubmit={create} aria-label="New key">
        <label>
          Name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.currentTarget.value as 'server' | 'client')}>
            <option value="server">server</option>
            <option value="client">client (public)</option>
          </select>
        </label>
        <label>
          Environment
          <select value={env} onChange={(e) => setEnv(e.currentTarget.value)}>
            {envs.data?.items.map((e) => (
              <option key={e.key} value={e.key}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Create key
        </button>
        <FieldError error={error} field="name" />
        <FieldError error={error} field="environment" />
      </form>
    </section>
  );
}
