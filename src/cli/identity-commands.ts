// `minato login`/`logout`, and the user and robot commands that talk to the management API of the
// registry logged in to (--registry URL to choose among several). Users: `user list` and `user
// delete` work on this machine's database when --data or --config is given or no login is
// stored (as before), else on the API; `user add` is always local; `user create|passwd|admin` are
// API only. Output: readable tables, or --json.
import os from 'node:os';
import type { Command } from 'commander';
import { forgetLogin, apiRequest, expectStatus, hasLogin, loginFor, normalizeUrl, readSecret, remote, saveLogin, UsageError } from './remote.js';

interface Json {
  json?: boolean;
}
interface RegistryFlag {
  registry?: string;
}

const print = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** Columns padded to their widest cell. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function positiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a whole number from 1, not "${value}"`);
  return n;
}

/** "repository:pull,repository:push" -> access entries. */
function parseAccess(spec: string): Array<{ resource: string; action: string }> {
  return spec.split(',').map((pair) => {
    const [resource, action, extra] = pair.trim().split(':');
    if (!resource || !action || extra !== undefined) throw new UsageError(`--access takes resource:action pairs separated by commas (repository:pull,repository:push), not "${pair}"`);
    return { resource, action };
  });
}

const when = (t: string | null | undefined) => (t ? t.replace(/\.\d+Z$/, 'Z') : '-');

export function addLoginCommands(program: Command): void {
  program
    .command('login')
    .argument('<url>', 'the registry (https://registry.example.com)')
    .description('Sign in to a registry\'s management API: makes a CLI token (never stores the password) in ~/.config/minato/credentials.json (0600).')
    .option('-u, --user <name>', 'user name (asked when not given)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--ca-file <file>', 'CA certificate to trust for this registry (a private CA)')
    .option('--days <n>', 'days until the token expires (1 to 365)', '30')
    .action(async (rawUrl: string, flags: { user?: string; passwordStdin?: boolean; caFile?: string; days: string }) => {
      const url = normalizeUrl(rawUrl);
      const user = flags.user ?? (await askLine('user: '));
      if (!user) throw new UsageError('give the user name with --user');
      const password = await readSecret(`password for ${user} at ${url}: `, Boolean(flags.passwordStdin));
      const days = positiveInt(flags.days, '--days');
      const target = { url, user, secret: password, caFile: flags.caFile };
      const res = await apiRequest(target, 'POST', '/users/current/cli-tokens', { description: `minato CLI on ${hostname()}`, days });
      if (res.status === 401) throw new Error(`${url} refused the user name or password of ${user} (401); nothing was stored`);
      const made = expectStatus<{ id: number; token: string; expires_at: string }>(res, 201, target);
      await saveLogin(url, { user, token: made.token, tokenId: made.id, ...(flags.caFile ? { caFile: flags.caFile } : {}) });
      process.stderr.write(`logged in to ${url} as ${user} (token expires ${when(made.expires_at)}; \`minato logout ${url}\` revokes it)\n`);
    });

  program
    .command('logout')
    .argument('[url]', 'the registry (default: the last one logged in to)')
    .description('Revoke the CLI token on the server and forget it here.')
    .action(async (rawUrl: string | undefined) => {
      const { url, login } = await loginFor(rawUrl);
      const target = { url, user: login.user, secret: login.token, caFile: login.caFile };
      let note = 'token revoked';
      try {
        const res = await apiRequest(target, 'DELETE', `/users/current/cli-tokens/${login.tokenId}`);
        if (res.status === 401 || res.status === 404) note = 'the token had already stopped working';
        else expectStatus(res, 200, target);
      } catch (err) {
        // Forgotten here anyway, so the token is not left lying around; the server keeps it until it expires.
        await forgetLogin(url);
        throw new Error(`forgot the login to ${url}, but could not revoke its token on the server: ${(err as Error).message}`);
      }
      await forgetLogin(url);
      process.stderr.write(`logged out of ${url} (${note})\n`);
    });
}

function hostname(): string {
  return os.hostname() || 'this machine';
}

async function askLine(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return '';
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

/** Whether a user command works on the local database: --data/--config given, or no login stored. */
export async function userCommandIsLocal(flags: { data?: string; config?: string; registry?: string }): Promise<boolean> {
  if (flags.registry) return false;
  return flags.data !== undefined || flags.config !== undefined || !(await hasLogin());
}

interface UserResp {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  sysadmin_flag: boolean;
  creation_time: string;
}

async function userId(api: Awaited<ReturnType<typeof remote>>, name: string): Promise<number> {
  const found = await api.call<UserResp[]>('GET', `/users?q=${encodeURIComponent(`username=${name}`)}`, 200);
  const user = found.find((u) => u.username === name);
  if (!user) throw new Error(`no user named ${name} at ${api.target.url}`);
  return user.user_id;
}

export async function remoteUserList(flags: RegistryFlag & Json): Promise<void> {
  const api = await remote(flags.registry);
  const users: UserResp[] = [];
  for (let page = 1; ; page++) {
    const batch = await api.call<UserResp[]>('GET', `/users?sort=username&page_size=100&page=${page}`, 200);
    users.push(...batch);
    if (batch.length < 100) break;
  }
  if (flags.json) return print(JSON.stringify(users, null, 2));
  print(table(['ID', 'NAME', 'ADMIN', 'EMAIL', 'CREATED'], users.map((u) => [u.user_id, u.username, u.sysadmin_flag ? 'yes' : 'no', u.email || '-', when(u.creation_time)])));
}

export async function remoteUserDelete(name: string, flags: RegistryFlag): Promise<void> {
  const api = await remote(flags.registry);
  await api.call('DELETE', `/users/${await userId(api, name)}`, 200);
  process.stderr.write(`user ${name} deleted at ${api.target.url}\n`);
}

export function addRemoteUserCommands(user: Command): void {
  const registryOption = (c: Command) => c.option('--registry <url>', 'the registry logged in to (default: the last one)');
  registryOption(user.command('create').argument('<name>', 'user name').description('Create a user on the registry logged in to (password from standard input or asked).'))
    .option('--email <email>')
    .option('--realname <name>')
    .option('--comment <text>')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, flags: RegistryFlag & { email?: string; realname?: string; comment?: string; passwordStdin?: boolean }) => {
      const api = await remote(flags.registry);
      const password = await readSecret(`password for the new user ${name}: `, Boolean(flags.passwordStdin));
      await api.call('POST', '/users', 201, { username: name, password, email: flags.email, realname: flags.realname, comment: flags.comment });
      process.stderr.write(`user ${name} created at ${api.target.url}\n`);
    });
  registryOption(user.command('passwd').argument('[name]', 'user name (default: yourself)').description("Change your password (the old one is asked first), or, as an administrator, another user's."))
    .option('--password-stdin', 'read the passwords from standard input: the old one (for yourself) and the new one, a line each')
    .action(async (name: string | undefined, flags: RegistryFlag & { passwordStdin?: boolean }) => {
      const api = await remote(flags.registry);
      const self = name === undefined || name === api.target.user;
      const id = self ? (await api.call<UserResp>('GET', '/users/current', 200)).user_id : await userId(api, name);
      let oldPassword: string | undefined;
      let newPassword: string;
      if (flags.passwordStdin || !process.stdin.isTTY) {
        const lines = (await readSecret('', true)).split(/\r?\n/);
        [oldPassword, newPassword] = self ? [lines[0], lines[1] ?? ''] : [undefined, lines[0] ?? ''];
        if (!newPassword) throw new UsageError(self ? 'give the old and the new password on two lines of standard input' : 'give the new password on standard input');
      } else {
        if (self) oldPassword = await readSecret('old password: ', false);
        newPassword = await readSecret('new password: ', false);
        if ((await readSecret('new password again: ', false)) !== newPassword) throw new UsageError('the two new passwords differ; nothing was changed');
      }
      await api.call('PUT', `/users/${id}/password`, 200, { old_password: oldPassword, new_password: newPassword });
      process.stderr.write(`password of ${self ? api.target.user : name} changed (your CLI login stays valid: it is a token)\n`);
    });
  registryOption(user.command('admin').argument('<name>', 'user name').description('Make a user a system administrator (--revoke: no longer).'))
    .option('--revoke', 'take the administrator flag away')
    .action(async (name: string, flags: RegistryFlag & { revoke?: boolean }) => {
      const api = await remote(flags.registry);
      await api.call('PUT', `/users/${await userId(api, name)}/sysadmin`, 200, { sysadmin_flag: !flags.revoke });
      process.stderr.write(`${name} is ${flags.revoke ? 'no longer' : 'now'} a system administrator\n`);
    });
}

interface Robot {
  id: number;
  name: string;
  description: string;
  level: string;
  duration: number;
  disable: boolean;
  expires_at: number;
  permissions: Array<{ kind: string; namespace: string; access: Array<{ resource: string; action: string }> }>;
  creation_time: string;
  last_used_time: string | null;
  last_used_from: string | null;
}

const expiry = (s: number) => (s === -1 ? 'never' : new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z'));
const grants = (r: Robot) => r.permissions.map((p) => `${p.kind === 'system' ? 'system' : p.namespace}: ${p.access.map((a) => `${a.resource}:${a.action}`).join(',')}`).join('; ');

export function addRobotCommands(program: Command): void {
  const robot = program.command('robot').description('Robot accounts of the registry logged in to (minato login).');
  const cmd = (name: string, description: string) =>
    robot.command(name).description(description).option('--registry <url>', 'the registry logged in to (default: the last one)').option('--json', 'print JSON');
  const robotId = (v: string) => positiveInt(v, 'the robot id');

  cmd('list', 'List robots: a project\'s (--project) or, for administrators, all (--system: system robots only).')
    .option('--project <name-or-id>', "the project's robots")
    .option('--system', 'system robots only')
    .action(async (flags: RegistryFlag & Json & { project?: string; system?: boolean }) => {
      const api = await remote(flags.registry);
      let q = '';
      if (flags.project && flags.system) throw new UsageError('--project or --system, not both');
      if (flags.project) {
        const id = /^\d+$/.test(flags.project) ? Number(flags.project) : (await api.call<{ project_id: number }>('GET', `/projects/${encodeURIComponent(flags.project)}`, 200)).project_id;
        q = `Level=project,ProjectID=${id}`;
      } else if (flags.system) q = 'Level=system';
      const robots: Robot[] = [];
      for (let page = 1; ; page++) {
        const batch = await api.call<Robot[]>('GET', `/robots?page_size=100&page=${page}${q ? `&q=${encodeURIComponent(q)}` : ''}`, 200);
        robots.push(...batch);
        if (batch.length < 100) break;
      }
      if (flags.json) return print(JSON.stringify(robots, null, 2));
      print(table(['ID', 'NAME', 'ENABLED', 'EXPIRES', 'LAST USED', 'PERMISSIONS'], robots.map((r) => [r.id, r.name, r.disable ? 'no' : 'yes', expiry(r.expires_at), r.last_used_time ? `${when(r.last_used_time)} from ${r.last_used_from}` : 'never', grants(r)])));
    });

  cmd('create', 'Create a robot; its secret is printed once.')
    .argument('<name>', 'robot name (lowercase letters, digits, ".", "_", "-")')
    .option('--project <name>', 'a project robot of this project')
    .option('--system', 'a system robot (administrators), with --namespace for its project permissions')
    .option('--namespace <project>', 'system robots: the project its --access applies to ("*": every project)', '*')
    .option('--access <pairs>', 'resource:action pairs, comma-separated (see GET /api/v2.0/permissions)', 'repository:pull')
    .option('--duration <days>', 'days until it expires; -1 never', '-1')
    .option('--description <text>')
    .action(async (name: string, flags: RegistryFlag & Json & { project?: string; system?: boolean; namespace: string; access: string; duration: string; description?: string }) => {
      if (Boolean(flags.project) === Boolean(flags.system)) throw new UsageError('give --project NAME (a project robot) or --system (a system robot)');
      const duration = Number(flags.duration);
      if (!Number.isInteger(duration) || (duration < 1 && duration !== -1)) throw new UsageError('--duration is a number of days from 1, or -1 for never');
      const api = await remote(flags.registry);
      const access = parseAccess(flags.access);
      const made = await api.call<{ id: number; name: string; secret: string; expires_at: number }>('POST', '/robots', 201, {
        name,
        level: flags.system ? 'system' : 'project',
        duration,
        description: flags.description,
        permissions: [{ kind: 'project', namespace: flags.project ?? flags.namespace, access }],
      });
      if (flags.json) return print(JSON.stringify(made, null, 2));
      print(`id:      ${made.id}\nlogin:   ${made.name}\nsecret:  ${made.secret}\nexpires: ${expiry(made.expires_at)}`);
      process.stderr.write('The secret is shown only this once. `minato robot pullsecret` makes a docker config or a Kubernetes Secret from it.\n');
    });

  cmd('show', 'A robot: its permissions, expiry and last sign-in.')
    .argument('<id>', 'robot id', robotId)
    .action(async (id: number, flags: RegistryFlag & Json) => {
      const r = await (await remote(flags.registry)).call<Robot>('GET', `/robots/${id}`, 200);
      if (flags.json) return print(JSON.stringify(r, null, 2));
      print(
        [
          `id:          ${r.id}`,
          `login:       ${r.name}`,
          `level:       ${r.level}`,
          `description: ${r.description || '-'}`,
          `enabled:     ${r.disable ? 'no' : 'yes'}`,
          `expires:     ${expiry(r.expires_at)}`,
          `created:     ${when(r.creation_time)}`,
          `last used:   ${r.last_used_time ? `${when(r.last_used_time)} from ${r.last_used_from}` : 'never'}`,
          `permissions: ${grants(r)}`,
        ].join('\n'),
      );
    });

  cmd('update', 'Change a robot (name and level cannot change).')
    .argument('<id>', 'robot id', robotId)
    .option('--description <text>')
    .option('--disable', 'it signs in to nothing until enabled')
    .option('--enable')
    .option('--duration <days>', 'days from its creation; -1 never')
    .option('--access <pairs>', 'replace its permissions in its project (project robots) or namespace')
    .action(async (id: number, flags: RegistryFlag & Json & { description?: string; disable?: boolean; enable?: boolean; duration?: string; access?: string }) => {
      if (flags.disable && flags.enable) throw new UsageError('--disable or --enable, not both');
      const api = await remote(flags.registry);
      const body: Record<string, unknown> = {};
      if (flags.description !== undefined) body.description = flags.description;
      if (flags.disable || flags.enable) body.disable = Boolean(flags.disable);
      if (flags.duration !== undefined) body.duration = Number(flags.duration);
      if (flags.access) {
        const current = await api.call<Robot>('GET', `/robots/${id}`, 200);
        body.permissions = [{ kind: 'project', namespace: current.permissions[0]?.namespace ?? '*', access: parseAccess(flags.access) }];
      }
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --description, --disable, --enable, --duration or --access');
      await api.call('PUT', `/robots/${id}`, 200, body);
      process.stderr.write(`robot ${id} updated\n`);
    });

  cmd('delete', 'Delete a robot: it signs in to nothing from then on.')
    .argument('<id>', 'robot id', robotId)
    .action(async (id: number, flags: RegistryFlag) => {
      await (await remote(flags.registry)).call('DELETE', `/robots/${id}`, 200);
      process.stderr.write(`robot ${id} deleted\n`);
    });

  cmd('refresh', 'A new secret for a robot, printed once; --grace keeps the old one working that long.')
    .argument('<id>', 'robot id', robotId)
    .option('--grace <seconds>', 'seconds the old secret keeps working', '0')
    .option('--secret-stdin', 'use the secret on standard input instead of a generated one')
    .action(async (id: number, flags: RegistryFlag & Json & { grace: string; secretStdin?: boolean }) => {
      const grace = Number(flags.grace);
      if (!Number.isInteger(grace) || grace < 0) throw new UsageError('--grace is a number of seconds from 0');
      const api = await remote(flags.registry);
      const secret = flags.secretStdin ? await readSecret('', true) : '';
      const res = await api.call<{ secret: string }>('PATCH', `/robots/${id}`, 200, { secret, grace_seconds: grace });
      if (flags.json) return print(JSON.stringify(res));
      print(res.secret);
      process.stderr.write(`new secret of robot ${id}, shown only this once${grace ? `; the old one works for ${grace} s more` : '; the old one no longer works'}\n`);
    });

  cmd('pullsecret', 'A docker config.json or a Kubernetes imagePullSecret for a robot, from its secret (on standard input).')
    .argument('<id>', 'robot id', robotId)
    .option('--format <format>', 'dockerconfigjson or kubernetes', 'dockerconfigjson')
    .option('--namespace <ns>', 'kubernetes: the Secret\'s namespace')
    .option('--name <name>', 'kubernetes: the Secret\'s name')
    .option('--host <host[:port]>', 'the registry host in image names (default: the registry\'s)')
    .action(async (id: number, flags: RegistryFlag & { format: string; namespace?: string; name?: string; host?: string }) => {
      if (flags.format !== 'dockerconfigjson' && flags.format !== 'kubernetes') throw new UsageError('--format is dockerconfigjson or kubernetes');
      const api = await remote(flags.registry);
      const secret = await readSecret('robot secret: ', false);
      const out = await api.call('POST', `/robots/${id}/pullsecret`, 200, { secret, format: flags.format, namespace: flags.namespace, name: flags.name, registry: flags.host });
      print(JSON.stringify(out, null, 2));
    });
}
