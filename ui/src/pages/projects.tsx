// Projects: the ones the caller sees, searched and paged by the API; public or private, how many
// repositories, storage used of the quota; create one, make it public or private, delete it.
import { useEffect, useState } from 'react';
import { get, list, send, type Project, type Quota } from '../api';
import { ConfirmButton, ErrorMessage, Link, Loading, Outcome, Pager, SearchBox, Table, Time, UsageBar, useLoad } from '../components';
import { bytes } from '../format';
import { navigate, pathOf } from '../router';
import { useSession } from '../session';

const PAGE_SIZE = 15;

export function ProjectsPage() {
  const { user } = useSession();
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  useEffect(() => void (document.title = 'Projects · minato'), []);
  const projects = useLoad(async () => {
    const result = await list<Project>('/projects', { page, page_size: PAGE_SIZE, with_detail: true, sort: 'name', q: search ? `name=~${search}` : undefined });
    // Each row's quota: every member may read its project's (others, on a public project, may
    // not, and are not asked: a refusal would be logged by the browser). One failing hides only its bar.
    const mayRead = (p: Project) => user.sysadmin_flag || (p.current_user_role_id ?? 0) > 0;
    const quotas = await Promise.all(result.items.map((p) => (mayRead(p) ? get<Quota>(`/quotas/${p.project_id}`).catch(() => undefined) : undefined)));
    return { ...result, quotas };
  }, [search, page]);

  return (
    <>
      <h1>Projects</h1>
      <CreateProject onCreated={(name) => navigate(pathOf('projects', name))} />
      <SearchBox label="Search projects by name" value={search} onChange={(v) => (setSearch(v), setPage(1))} />
      <ErrorMessage error={projects.error} />
      {projects.loading && !projects.data && <Loading what="projects" />}
      {projects.data && (
        <>
          <Table caption="Projects" columns={['Name', 'Access', 'Repositories', 'Storage', 'Created']} actions>
            {projects.data.items.map((p, i) => (
              <ProjectRow key={p.project_id} project={p} quota={projects.data!.quotas[i]} onChange={projects.reload} />
            ))}
          </Table>
          {projects.data.items.length === 0 && <p>{search ? `No project's name contains "${search}".` : 'No projects yet: create the first one above.'}</p>}
          <Pager page={page} size={PAGE_SIZE} total={projects.data.total} onPage={setPage} what="projects" />
        </>
      )}
    </>
  );
}

function ProjectRow({ project: p, quota, onChange }: { project: Project; quota: Quota | undefined; onChange(): void }) {
  const isPublic = p.metadata?.public === 'true';
  const [error, setError] = useState<unknown>();
  return (
    <tr>
      <th scope="row">
        <Link to={pathOf('projects', p.name)}>{p.name}</Link>
      </th>
      <td>{isPublic ? 'public' : 'private'}</td>
      <td>{p.repo_count ?? '-'}</td>
      <td>{quota ? <UsageBar used={quota.used.storage} hard={quota.hard.storage} format={bytes} /> : '-'}</td>
      <td>
        <Time iso={p.creation_time} />
      </td>
      <td className="actions">
        <button
          type="button"
          className="small"
          onClick={() =>
            send('PUT', `/projects/${p.project_id}`, { metadata: { public: String(!isPublic) } }).then(onChange, setError)
          }
        >
          Make {isPublic ? 'private' : 'public'}
          <span className="offscreen"> project {p.name}</span>
        </button>
        <DeleteProject project={p} onDeleted={onChange} />
        <ErrorMessage error={error} />
      </td>
    </tr>
  );
}

export function DeleteProject({ project, onDeleted }: { project: Project; onDeleted(): void }) {
  return (
    <ConfirmButton
      label="Delete"
      more={`project ${project.name}`}
      title={`Delete project ${project.name}?`}
      confirm={`Delete ${project.name}`}
      onConfirm={async () => {
        await send('DELETE', `/projects/${project.project_id}`);
        onDeleted();
      }}
    >
      <p>
        This deletes the project <strong>{project.name}</strong>, its members, robot accounts and settings. A project that still holds
        repositories ({project.repo_count ?? 0} here) cannot be deleted: delete them first.
      </p>
    </ConfirmButton>
  );
}

function CreateProject({ onCreated }: { onCreated(name: string): void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [isPublic, setPublic] = useState(false);
  const [error, setError] = useState<unknown>();
  if (!open)
    return (
      <p>
        <button type="button" className="primary" onClick={() => setOpen(true)}>
          New project
        </button>
      </p>
    );
  return (
    <form
      className="card narrow"
      aria-label="New project"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await send('POST', '/projects', { project_name: name, metadata: { public: String(isPublic) } });
          onCreated(name);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2>New project</h2>
      <label>
        Project name
        <input
          autoFocus
          required
          maxLength={255}
          pattern="[a-z0-9]+(?:[._\-][a-z0-9]+)*"
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-describedby="project-name-rule"
        />
      </label>
      <p id="project-name-rule" className="muted">
        Lower-case letters and digits, with single dots, dashes or underscores between them. It is the first part of image names: {location.host}/
        {name || 'name'}/app:tag.
      </p>
      <label className="check">
        <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />
        Public: anyone may pull its images without signing in
      </label>
      <Outcome error={error} />
      <div className="actions">
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Create project
        </button>
      </div>
    </form>
  );
}
