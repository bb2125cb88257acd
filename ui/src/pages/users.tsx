// Users (system administrators): create, make or unmake an administrator, set a password, delete.
import { useEffect, useState } from 'react';
import { list, send, type User } from '../api';
import { ConfirmButton, ErrorMessage, Loading, Outcome, Pager, SearchBox, Table, Time, useLoad } from '../components';
import { useSession } from '../session';

const PAGE_SIZE = 20;

export function UsersPage() {
  const { user: me } = useSession();
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  useEffect(() => void (document.title = 'Users · minato'), []);
  const users = useLoad(() => list<User>('/users', { page, page_size: PAGE_SIZE, sort: 'username', q: search ? `username=~${search.replace(/[,~=]/g, '')}` : undefined }), [page, search]);
  return (
    <>
      <h1>Users</h1>
      <CreateUser onCreated={(name) => (setDone(`${name} can sign in now.`), users.reload())} />
      <SearchBox label="Search users by name" value={search} onChange={(v) => (setSearch(v), setPage(1))} />
      <Outcome error={error ?? users.error} done={done} />
      {users.loading && !users.data && <Loading what="users" />}
      {users.data && (
        <Table columns={['User', 'Email', 'Administrator', 'Created']} actions>
          {users.data.items.map((u) => (
            <tr key={u.user_id}>
              <th scope="row">{u.username}</th>
              <td>{u.email}</td>
              <td>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={u.sysadmin_flag}
                    disabled={u.user_id === me.user_id}
                    onChange={(e) =>
                      send('PUT', `/users/${u.user_id}/sysadmin`, { sysadmin_flag: e.target.checked }).then(() => (setDone(`${u.username} changed.`), users.reload()), setError)
                    }
                  />
                  <span className="offscreen">{u.username} is a system administrator</span>
                </label>
              </td>
              <td>
                <Time iso={u.creation_time} />
              </td>
              <td className="actions">
                {u.user_id !== me.user_id && (
                  <>
                    <SetPassword user={u} onDone={setDone} onError={setError} />
                    <ConfirmButton
                      label="Delete"
                      more={`user ${u.username}`}
                      title={`Delete ${u.username}?`}
                      confirm={`Delete ${u.username}`}
                      onConfirm={async () => {
                        await send('DELETE', `/users/${u.user_id}`);
                        users.reload();
                      }}
                    >
                      <p>
                        <strong>{u.username}</strong> loses every project membership, CLI token and open session at once.
                      </p>
                    </ConfirmButton>
                  </>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      {users.data && <Pager page={page} size={PAGE_SIZE} total={users.data.total} onPage={setPage} what="users" />}
    </>
  );
}

function SetPassword({ user, onDone, onError }: { user: User; onDone(s: string): void; onError(e: unknown): void }) {
  const [open, setOpen] = useState(false);
  const [pw, setPw] = useState('');
  if (!open)
    return (
      <button type="button" className="small" onClick={() => setOpen(true)}>
        Set password<span className="offscreen"> of {user.username}</span>
      </button>
    );
  return (
    <form
      className="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await send('PUT', `/users/${user.user_id}/password`, { new_password: pw });
          onDone(`The password of ${user.username} is set; tell them by a safe channel.`);
          setOpen(false);
          setPw('');
        } catch (err) {
          onError(err);
        }
      }}
    >
      <label>
        New password for {user.username}
        <input type="password" autoComplete="new-password" autoFocus required minLength={8} maxLength={128} value={pw} onChange={(e) => setPw(e.target.value)} />
      </label>
      <button type="submit" className="small">
        Save
      </button>
      <button type="button" className="small" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}

function CreateUser({ onCreated }: { onCreated(name: string): void }) {
  const [open, setOpen] = useState(false);
  const [f, setF] = useState({ username: '', email: '', realname: '', password: '' });
  const [error, setError] = useState<unknown>();
  if (!open)
    return (
      <p>
        <button type="button" className="primary" onClick={() => setOpen(true)}>
          New user
        </button>
      </p>
    );
  const field = (k: keyof typeof f) => ({ value: f[k], onChange: (e: React.ChangeEvent<HTMLInputElement>) => setF({ ...f, [k]: e.target.value }) });
  return (
    <form
      className="card narrow"
      aria-label="New user"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await send('POST', '/users', f);
          onCreated(f.username);
          setOpen(false);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2>New user</h2>
      <label>
        User name
        <input autoFocus required maxLength={255} {...field('username')} />
      </label>
      <label>
        Email
        <input type="email" {...field('email')} />
      </label>
      <label>
        Full name
        <input {...field('realname')} />
      </label>
      <label>
        Password (8 to 128 characters, with upper, lower and a digit)
        <input type="password" autoComplete="new-password" required minLength={8} maxLength={128} {...field('password')} />
      </label>
      <Outcome error={error} />
      <div className="actions">
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Create user
        </button>
      </div>
    </form>
  );
}
