// `minato project|member|repo|artifact|tag ...`: the management API's projects, members,
// repositories, artifacts and tags from the command line, as readable tables or --json. They talk
// to a running registry (cli/api-client.ts: the credentials of `minato login`, or --registry,
// --user, --password-stdin), so they work against any replica and through any front end.
import type { Command } from 'commander';
import { ROLE_DISPLAY, ROLES, isRoleId } from '../auth/rbac.js';
import { apiClient, CliError, type ApiClient, type ApiClientFlags } from './api-client.js';

export type Flags = ApiClientFlags & { json?: boolean };
export type Row = Record<string, unknown>;

/** Aligned columns with a header; `columns` are [header, value of a row]. */
export function table<T>(rows: readonly T[], columns: Array<[string, (row: T) => string]>): string {
  const cells = [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, f]) => f(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells.map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export const print = (text: string): void => void process.stdout.write(text);
export const said = (text: string) => process.stderr.write(`${text}\n`);
export const json = (value: unknown): void => print(`${JSON.stringify(value, null, 2)}\n`);
export const date = (iso: unknown) => (typeof iso === 'string' && !iso.startsWith('0001-') ? iso.slice(0, 19).replace('T', ' ') : '-');

/** Every page of a list (page_size 100), up to `limit` items. */
export async function all(api: ApiClient, path: string, limit = 10_000): Promise<Row[]> {
  const out: Row[] = [];
  for (let page = 1; out.length < limit; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api.call('GET', `${path}${sep}page=${page}&page_size=100`);
    const items = res.body as Row[];
    out.push(...items);
    if (items.length < 100 || out.length >= Number(res.headers['x-total-count'] ?? 0)) break;
  }
  return out.slice(0, limit);
}

/** "project/repo[:tag|@digest]" as its parts; the repository part of the API path is encoded twice. */
export function parseRepositoryRef(text: string, needReference: boolean): { project: string; repository: string; path: string; reference?: string } {
  const m = /^([a-z0-9]+(?:[._-][a-z0-9]+)*)\/([^:@]+)(?::([\w][\w.-]{0,127})|@([a-z0-9]+:[a-f0-9]+))?$/.exec(text);
  if (!m) throw new CliError(`"${text}" is not project/repository${needReference ? ':tag or project/repository@sha256:...' : ''}`, 2);
  const [, project, repository, tag, digest] = m;
  const reference = tag ?? digest;
  if (needReference && reference === undefined) throw new CliError(`"${text}" names no artifact: add :tag or @sha256:...`, 2);
  return { project: project!, repository: repository!, reference, path: `/projects/${project}/repositories/${encodeURIComponent(encodeURIComponent(repository!))}` };
}

/** A role by name ("developer", "maintainer", "project-admin", "guest", "limited-guest") or id. */
export function roleId(text: string): number {
  const n = Number(text);
  if (isRoleId(n)) return n;
  const key = text.toLowerCase().replace(/[-_ ]/g, '');
  const found = Object.entries(ROLES).find(([name]) => name.toLowerCase() === key || (key === 'admin' && name === 'projectAdmin'));
  if (!found) throw new CliError(`unknown role "${text}": project-admin, maintainer, developer, guest or limited-guest (or 1 to 5)`, 2);
  return found[1];
}

/** The member id of a user in a project. */
async function memberId(api: ApiClient, project: string, user: string): Promise<number> {
  const found = (await all(api, `/projects/${project}/members?entityname=${encodeURIComponent(user)}`)).find((m) => m.entity_name === user);
  if (!found) throw new CliError(`${user} is not a member of ${project}`, 1);
  return found.id as number;
}

export function apiOptions(c: Command): Command {
  return c
    .option('--registry <url>', 'the registry (default: the one of minato login)')
    .option('--user <name>', 'user or robot (default: the one of minato login)')
    .option('--password-stdin', 'read the password or token from standard input (else MINATO_PASSWORD, else the stored token)')
    .option('--ca-file <file>', 'CA certificate to trust for the registry')
    .option('--insecure', 'do not verify the registry certificate')
    .option('--json', 'print JSON (the API\'s models) instead of a table');
}

export function addContentCommands(program: Command): void {
  const project = program.command('project').description('Projects: list, create, show, update, delete (through the management API).');
  apiOptions(project.command('list').description('Projects you can see.'))
    .option('--name <name>', 'only this project')
    .option('--public', 'only public projects')
    .action(async (f: Flags & { name?: string; public?: boolean }) => {
      const api = apiClient(f);
      const q = new URLSearchParams();
      if (f.name) q.set('name', f.name);
      if (f.public) q.set('public', 'true');
      const rows = await all(api, `/projects${q.size ? `?${q}` : ''}`);
      if (f.json) return json(rows);
      print(
        table(rows, [
          ['NAME', (p) => String(p.name)],
          ['PUBLIC', (p) => String((p.metadata as Row).public === 'true')],
          ['REPOSITORIES', (p) => String(p.repo_count ?? '-')],
          ['YOUR ROLE', (p) => (isRoleId(p.current_user_role_id as number) ? ROLE_DISPLAY[p.current_user_role_id as 1] : '-')],
          ['CREATED', (p) => date(p.creation_time)],
        ]),
      );
    });
  apiOptions(project.command('create').argument('<name>', 'project name').description('Create a project (you become its Project Admin).'))
    .option('--public', 'anyone may pull from it')
    .option('--storage-limit <bytes>', 'storage quota in bytes (-1 unlimited)')
    .action(async (name: string, f: Flags & { public?: boolean; storageLimit?: string }) => {
      const api = apiClient(f);
      const body: Row = { project_name: name, metadata: { public: String(f.public === true) } };
      if (f.storageLimit !== undefined) body.storage_limit = Number(f.storageLimit);
      await api.call('POST', '/projects', body);
      said(`project ${name} created`);
    });
  apiOptions(project.command('show').argument('<name>', 'project name').description('A project and its summary.')).action(async (name: string, f: Flags) => {
    const api = apiClient(f);
    const p = (await api.call('GET', `/projects/${encodeURIComponent(name)}`)).body as Row;
    const s = (await api.call('GET', `/projects/${encodeURIComponent(name)}/summary`)).body as Row;
    if (f.json) return json({ ...p, summary: s });
    const meta = p.metadata as Record<string, string>;
    print(
      [
        `name:          ${p.name}`,
        `id:            ${p.project_id}`,
        `public:        ${meta.public === 'true'}`,
        `owner:         ${p.owner_name || '-'}`,
        `created:       ${date(p.creation_time)}`,
        `repositories:  ${s.repo_count}`,
        `members:       ${s.project_admin_count} admin, ${s.maintainer_count} maintainer, ${s.developer_count} developer, ${s.guest_count} guest, ${s.limited_guest_count} limited guest`,
        `metadata:      ${Object.entries(meta).map(([k, v]) => `${k}=${v}`).join(', ')}`,
      ].join('\n') + '\n',
    );
  });
  apiOptions(project.command('update').argument('<name>', 'project name').description('Change a project: public or private, metadata.'))
    .option('--public <true|false>', 'make it public or private')
    .option('--meta <key=value...>', 'set metadata keys')
    .action(async (name: string, f: Flags & { public?: string; meta?: string[] }) => {
      const metadata: Record<string, string> = {};
      for (const kv of f.meta ?? []) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new CliError(`--meta ${kv}: give key=value`, 2);
        metadata[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      if (f.public !== undefined) {
        if (f.public !== 'true' && f.public !== 'false') throw new CliError('--public takes true or false', 2);
        metadata.public = f.public;
      }
      if (Object.keys(metadata).length === 0) throw new CliError('nothing to change: give --public or --meta', 2);
      await apiClient(f).call('PUT', `/projects/${encodeURIComponent(name)}`, { metadata });
      said(`project ${name} updated`);
    });
  apiOptions(project.command('delete').argument('<name>', 'project name').description('Delete an empty project (its members and robots go with it).')).action(async (name: string, f: Flags) => {
    await apiClient(f).call('DELETE', `/projects/${encodeURIComponent(name)}`);
    said(`project ${name} deleted`);
  });

  const member = program.command('member').description("A project's members: list, add, update, remove.");
  apiOptions(member.command('list').argument('<project>', 'project name').description('Members and their roles.')).action(async (p: string, f: Flags) => {
    const rows = await all(apiClient(f), `/projects/${encodeURIComponent(p)}/members`);
    if (f.json) return json(rows);
    print(table(rows, [['USER', (m) => String(m.entity_name)], ['ROLE', (m) => String(m.role_name)], ['ID', (m) => String(m.id)]]));
  });
  apiOptions(member.command('add').argument('<project>', 'project name').argument('<user>', 'user name').description('Give a user a role in a project.'))
    .requiredOption('--role <role>', 'project-admin, maintainer, developer, guest or limited-guest')
    .action(async (p: string, user: string, f: Flags & { role: string }) => {
      await apiClient(f).call('POST', `/projects/${encodeURIComponent(p)}/members`, { role_id: roleId(f.role), member_user: { username: user } });
      said(`${user} is now ${ROLE_DISPLAY[roleId(f.role) as 1]} of ${p}`);
    });
  apiOptions(member.command('update').argument('<project>', 'project name').argument('<user>', 'user name').description("Change a member's role."))
    .requiredOption('--role <role>', 'project-admin, maintainer, developer, guest or limited-guest')
    .action(async (p: string, user: string, f: Flags & { role: string }) => {
      const api = apiClient(f);
      await api.call('PUT', `/projects/${encodeURIComponent(p)}/members/${await memberId(api, p, user)}`, { role_id: roleId(f.role) });
      said(`${user} is now ${ROLE_DISPLAY[roleId(f.role) as 1]} of ${p}`);
    });
  apiOptions(member.command('remove').argument('<project>', 'project name').argument('<user>', 'user name').description('Remove a member.')).action(async (p: string, user: string, f: Flags) => {
    const api = apiClient(f);
    await api.call('DELETE', `/projects/${encodeURIComponent(p)}/members/${await memberId(api, p, user)}`);
    said(`${user} removed from ${p}`);
  });

  const repo = program.command('repo').description('Repositories: list, delete.');
  apiOptions(repo.command('list').argument('[project]', 'only this project').description('Repositories you can see.')).action(async (p: string | undefined, f: Flags) => {
    const rows = await all(apiClient(f), p ? `/projects/${encodeURIComponent(p)}/repositories` : '/repositories');
    if (f.json) return json(rows);
    print(table(rows, [['NAME', (r) => String(r.name)], ['ARTIFACTS', (r) => String(r.artifact_count)], ['PULLS', (r) => String(r.pull_count)], ['UPDATED', (r) => date(r.update_time)]]));
  });
  apiOptions(repo.command('delete').argument('<repository>', 'project/repository').description('Delete a repository: every artifact and tag of it.')).action(async (r: string, f: Flags) => {
    const ref = parseRepositoryRef(r, false);
    await apiClient(f).call('DELETE', ref.path);
    said(`repository ${r} deleted`);
  });

  const artifact = program.command('artifact').description('Artifacts: list, delete, copy.');
  apiOptions(artifact.command('list').argument('<repository>', 'project/repository').description("A repository's artifacts with their tags, newest first.")).action(async (r: string, f: Flags) => {
    const ref = parseRepositoryRef(r, false);
    const rows = await all(apiClient(f), `${ref.path}/artifacts?with_tag=true`);
    if (f.json) return json(rows);
    print(
      table(rows, [
        ['DIGEST', (a) => String(a.digest).slice(0, 19)],
        ['TAGS', (a) => ((a.tags as Row[] | null) ?? []).map((t) => t.name).join(',') || '-'],
        ['TYPE', (a) => String(a.type)],
        ['SIZE', (a) => String(a.size)],
        ['PLATFORMS', (a) => (a.references as Row[]).map((x) => `${(x.platform as Row | undefined)?.os ?? '?'}/${(x.platform as Row | undefined)?.architecture ?? '?'}`).join(',') || '-'],
        ['PUSHED', (a) => date(a.push_time)],
        ['PULLED', (a) => date(a.pull_time)],
      ]),
    );
  });
  apiOptions(artifact.command('delete').argument('<artifact>', 'project/repository:tag or project/repository@sha256:...').description('Delete an artifact with every tag pointing at it.')).action(async (a: string, f: Flags) => {
    const ref = parseRepositoryRef(a, true);
    await apiClient(f).call('DELETE', `${ref.path}/artifacts/${ref.reference}`);
    said(`artifact ${a} deleted`);
  });
  apiOptions(artifact.command('copy').argument('<from>', 'project/repository:tag or @sha256:...').argument('<to>', 'project/repository to copy into').description('Copy an artifact to another repository (no bytes move; tagged as the source).')).action(
    async (from: string, to: string, f: Flags) => {
      parseRepositoryRef(from, true);
      const target = parseRepositoryRef(to, false);
      await apiClient(f).call('POST', `${target.path}/artifacts?from=${encodeURIComponent(from)}`);
      said(`copied ${from} to ${to}`);
    },
  );

  const tag = program.command('tag').description('Tags: add, delete.');
  apiOptions(tag.command('add').argument('<artifact>', 'project/repository:tag or @sha256:...').argument('<tag>', 'the new tag').description('Tag an artifact (a tag elsewhere in the repository moves here).')).action(async (a: string, name: string, f: Flags) => {
    const ref = parseRepositoryRef(a, true);
    await apiClient(f).call('POST', `${ref.path}/artifacts/${ref.reference}/tags`, { name });
    said(`tagged ${a} as ${name}`);
  });
  apiOptions(tag.command('delete').argument('<tag>', 'project/repository:tag').description('Delete a tag (the artifact stays).')).action(async (t: string, f: Flags) => {
    const ref = parseRepositoryRef(t, true);
    if (ref.reference?.includes(':')) throw new CliError('give a tag (project/repository:tag), not a digest', 2);
    await apiClient(f).call('DELETE', `${ref.path}/artifacts/${ref.reference}/tags/${ref.reference}`);
    said(`tag ${t} deleted`);
  });

  const quota = program.command('quota').description('Project storage quotas: list, show, set.');
  const quotaRow = (q: Row) => {
    const ref = q.ref as Row;
    const hard = Number((q.hard as Row).storage);
    return { project: String(ref.name), id: Number(q.id), limit: hard, used: Number((q.used as Row).storage) };
  };
  const bytes = (n: number) => (n < 0 ? 'unlimited' : n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
  const quotaTable = (rows: Array<ReturnType<typeof quotaRow>>) =>
    table(rows, [['PROJECT', (r) => r.project], ['USED', (r) => bytes(r.used)], ['LIMIT', (r) => bytes(r.limit)], ['SHARE', (r) => (r.limit > 0 ? `${Math.round((100 * r.used) / r.limit)} %` : '-')]]);
  const projectIdOf = async (api: ApiClient, project: string) => Number(((await api.call('GET', `/projects/${encodeURIComponent(project)}`)).body as Row).project_id);
  apiOptions(quota.command('list').description("Every project's usage and limit (system admins).")).action(async (f: Flags) => {
    const rows = (await all(apiClient(f), '/quotas')).map(quotaRow);
    if (f.json) return json(rows);
    print(quotaTable(rows));
  });
  apiOptions(quota.command('show').argument('<project>', 'project name').description("A project's usage and limit.")).action(async (p: string, f: Flags) => {
    const api = apiClient(f);
    const row = quotaRow((await api.call('GET', `/quotas/${await projectIdOf(api, p)}`)).body as Row);
    if (f.json) return json(row);
    print(quotaTable([row]));
  });
  apiOptions(quota.command('set').argument('<project>', 'project name').argument('<limit>', 'bytes, -1 for unlimited').description("Set a project's storage limit (system admins).")).action(async (p: string, limit: string, f: Flags) => {
    if (!/^-?\d+$/.test(limit) || Number(limit) < -1) throw new CliError(`the limit is a number of bytes, or -1 for unlimited, not "${limit}"`, 2);
    const api = apiClient(f);
    await api.call('PUT', `/quotas/${await projectIdOf(api, p)}`, { hard: { storage: Number(limit) } });
    said(`the storage limit of ${p} is now ${bytes(Number(limit))}`);
  });

  const audit = program.command('audit').description('The audit log: who did what, when, from where.');
  audit
    .command('list')
    .description("Entries, newest first: the registry's (system admins) or one project's (--project, its admins).")
    .option('--project <name>', "only this project's entries")
    .option('--operation <op>', 'create, delete, pull, update, login, logout')
    .option('--by <name>', 'only what this user or robot did')
    .option('--resource <text>', 'resources containing this text')
    .option('--limit <n>', 'how many entries (at most 100)', '20');
  apiOptions(audit.commands.find((c) => c.name() === 'list')!).action(
    async (f: Flags & { project?: string; operation?: string; by?: string; resource?: string; limit: string }) => {
      const q = [f.operation && `operation=${f.operation}`, f.by && `username=${f.by}`, f.resource && `resource=~${f.resource}`].filter(Boolean).join(',');
      const size = Number(f.limit);
      if (!Number.isInteger(size) || size < 1 || size > 100) throw new CliError('--limit takes 1 to 100', 2);
      const base = f.project ? `/projects/${encodeURIComponent(f.project)}/auditlog-exts` : '/auditlog-exts';
      const rows = (await apiClient(f).call('GET', `${base}?page_size=${size}${q ? `&q=${encodeURIComponent(q)}` : ''}`)).body as Row[];
      if (f.json) return json(rows);
      print(
        table(rows, [
          ['TIME', (r) => date(r.op_time)],
          ['USER', (r) => String(r.username)],
          ['OPERATION', (r) => `${r.operation} ${r.resource_type}`],
          ['RESOURCE', (r) => String(r.resource)],
          ['FROM', (r) => String(r.client_address ?? '-')],
          ['RESULT', (r) => (r.operation_result ? 'ok' : 'failed')],
          ['DETAIL', (r) => String(r.operation_description)],
        ]),
      );
    },
  );
}
