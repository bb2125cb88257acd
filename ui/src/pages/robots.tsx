// A project's robot accounts: create one with the permissions it needs and an expiry; its
// secret is shown once (the registry keeps only a hash), with copy buttons, the docker login
// line and the Kubernetes pull secret to download; refresh a secret; disable or delete a robot.
import { useState } from 'react';
import { download, get, list, send, type Project, type Robot, type RobotCreated } from '../api';
import { ConfirmButton, CopyLine, ErrorMessage, Outcome, Table, Time, useLoad } from '../components';
import { useSession, registryHost } from '../session';

interface Permissions {
  project: Array<{ resource: string; action: string }>;
}

/** What most robots need, ticked on the form's first view: pulling (a CI job's or a cluster's). */
const DEFAULT_ACCESS = new Set(['repository:pull']);

export function RobotsTab({ project }: { project: Project }) {
  const robots = useLoad(() => list<Robot>('/robots', { q: `Level=project,ProjectID=${project.project_id}`, page_size: 100 }), [project.project_id]);
  const [shown, setShown] = useState<{ id: number; name: string; secret: string }>();
  const [error, setError] = useState<unknown>();
  return (
    <section aria-labelledby="robots-h">
      <h2 id="robots-h">Robot accounts</h2>
      {shown && <SecretPanel robot={shown} onClose={() => setShown(undefined)} />}
      <ErrorMessage error={robots.error ?? error} />
      {robots.data && robots.data.items.length === 0 && <p>No robot accounts yet.</p>}
      {robots.data && robots.data.items.length > 0 && (
        <Table columns={['Name', 'Permissions', 'Expires', 'Last used', 'State']} actions>
          {robots.data.items.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                <code>{r.name}</code>
                {r.description && <div className="muted">{r.description}</div>}
              </th>
              <td className="wrap">{r.permissions.flatMap((p) => p.access.map((a) => `${a.resource}:${a.action}`)).join(', ')}</td>
              <td>{r.expires_at === -1 ? 'never' : <Time iso={new Date(r.expires_at * 1000).toISOString()} />}</td>
              <td>
                <Time iso={r.last_used_time} />
              </td>
              <td>{r.disable ? 'disabled' : 'enabled'}</td>
              <td className="actions">
                <button
                  type="button"
                  className="small"
                  onClick={() =>
                    send<{ secret: string }>('PATCH', `/robots/${r.id}`, { secret: '' }).then((s) => setShown({ id: r.id, name: r.name, secret: s.secret }), setError)
                  }
                >
                  Refresh secret<span className="offscreen"> of {r.name}</span>
                </button>
                <button
                  type="button"
                  className="small"
                  onClick={() => send('PUT', `/robots/${r.id}`, { disable: !r.disable }).then(robots.reload, setError)}
                >
                  {r.disable ? 'Enable' : 'Disable'}
                  <span className="offscreen"> {r.name}</span>
                </button>
                <ConfirmButton
                  label="Delete"
                  more={r.name}
                  title={`Delete ${r.name}?`}
                  confirm="Delete robot"
                  onConfirm={async () => {
                    await send('DELETE', `/robots/${r.id}`);
                    robots.reload();
                  }}
                >
                  <p>
                    Clients that use <code>{r.name}</code> (CI jobs, clusters) fail to pull or push from then on.
                  </p>
                </ConfirmButton>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <CreateRobot project={project} onCreated={(created) => (setShown(created), robots.reload())} />
    </section>
  );
}

function CreateRobot({ project, onCreated }: { project: Project; onCreated(r: { id: number; name: string; secret: string }): void }) {
  const perms = useLoad(() => get<Permissions>('/permissions'), []);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [days, setDays] = useState('30');
  const [chosen, setChosen] = useState<Set<string>>(DEFAULT_ACCESS);
  const [error, setError] = useState<unknown>();
  const byResource = new Map<string, string[]>();
  for (const p of perms.data?.project ?? []) byResource.set(p.resource, [...(byResource.get(p.resource) ?? []), p.action]);
  const toggle = (key: string, on: boolean) => setChosen((s) => (on ? new Set([...s, key]) : new Set([...s].filter((k) => k !== key))));

  return (
    <form
      className="card"
      aria-label="New robot account"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        if (chosen.size === 0) return setError(new Error('Tick at least one permission: a robot without any can do nothing.'));
        try {
          const created = await send<RobotCreated>('POST', '/robots', {
            name,
            description,
            level: 'project',
            duration: Number(days),
            disable: false,
            permissions: [{ kind: 'project', namespace: project.name, access: [...chosen].map((k) => ({ resource: k.split(':')[0], action: k.split(':')[1] })) }],
          });
          onCreated(created);
          setName('');
          setDescription('');
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h3>New robot account</h3>
      <label>
        Name
        <input required maxLength={255} pattern="[a-z0-9]+(?:[._\-][a-z0-9]+)*" value={name} onChange={(e) => setName(e.target.value)} aria-describedby="robot-name-rule" />
      </label>
      <p id="robot-name-rule" className="muted">
        Its full name becomes <code>robot${project.name}+{name || 'name'}</code>: lower-case letters, digits, and single . _ - between them.
      </p>
      <label>
        Description (optional)
        <input maxLength={1024} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Expires after (days; -1: never)
        <input type="number" min={-1} max={3650} required value={days} onChange={(e) => setDays(e.target.value)} />
      </label>
      <fieldset>
        <legend>Permissions in {project.name}</legend>
        <ErrorMessage error={perms.error} />
        <div className="perms">
          {[...byResource].map(([resource, actions]) => (
            <fieldset key={resource} className="perm">
              <legend>{resource}</legend>
              {actions.map((action) => {
                const key = `${resource}:${action}`;
                return (
                  <label key={key} className="check">
                    <input type="checkbox" checked={chosen.has(key)} onChange={(e) => toggle(key, e.target.checked)} />
                    {action}
                  </label>
                );
              })}
            </fieldset>
          ))}
        </div>
      </fieldset>
      <Outcome error={error} />
      <button type="submit" className="primary">
        Create robot account
      </button>
    </form>
  );
}

/** The secret, once: copy buttons, the docker login line and the pull secret for Kubernetes. */
function SecretPanel({ robot, onClose }: { robot: { id: number; name: string; secret: string }; onClose(): void }) {
  const { info } = useSession();
  const host = registryHost(info);
  const [error, setError] = useState<unknown>();
  const login = `echo '${robot.secret}' | docker login ${host} -u '${robot.name}' --password-stdin`;
  const file = `${robot.name.replace(/^robot\$/, '').replace(/[^a-z0-9.-]+/g, '-')}-pull-secret.yaml`;
  return (
    <section className="card secret" aria-labelledby="secret-h" tabIndex={-1} ref={(el) => el?.focus()}>
      <h3 id="secret-h">The secret of {robot.name}</h3>
      <p>
        <strong>Copy it now: it is shown only this once.</strong> The registry keeps only a hash of it; if it is lost, refresh the secret.
      </p>
      <p>Name</p>
      <CopyLine text={robot.name} label="Copy the robot's name" />
      <p>Secret</p>
      <CopyLine text={robot.secret} label="Copy the secret" />
      <p>Sign in with docker (podman and skopeo take the same arguments)</p>
      <CopyLine text={login} label="Copy the docker login command" />
      <p>
        <button
          type="button"
          onClick={() => download('POST', `/robots/${robot.id}/pullsecret`, { secret: robot.secret, format: 'kubernetes', registry: host }, file).catch(setError)}
        >
          Download the Kubernetes pull secret
        </button>{' '}
        then <code>kubectl apply -f {file}</code> and name it in <code>imagePullSecrets</code>.
      </p>
      <Outcome error={error} />
      <button type="button" className="primary" onClick={onClose}>
        I have copied it
      </button>
    </section>
  );
}
