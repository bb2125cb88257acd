// One project: its repositories, members, robot accounts, settings, quota and audit log, one tab
// each (the tab is part of the path, so each is a page one can link to and go back to).
import { useEffect, useState } from 'react';
import { get, list, send, type AuditEntry, type Member, type Project, type Quota, type Repository } from '../api';
import { ConfirmButton, ErrorMessage, Link, Loading, Outcome, Pager, SearchBox, Table, Time, UsageBar, useLoad } from '../components';
import { bytes } from '../format';
import { navigate, pathOf } from '../router';
import { useSession } from '../session';
import { DeleteProject } from './projects';
import { RobotsTab } from './robots';

const TABS = [
  ['repositories', 'Repositories'],
  ['members', 'Members'],
  ['robots', 'Robot accounts'],
  ['settings', 'Settings'],
  ['quota', 'Quota'],
  ['logs', 'Audit log'],
] as const;

export const ROLES: Array<[number, string]> = [
  [1, 'Project Admin'],
  [4, 'Maintainer'],
  [2, 'Developer'],
  [3, 'Guest'],
  [5, 'Limited Guest'],
];

export function ProjectPage({ name, tab }: { name: string; tab: string }) {
  const project = useLoad(() => get<Project>(`/projects/${encodeURIComponent(name)}`), [name]);
  useEffect(() => void (document.title = `${name} · minato`), [name]);
  const p = project.data;
  return (
    <>
      <p className="crumbs">
        <Link to="/projects">Projects</Link> /
      </p>
      <h1>
        {name} {p && <span className="badge">{p.metadata?.public === 'true' ? 'public' : 'private'}</span>}
      </h1>
      <ErrorMessage error={project.error} />
      {p && (
        <>
          <nav className="tabs" aria-label="Project sections">
            {TABS.map(([id, label]) => (
              <Link key={id} to={pathOf('projects', name, id)} className={tab === id ? 'current' : undefined}>
                {label}
              </Link>
            ))}
          </nav>
          {tab === 'repositories' && <RepositoriesTab project={p} />}
          {tab === 'members' && <MembersTab project={p} />}
          {tab === 'robots' && <RobotsTab project={p} />}
          {tab === 'settings' && <SettingsTab project={p} onSaved={project.reload} />}
          {tab === 'quota' && <QuotaTab project={p} onDeleted={() => navigate('/projects')} />}
          {tab === 'logs' && <ProjectLogTab project={p} />}
        </>
      )}
    </>
  );
}

const REPO_PAGE = 15;

function RepositoriesTab({ project }: { project: Project }) {
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState('');
  const { info } = useSession();
  const repos = useLoad(
    () => list<Repository>(`/projects/${encodeURIComponent(project.name)}/repositories`, { page, page_size: REPO_PAGE, q: search ? `name=~${search}` : undefined }),
    [project.name, page, search],
  );
  return (
    <section aria-labelledby="repos-h">
      <h2 id="repos-h">Repositories</h2>
      <SearchBox label="Search repositories by name" value={search} onChange={(v) => (setSearch(v), setPage(1))} />
      <ErrorMessage error={repos.error} />
      {repos.loading && !repos.data && <Loading what="repositories" />}
      {repos.data && repos.data.items.length === 0 && (
        <p>
          {search ? 'No repository matches.' : 'No repositories yet. Push one:'} {!search && <code>docker push {info.registry_url || location.host}/{project.name}/app:1.0</code>}
        </p>
      )}
      {repos.data && repos.data.items.length > 0 && (
        <Table columns={['Name', 'Artifacts', 'Pulls', 'Updated']}>
          {repos.data.items.map((r) => {
            const short = r.name.slice(project.name.length + 1);
            return (
              <tr key={r.id}>
                <th scope="row">
                  <Link to={`/projects/${encodeURIComponent(project.name)}/repositories/${short.split('/').map(encodeURIComponent).join('/')}`}>{r.name}</Link>
                </th>
                <td>{r.artifact_count}</td>
                <td>{r.pull_count}</td>
                <td>
                  <Time iso={r.update_time} />
                </td>
              </tr>
            );
          })}
        </Table>
      )}
      {repos.data && <Pager page={page} size={REPO_PAGE} total={repos.data.total} onPage={setPage} what="repositories" />}
    </section>
  );
}

function MembersTab({ project }: { project: Project }) {
  const base = `/projects/${project.project_id}/members`;
  const members = useLoad(() => list<Member>(base, { page_size: 100 }), [base]);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState(2);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  return (
    <section aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      <ErrorMessage error={members.error} />
      {members.data && (
        <Table columns={['User', 'Role']} actions>
          {members.data.items.map((m) => (
            <tr key={m.id}>
              <th scope="row">{m.entity_name}</th>
              <td>
                <select
                  aria-label={`Role of ${m.entity_name}`}
                  value={m.role_id}
                  onChange={(e) => {
                    // Read now: the controlled select shows the old role again until the list reloads.
                    const roleId = Number(e.target.value);
                    setError(undefined);
                    send('PUT', `${base}/${m.id}`, { role_id: roleId }).then(
                      () => (setDone(`${m.entity_name} is now ${ROLES.find(([id]) => id === roleId)?.[1]}.`), members.reload()),
                      setError,
                    );
                  }}
                >
                  {ROLES.map(([id, label]) => (
                    <option key={id} value={id}>
                      {label}
                    </option>
                  ))}
                </select>
              </td>
              <td className="actions">
                <ConfirmButton
                  label="Remove"
                  more={`${m.entity_name} from ${project.name}`}
                  title={`Remove ${m.entity_name}?`}
                  confirm="Remove member"
                  onConfirm={async () => {
                    await send('DELETE', `${base}/${m.id}`);
                    members.reload();
                  }}
                >
                  <p>
                    <strong>{m.entity_name}</strong> loses the role {m.role_name} in {project.name}: pulls and pushes with their account stop working
                    here (unless the project is public, for pulls).
                  </p>
                </ConfirmButton>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <form
        className="card narrow"
        aria-label="Add a member"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          setDone(undefined);
          try {
            await send('POST', base, { role_id: role, member_user: { username } });
            setDone(`${username} is a member now.`);
            setUsername('');
            members.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <h3>Add a member</h3>
        <label>
          User name
          <input required list="member-suggestions" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <UserSuggestions id="member-suggestions" prefix={username} />
        <label>
          Role
          <select value={role} onChange={(e) => setRole(Number(e.target.value))}>
            {ROLES.map(([id, label]) => (
              <option key={id} value={id}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <Outcome error={error} done={done} />
        <button type="submit" className="primary">
          Add member
        </button>
      </form>
    </section>
  );
}

/** Names of users that match what was typed so far (Harbor's user search), as a datalist. */
function UserSuggestions({ id, prefix }: { id: string; prefix: string }) {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    if (prefix.length < 1) return setNames([]);
    let current = true;
    // A short pause, so that typing a name costs one search, not one per key.
    const timer = setTimeout(() => {
      list<{ username: string }>('/users/search', { username: prefix, page_size: 10 }).then(
        (page) => current && setNames(page.items.map((u) => u.username)),
        () => current && setNames([]),
      );
    }, 200);
    return () => ((current = false), clearTimeout(timer));
  }, [prefix]);
  return (
    <datalist id={id}>
      {names.map((n) => (
        <option key={n} value={n} />
      ))}
    </datalist>
  );
}

/** Harbor's project configuration keys (project metadata, string values) that this tab sets. */
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

function SettingsTab({ project, onSaved }: { project: Project; onSaved(): void }) {
  const meta = project.metadata ?? {};
  const [form, setForm] = useState(() => ({
    public: meta.public === 'true',
    auto_scan: meta.auto_scan === 'true',
    prevent_vul: meta.prevent_vul === 'true',
    severity: (SEVERITIES as readonly string[]).includes(meta.severity ?? '') ? meta.severity! : 'critical',
    enable_content_trust_cosign: meta.enable_content_trust_cosign === 'true',
    enable_content_trust: meta.enable_content_trust === 'true',
  }));
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const check = (key: 'public' | 'auto_scan' | 'prevent_vul' | 'enable_content_trust_cosign' | 'enable_content_trust', label: string, help: string) => (
    <label className="check">
      <input type="checkbox" checked={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.checked })} /> {label}
      <span className="muted"> {help}</span>
    </label>
  );
  return (
    <section aria-labelledby="settings-h">
      <h2 id="settings-h">Settings</h2>
      <form
        className="card"
        aria-label="Project settings"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          setDone(undefined);
          const metadata = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, String(v)]));
          try {
            await send('PUT', `/projects/${encodeURIComponent(project.name)}`, { metadata });
            setDone('Saved: the next pull and push are decided on these settings.');
            onSaved();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <fieldset>
          <legend>Access</legend>
          {check('public', 'Public', 'Anyone may pull, without signing in; pushes still need a role in the project.')}
        </fieldset>
        <fieldset>
          <legend>Vulnerabilities</legend>
          {check('auto_scan', 'Scan images on push', 'Each pushed image is scanned for known vulnerabilities.')}
          {check('prevent_vul', 'Prevent vulnerable images from being pulled', 'A pull is refused when the image has a vulnerability at or above the severity below.')}
          <label>
            Severity that blocks a pull
            <select value={form.severity} disabled={!form.prevent_vul} onChange={(e) => setForm({ ...form, severity: e.target.value })}>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s[0]!.toUpperCase() + s.slice(1)} and above
                </option>
              ))}
            </select>
          </label>
        </fieldset>
        <fieldset>
          <legend>Signatures</legend>
          {check('enable_content_trust_cosign', 'Require a valid cosign signature', 'A pull of an image without a signature that verifies against the project\'s trusted keys is refused.')}
          {check('enable_content_trust', 'Require a valid Notation signature', 'The same, for Notary Project signatures and the project\'s trusted certificates.')}
        </fieldset>
        <Outcome error={error} done={done} />
        <button type="submit" className="primary">
          Save settings
        </button>
      </form>
    </section>
  );
}

function QuotaTab({ project, onDeleted }: { project: Project; onDeleted(): void }) {
  const { user } = useSession();
  const quota = useLoad(() => get<Quota>(`/quotas/${project.project_id}`), [project.project_id]);
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  return (
    <section aria-labelledby="quota-h">
      <h2 id="quota-h">Quota</h2>
      <ErrorMessage error={quota.error} />
      {quota.data && (
        <p>
          Storage: <UsageBar used={quota.data.used.storage} hard={quota.data.hard.storage} format={bytes} />
        </p>
      )}
      {user.sysadmin_flag && (
        <form
          className="card narrow"
          aria-label="Set the storage limit"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(undefined);
            setDone(undefined);
            const gib = Number(limit);
            if (!Number.isFinite(gib) || (gib < 0 && gib !== -1)) return setError(new Error('Give a number of GiB, or -1 for no limit.'));
            try {
              await send('PUT', `/quotas/${project.project_id}`, { hard: { storage: gib === -1 ? -1 : Math.round(gib * 1024 ** 3) } });
              setDone('The limit is set; the next push is decided on it.');
              quota.reload();
            } catch (err) {
              setError(err);
            }
          }}
        >
          <label>
            Storage limit in GiB (-1: no limit)
            <input inputMode="decimal" required value={limit} onChange={(e) => setLimit(e.target.value)} />
          </label>
          <Outcome error={error} done={done} />
          <button type="submit" className="primary">
            Set limit
          </button>
        </form>
      )}
      <h2>Delete the project</h2>
      <DeleteProject project={project} onDeleted={onDeleted} />
    </section>
  );
}

const LOG_PAGE = 20;

function ProjectLogTab({ project }: { project: Project }) {
  const [page, setPage] = useState(1);
  const log = useLoad(() => list<AuditEntry>(`/projects/${encodeURIComponent(project.name)}/auditlog-exts`, { page, page_size: LOG_PAGE }), [project.name, page]);
  return (
    <section aria-labelledby="plog-h">
      <h2 id="plog-h">Audit log of {project.name}</h2>
      <ErrorMessage error={log.error} />
      {log.data && <AuditTable entries={log.data.items} />}
      {log.data && <Pager page={page} size={LOG_PAGE} total={log.data.total} onPage={setPage} what="entries" />}
    </section>
  );
}

export function AuditTable({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p>No entries.</p>;
  return (
    <Table columns={['When', 'Who', 'What', 'Resource', 'Result', 'From']}>
      {entries.map((e) => (
        <tr key={e.id}>
          <td>
            <Time iso={e.op_time} />
          </td>
          <td>{e.username}</td>
          <td className="wrap">
            <strong>{e.operation}</strong> {e.operation_description && e.operation_description !== e.operation && <span className="muted">{e.operation_description}</span>}
          </td>
          <td className="wrap">
            <span className="muted">{e.resource_type}</span> {e.resource}
          </td>
          <td>{e.operation_result === false ? 'failed' : 'ok'}</td>
          <td>{e.client_address ?? ''}</td>
        </tr>
      ))}
    </Table>
  );
}

