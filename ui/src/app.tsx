// The frame of every page: who is signed in, the navigation, and which page the path names.
// Signed out, every path shows the login page and returns to that path after signing in.
import { useEffect, useMemo, useRef } from 'react';
import { ApiError, get, hasSession, logout, rememberedSession, rememberSession, whenUnauthorized, type SystemInfo, type User } from './api';
import { ErrorMessage, Link, Loading, useLoad } from './components';
import { navigate, segments, useLocation } from './router';
import { SessionContext, useSession, type Session } from './session';
import { AccountPage } from './pages/account';
import { AuditPage } from './pages/audit';
import { CertificatesPage } from './pages/certificates';
import { LoginPage } from './pages/login';
import { ProjectPage } from './pages/project';
import { ProjectsPage } from './pages/projects';
import { RepositoryPage } from './pages/repository';
import { TrustPage } from './pages/trust';
import { UsersPage } from './pages/users';

export function App() {
  const { path } = useLocation();
  const me = useLoad(async () => {
    if (!hasSession()) throw new ApiError(401, 'UNAUTHORIZED', 'Not signed in.');
    const [user, info] = await Promise.all([get<User>('/users/current'), get<SystemInfo>('/systeminfo')]);
    rememberSession({ user, info });
    return { user, info };
  }, []);
  const { reload } = me;
  useEffect(() => whenUnauthorized(reload), [reload]);

  const signedOut = me.error instanceof ApiError && me.error.status === 401;
  // Until the answer comes, what this session's last page learnt (a 401 on any request still ends it).
  const remembered = useMemo(() => rememberedSession<{ user: User; info: SystemInfo }>(), []);
  const known = me.data ?? (me.loading && hasSession() ? remembered : undefined);
  const session = useMemo<Session | undefined>(() => known && { ...known, refresh: reload }, [known, reload]);

  if (path === '/login' || signedOut) {
    return <LoginPage onSignedIn={reload} />;
  }
  if (!session) {
    return <main id="main">{me.error ? <ErrorMessage error={me.error} /> : <Loading what="your account" />}</main>;
  }
  return (
    <SessionContext.Provider value={session}>
      <Frame path={path} />
    </SessionContext.Provider>
  );
}

function Frame({ path }: { path: string }) {
  const s = useSession();
  const main = useRef<HTMLElement>(null);
  const parts = segments(path);
  // Focus moves to the new page's content, so keyboard and screen reader users start there.
  useEffect(() => main.current?.focus({ preventScroll: true }), [path]);
  const section = parts[0] ?? 'projects';
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/projects" className="brand">
          minato
        </Link>
        <nav aria-label="Main">
          <Link to="/projects" className={section === 'projects' ? 'current' : undefined}>
            Projects
          </Link>
          <Link to="/system/certificates" className={section === 'system' && parts[1] !== 'audit' && parts[1] !== 'users' ? 'current' : undefined}>
            Certificates
          </Link>
          {s.user.sysadmin_flag && (
            <>
              <Link to="/system/audit" className={parts[1] === 'audit' ? 'current' : undefined}>
                Audit log
              </Link>
              <Link to="/system/users" className={parts[1] === 'users' ? 'current' : undefined}>
                Users
              </Link>
            </>
          )}
        </nav>
        <div className="who">
          <Link to="/account">{s.user.username}</Link>
          <button
            type="button"
            className="small"
            onClick={async () => {
              await logout().catch(() => undefined);
              navigate('/login', true);
              s.refresh();
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Route parts={parts} />
      </main>
    </>
  );
}

function Route({ parts }: { parts: string[] }) {
  const [a, b, c, ...rest] = parts;
  if (a === undefined) {
    navigate('/projects', true);
    return null;
  }
  if (a === 'projects' && b === undefined) return <ProjectsPage />;
  if (a === 'projects' && b !== undefined && c === 'repositories' && rest.length > 0) return <RepositoryPage project={b} repository={rest.join('/')} />;
  if (a === 'projects' && b !== undefined) return <ProjectPage name={b} tab={c ?? 'repositories'} />;
  if (a === 'account') return <AccountPage />;
  if (a === 'system' && (b === 'certificates' || b === undefined)) return <CertificatesPage />;
  if (a === 'system' && b === 'trust') return <TrustPage />;
  if (a === 'system' && b === 'audit') return <AuditPage />;
  if (a === 'system' && b === 'users') return <UsersPage />;
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. Go to the <Link to="/projects">projects</Link>.
      </p>
    </>
  );
}
