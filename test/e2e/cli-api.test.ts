// The CLI against a running `minato serve`: login (a CLI token, never the password, in a 0600
// file), user and robot commands through the management API, a robot made by the CLI pushing with
// plain HTTP, a refreshed secret, a pull secret, usage errors (exit 2) and refusals (exit 1) in
// words, the local user commands still working with --data, and logout revoking the token.
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../helpers/http.js';
import { run } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

let tmp: string;
let data: string;
let server: ServeProcess;
let admin: string;
const env = () => ({ XDG_CONFIG_HOME: path.join(tmp, 'config') });
const minato = (args: string[], input?: string) => run(process.execPath, [CLI, ...args], { env: env(), input });
const credentialsFile = () => path.join(tmp, 'config', 'minato', 'credentials.json');

before(async () => {
  tmp = await tempDir('minato-e2e-cli-api-');
  data = path.join(tmp, 'data');
  server = await spawnServe(['--data', data]);
  admin = server.adminPassword!;
  assert.ok(admin, 'the first start printed the admin password');
});
after(async () => {
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

test('login, users and robots through the API, logout revokes', { timeout: 120_000 }, async () => {
  const wrong = await minato(['login', server.url, '--user', 'admin', '--password-stdin'], 'not-the-password\n');
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /refused the user name or password of admin \(401\); nothing was stored/);
  await assert.rejects(stat(credentialsFile()));

  const login = await minato(['login', server.url, '--user', 'admin', '--password-stdin'], `${admin}\n`);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stderr, /logged in to http:\/\/127\.0\.0\.1:\d+ as admin/);
  assert.equal((await stat(credentialsFile())).mode & 0o777, 0o600);
  const stored = await readFile(credentialsFile(), 'utf8');
  assert.ok(!stored.includes(admin), 'the password is never stored');
  const token = (JSON.parse(stored).registries[server.url] as { token: string }).token;
  assert.match(token, /^mnt_/);

  // Users.
  const created = await minato(['user', 'create', 'carol', '--email', 'carol@example.com', '--password-stdin'], 'Carol-pw12\n');
  assert.equal(created.code, 0, created.stderr);
  const weak = await minato(['user', 'create', 'dan', '--password-stdin'], 'weak\n');
  assert.equal(weak.code, 1);
  assert.match(weak.stderr, /8 to 128 characters/);
  const list = await minato(['user', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+NAME\s+ADMIN\s+EMAIL/);
  assert.match(list.stdout, /carol\s+no\s+carol@example\.com/);
  assert.equal((await minato(['user', 'admin', 'carol'])).code, 0);
  const asJson = JSON.parse((await minato(['user', 'list', '--json'])).stdout) as Array<{ username: string; sysadmin_flag: boolean }>;
  assert.equal(asJson.find((u) => u.username === 'carol')?.sysadmin_flag, true);
  // The local commands still work on this machine's database with --data, logged in or not.
  const local = await minato(['user', 'list', '--data', data]);
  assert.equal(local.code, 0, local.stderr);
  assert.deepEqual(local.stdout.trim().split('\n').sort(), ['admin', 'carol']);

  // A robot made with the CLI pushes with plain HTTP.
  const made = await minato(['robot', 'create', 'ci', '--project', 'library', '--access', 'repository:pull,repository:push', '--json']);
  assert.equal(made.code, 0, made.stderr);
  const robot = JSON.parse(made.stdout) as { id: number; name: string; secret: string };
  assert.equal(robot.name, 'robot$library+ci');
  const upload = (secret: string) => request(`${server.url}/v2/library/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: basic(robot.name, secret) } });
  assert.equal((await upload(robot.secret)).status, 202);
  const shown = await minato(['robot', 'show', String(robot.id)]);
  assert.match(shown.stdout, /login:\s+robot\$library\+ci/);
  assert.match(shown.stdout, /last used:\s+\S+ from 127\.0\.0\.1/);
  assert.match(shown.stdout, /library: repository:pull,repository:push/);
  assert.match((await minato(['robot', 'list'])).stdout, /robot\$library\+ci\s+yes\s+never/);

  // A pull secret from its secret (on standard input), then a refreshed secret.
  const ps = await minato(['robot', 'pullsecret', String(robot.id)], `${robot.secret}\n`);
  assert.equal(ps.code, 0, ps.stderr);
  assert.equal(JSON.parse(ps.stdout).auths[new URL(server.url).host].username, robot.name);
  const refreshed = await minato(['robot', 'refresh', String(robot.id)]);
  assert.equal(refreshed.code, 0, refreshed.stderr);
  const fresh = refreshed.stdout.trim();
  assert.equal((await upload(fresh)).status, 202);
  assert.equal((await upload(robot.secret)).status, 401, 'the old secret stopped');
  assert.equal((await minato(['robot', 'update', String(robot.id), '--disable'])).code, 0);
  assert.equal((await upload(fresh)).status, 401, 'disabled');

  // Usage errors exit 2, refusals 1, both in words.
  const usage = await minato(['robot', 'create', 'x']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /give --project NAME/);
  const missing = await minato(['robot', 'show', '999999']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found \(404\): robot 999999 does not exist/);
  assert.equal((await minato(['robot', 'delete', String(robot.id)])).code, 0);

  // Logout revokes the token on the server and forgets it here.
  const out = await minato(['logout']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /token revoked/);
  assert.equal((await request(`${server.url}/api/v2.0/users/current`, { headers: { Authorization: basic('admin', token) } })).status, 401);
  const after = await minato(['robot', 'list']);
  assert.equal(after.code, 2);
  assert.match(after.stderr, /not logged in/);
});

test('a non-admin logged in is refused in words', { timeout: 60_000 }, async () => {
  const login = await minato(['login', server.url, '--user', 'carol', '--password-stdin'], 'Carol-pw12\n');
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await minato(['user', 'admin', 'carol', '--revoke'])).code, 1, 'not your own flag away');
  const sys = await minato(['robot', 'list', '--system']);
  assert.equal(sys.code, 0, 'carol is an admin now');
  assert.equal((await minato(['logout', server.url])).code, 0);
});
