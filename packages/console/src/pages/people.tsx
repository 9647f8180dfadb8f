import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Page, User } from '../api/types.js';
import { useSession } from '../session.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';

/** Everyone with an account; the organisation owner disables, enables and deletes them. */
export function PeoplePage() {
  const { me } = useSession();
  const owner = me.user?.owner === true;
  const users = useLoad(async () => (owner ? get<Page<User>>('/users') : undefined), [owner]);
  const [error, setError] = useState<unknown>();
  const [deleting, setDeleting] = useState<User>();
  if (!owner) return <p>People are managed by the organisation owner.</p>;
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      users.reload();
    }
  };
  return (
    <section>
      <h1>People</h1>
      <p class="muted">
        A disabled person cannot sign in; their sessions end and their tokens are refused until they are enabled.
        Deleting removes them for good; the audit log keeps their name.
      </p>
      <ErrorText error={users.error ?? error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.data?.items.map((u) => {
            const self = u.id === me.user?.id;
            const disabled = u.disabledAt !== null && u.disabledAt !== undefined;
            return (
              <tr key={u.id}>
                <td>
                  {u.email}
                  {u.owner === true && ' (owner)'}
                </td>
                <td>
                  {disabled ? `disabled since ${new Date(u.disabledAt as string).toLocaleString()}` : 'active'}
                  {u.mustChangePassword === true && ' · must choose a password'}
                </td>
                <td>
                  {self ? (
                    <span class="muted">you</span>
                  ) : (
                    <div class="row">
                      <button
                        type="button"
                        onClick={() =>
                          act(() => call('POST', `/users/${seg(u.id)}/${disabled ? 'enable' : 'disable'}`))
                        }
                      >
                        {disabled ? 'Enable' : 'Disable'} {u.email}
                      </button>
                      <button type="button" class="danger" onClick={() => setDeleting(u)}>
                        Delete {u.email}
                      </button>
                    </div>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {deleting !== undefined && (
        <Dialog title={`Delete ${deleting.email}?`} danger onClose={() => setDeleting(undefined)}>
          <p>Their sessions, tokens and memberships go with them. This cannot be undone.</p>
          <div class="row">
            <button
              type="button"
              class="danger"
              onClick={() => {
                const target = deleting;
                setDeleting(undefined);
                void act(() => call('DELETE', `/users/${seg(target.id)}`));
              }}
            >
              Delete for good
            </button>
            <button type="button" onClick={() => setDeleting(undefined)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
