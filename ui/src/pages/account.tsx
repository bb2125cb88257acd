// The signed-in user's own account: who they are, and changing their password (the old one is
// needed, administrators included: an open session must not be enough to take an account over).
import { useEffect, useState } from 'react';
import { send } from '../api';
import { Outcome, Time } from '../components';
import { useSession } from '../session';

export function AccountPage() {
  const { user } = useSession();
  const [old, setOld] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  useEffect(() => void (document.title = 'Your account · minato'), []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone(undefined);
    if (next !== again) return setError(new Error('The two new passwords differ: type the same one twice.'));
    try {
      await send('PUT', `/users/${user.user_id}/password`, { old_password: old, new_password: next });
      setOld('');
      setNext('');
      setAgain('');
      setDone('Your password is changed. Use the new one from now on (docker login too).');
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Your account</h1>
      <dl className="facts">
        <dt>User name</dt>
        <dd>{user.username}</dd>
        <dt>System administrator</dt>
        <dd>{user.sysadmin_flag ? 'yes' : 'no'}</dd>
        {user.email && (
          <>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>
          <Time iso={user.creation_time} never="unknown" />
        </dd>
      </dl>
      <h2>Change your password</h2>
      <form onSubmit={submit} className="card narrow">
        {/* For password managers: which account the new password belongs to. */}
        <input type="text" name="username" autoComplete="username" value={user.username} readOnly hidden />
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={old} onChange={(e) => setOld(e.target.value)} />
        </label>
        <label>
          New password
          <input type="password" autoComplete="new-password" required minLength={8} maxLength={128} value={next} onChange={(e) => setNext(e.target.value)} aria-describedby="pw-rule" />
        </label>
        <p id="pw-rule" className="muted">
          8 to 128 characters, with an upper-case letter, a lower-case letter and a digit.
        </p>
        <label>
          New password again
          <input type="password" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} />
        </label>
        <Outcome error={error} done={done} />
        <button type="submit" className="primary">
          Change password
        </button>
      </form>
    </>
  );
}
