import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Page, User } from '../api/types.js';
import { AddPerson } from '../people/add-person.js';
import { SetPasswordDialog } from '../people/set-password-dialog.js';
import { useSession } from '../session.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';

/**
 * Everyone with an account; the organisation owner adds people, makes them owner or not, sets a
 * password for someone who lost theirs, and disables, enables and deletes them.
 */
export function PeoplePage() {
  const { me } = useSession();
  const owner = me.user?.owner === true;
  const users = useLoad(async () => (owner ? get<Page<User>>('/users') : undefined), [owner]);
  // A refusal is shown in the row of the person it concerns, where the owner is looking.
  const [error, setError] = useState<{ userId: string; error: unknown }>();
  const [notice, setNotice] = useState<string>();
  const [deleting, setDeleting] = useState<User>();
  const [settingPassword, setSettingPassword] = useState<User>();
  if (!owner) return <p>People are managed by the organisation owner.</p>;
  const act = async (u: User, work: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await work();
      setNotice(done);
    } catch (err) {
      setError({ userId: u.id, error: err });
    } finally {
      users.reload();
    }
  };
  return (
    <section>
      <h1>People</h1>
      <p class="muted">
        An owner manages people and every project. A disabled person cannot sign in; their sessions end and their tokens
        are refused until they are enabled. Deleting removes them for good; the audit log keeps their name.
      </p>
      <ErrorText error={users.error} />
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
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
            const isOwner = u.owner === true;
            return (
              <tr key={u.id}>
                <td>
                  {u.email}
                  {isOwner && ' (owner)'}
                </td>
                <td>
                  {disabled ? `disabled since ${new Date(u.disabledAt as string).toLocaleString()}` : 'active'}
                  {u.mustChangePassword === true && ' · must choose a password'}
                </td>
                <td>
                  {self ? (
                    <span class="muted">you (another owner can change your ownership or password)</span>
                  ) : (
                    <div class="row">
                      <button
                        type="button"
                        onClick={() =>
                          act(
                            u,
                            () => call('PATCH', `/users/${seg(u.id)}`, { body: { owner: !isOwner } }),
                            isOwner ? `${u.email} is no longer an owner.` : `${u.email} is now an owner.`,
                          )
                        }
                      >
                        {isOwner ? 'Remove owner' : 'Make owner'} {u.email}
                      </button>
                      <button type="button" onClick={() => setSettingPassword(u)}>
                        Set password for {u.email}
                      </button>
                      <button
                        type="button"
                        onClick={() =>
                          act(
                            u,
                            () => call('POST', `/users/${seg(u.id)}/${disabled ? 'enable' : 'disable'}`),
                            `${u.email} is ${disabled ? 'enabled' : 'disabled'}.`,
                          )
                        }
                      >
                        {disabled ? 'Enable' : 'Disable'} {u.email}
                      </button>
                      <button type="button" class="danger" onClick={() => setDeleting(u)}>
                        Delete {u.email}
                      </button>
                    </div>
                  )}
                  {error?.userId === u.id && <ErrorText error={error.error} />}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <AddPerson
        onAdded={(message) => {
          setError(undefined);
          setNotice(message);
          users.reload();
        }}
      />
      {settingPassword !== undefined && (
        <SetPasswordDialog
          user={settingPassword}
          onClose={() => setSettingPassword(undefined)}
          onDone={(message) => {
            setSettingPassword(undefined);
            setError(undefined);
            setNotice(message);
            users.reload();
          }}
        />
      )}
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
                void act(target, () => call('DELETE', `/users/${seg(target.id)}`), `${target.email} is deleted.`);
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
