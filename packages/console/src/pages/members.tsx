import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Page, Role } from '../api/types.js';
import { mayAct, useSession } from '../session.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';
import { useSubmit } from '../ui/use-submit.js';

interface Member {
  userId: string;
  email: string;
  role: Role;
}

const ROLES: Role[] = ['viewer', 'editor', 'admin'];

/** Who has which role in the project; a project's admins add, change and remove them. */
export function MembersPage({ project }: { project: string }) {
  const { me } = useSession();
  const admin = mayAct(me, project, 'admin');
  const base = `/projects/${seg(project)}/members`;
  const members = useLoad(() => get<Page<Member>>(base), [base]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const { error, general, run } = useSubmit();
  const act = (work: () => Promise<unknown>) =>
    run(async () => {
      await work();
      members.reload();
    });
  const add = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      await call('POST', base, { body: { email, role } });
      setEmail('');
    });
  };
  return (
    <section>
      <h1>Members and roles</h1>
      <p class="muted">
        viewer: reads the project · editor: also changes flags, segments, plans and kills · admin: also manages
        environments, keys, webhooks and members.
      </p>
      <ErrorText error={members.error ?? general} />
      <table>
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Role</th>
            {admin && <th scope="col">Remove</th>}
          </tr>
        </thead>
        <tbody>
          {members.data?.items.map((m) => (
            <tr key={m.userId}>
              <td>{m.email}</td>
              <td>
                {admin ? (
                  <select
                    aria-label={`Role of ${m.email}`}
                    value={m.role}
                    onChange={(e) =>
                      act(() => call('PATCH', `${base}/${seg(m.userId)}`, { body: { role: e.currentTarget.value } }))
                    }
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                ) : (
                  m.role
                )}
              </td>
              {admin && (
                <td>
                  <button type="button" onClick={() => act(() => call('DELETE', `${base}/${seg(m.userId)}`))}>
                    Remove {m.email}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form onSubmit={add} class="row" aria-label="Add a member">
          <label>
            Email
            <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary">
            Add member
          </button>
          <FieldError error={error} field="email" />
          <FieldError error={error} field="role" />
        </form>
      )}
    </section>
  );
}
