// Sign in (POST /c/login): wrong passwords, robots and throttling are answered in words.
import { useEffect, useRef, useState } from 'react';
import { ApiError, login } from '../api';
import { ErrorMessage } from '../components';
import { navigate, useLocation } from '../router';

export function LoginPage({ onSignedIn }: { onSignedIn(): void }) {
  const { path, query } = useLocation();
  const [principal, setPrincipal] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = 'Sign in · minato';
    first.current?.focus();
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (principal.startsWith('robot$')) {
      setError(new ApiError(403, 'FORBIDDEN', 'Robot accounts cannot sign in to the UI. They use their secret as a password with docker login, skopeo, podman or the API.'));
      return;
    }
    setBusy(true);
    try {
      await login(principal, password);
      // Back to the page that asked for a sign-in (only a path of this UI, never another site).
      const back = path === '/login' ? query.get('next') : path + location.search;
      navigate(back && back.startsWith('/') && !back.startsWith('//') ? back : '/projects', true);
      onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setError(new ApiError(401, 'UNAUTHORIZED', 'The user name or the password is wrong. Check both (passwords are case-sensitive) and try again.'));
      } else setError(err);
      setBusy(false);
    }
  };

  return (
    <main id="main" className="login">
      <h1>Sign in to minato</h1>
      <form onSubmit={submit} className="card">
        <label>
          User name
          <input ref={first} name="principal" autoComplete="username" required value={principal} onChange={(e) => setPrincipal(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error instanceof ApiError && error.status === 401 ? (
          <div className="error" role="alert">
            <p>{error.message}</p>
          </div>
        ) : (
          <ErrorMessage error={error} />
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="muted">Robot accounts do not sign in here: they use their secret with docker login, skopeo or the API.</p>
    </main>
  );
}
