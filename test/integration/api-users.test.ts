// The user endpoints of /api/v2.0 on a real registry: list (q=, sort, paging), search, create
// (Harbor's name and password rules), read, profile, password (yours with the old one, another's
// as an admin), the admin flag, delete (not yourself; the user's sessions and CLI tokens end at
// once), users/current/permissions, CLI tokens; with htpasswd users the writes answer 412. Every
// response is checked against the served OpenAPI document; every access rule for the roles that
// matter (admin, a plain user, a project admin, a robot, anonymous).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import Sqlite from 'better-sqlite3';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { ROLES } from '../../src/auth/rbac.js';
import { request } from '../helpers/http.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const PW = 'Passw0rd-users';

describe('user endpoints (database users)', () => {
  let reg: TestRegistry;
  let anonymous: ApiClient;
  let admin: ApiClient;
  let bob: ApiClient;
  let robot: ApiClient;
  let pa: ApiClient;
  const as = (auth: string) => apiClient(reg.url, { headers: { Authorization: auth } });
  const idOf = async (name: string) => (await reg.projects.store.principalId('user', name));

  before(async () => {
    reg = await startTestRegistry();
    await reg.users!.setPassword('bob', PW);
    await reg.users!.setPassword('pat', PW);
    const proj = await reg.projects.create({ name: 'team' }, { user: null }, SYSTEM_ACTOR);
    await reg.projects.addMember(proj, 'pat', ROLES.projectAdmin, SYSTEM_ACTOR);
    const r = await reg.projects.createRobot({ name: 'ci', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'team', access: [{ resource: 'repository', action: 'pull' }] }] }, SYSTEM_ACTOR);
    anonymous = await apiClient(reg.url);
    admin = await as(reg.basic);
    bob = await as(basic('bob', PW));
    pa = await as(basic('pat', PW));
    robot = await as(basic(r.loginName, r.secret));
  });
  after(() => reg.close());

  test('create: admins only; Harbor\'s password and name rules; 201 with Location; 409 for a taken name', async () => {
    const body = { username: 'carol', password: 'Carol-pw1', email: 'carol@example.com', realname: 'Carol C', comment: 'qa' };
    assertApiError(await anonymous('POST', '/api/v2.0/users', { json: body }), 401, 'UNAUTHORIZED');
    for (const c of [bob, pa, robot]) assertApiError(await c('POST', '/api/v2.0/users', { json: body }), 403, 'FORBIDDEN');
    for (const password of ['short1A', 'alllowercase1', 'ALLUPPER1', 'NoDigitsHere', 'A1' + 'a'.repeat(127)]) {
      const res = await admin('POST', '/api/v2.0/users', { json: { ...body, password } });
      assert.equal(res.status, 400, password);
      assert.match(res.text, /8 to 128 characters|<=128 characters/);
    }
    for (const username of ['robot$x', 'a:b', 'with space', 'pct%']) {
      assertApiError(await admin('POST', '/api/v2.0/users', { json: { ...body, username } }), 400, 'BAD_REQUEST', username);
    }
    assertApiError(await admin('POST', '/api/v2.0/users', { json: { ...body, email: 'not-an-email' } }), 400, 'BAD_REQUEST');
    const res = await admin('POST', '/api/v2.0/users', { json: body });
    assert.equal(res.status, 201, res.text);
    const id = await idOf('carol');
    assert.equal(res.headers.location, `/api/v2.0/users/${id}`);
    assertApiError(await admin('POST', '/api/v2.0/users', { json: body }), 409, 'CONFLICT');
    // The new user signs in with its password.
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('carol', 'Carol-pw1') } })).status, 200);
    const got = (await admin('GET', `/api/v2.0/users/${id}`)).json();
    assert.equal(got.email, 'carol@example.com');
    assert.equal(got.realname, 'Carol C');
    assert.equal(got.sysadmin_flag, false);
  });

  test('list: admins only, q= on username and email, sort, paging with X-Total-Count; search for anyone signed in with ids and names only', async () => {
    assertApiError(await bob('GET', '/api/v2.0/users'), 403, 'FORBIDDEN');
    assertApiError(await anonymous('GET', '/api/v2.0/users'), 401, 'UNAUTHORIZED');
    const all = await admin('GET', '/api/v2.0/users?sort=username&page_size=2');
    assert.equal(all.headers['x-total-count'], '4');
    assert.deepEqual(all.json().map((u: { username: string }) => u.username), ['admin', 'bob']);
    assert.match(String(all.headers.link), /page=2/);
    assert.deepEqual((await admin('GET', '/api/v2.0/users?q=username%3D~PA')).json().map((u: { username: string }) => u.username), ['pat']);
    await reg.users!.updateProfile('bob', { email: 'bob@corp.test' }, SYSTEM_ACTOR);
    assert.deepEqual((await admin('GET', '/api/v2.0/users?q=email%3D~corp.test')).json().map((u: { username: string }) => u.username), ['bob']);
    assertApiError(await admin('GET', '/api/v2.0/users?q=password%3Dx'), 400, 'BAD_REQUEST');
    const found = await bob('GET', '/api/v2.0/users/search?username=a');
    assert.deepEqual(found.json().map((u: { username: string }) => u.username), ['admin', 'carol', 'pat']);
    assert.deepEqual(Object.keys(found.json()[0]).sort(), ['user_id', 'username']);
    assert.equal((await robot('GET', '/api/v2.0/users/search?username=bob')).status, 200);
    assertApiError(await anonymous('GET', '/api/v2.0/users/search?username=bob'), 401, 'UNAUTHORIZED');
  });

  test('get and update profile: yourself or an admin; others get 404', async () => {
    const bobId = await idOf('bob');
    const patId = await idOf('pat');
    assert.equal((await bob('GET', `/api/v2.0/users/${bobId}`)).json().username, 'bob');
    assertApiError(await bob('GET', `/api/v2.0/users/${patId}`), 404, 'NOT_FOUND');
    assertApiError(await robot('GET', `/api/v2.0/users/${patId}`), 404, 'NOT_FOUND');
    assertApiError(await bob('PUT', `/api/v2.0/users/${patId}`, { json: { realname: 'X' } }), 404, 'NOT_FOUND');
    assert.equal((await bob('PUT', `/api/v2.0/users/${bobId}`, { json: { realname: 'Bob B', comment: 'me' } })).status, 200);
    const me = (await bob('GET', '/api/v2.0/users/current')).json();
    assert.equal(me.realname, 'Bob B');
    assert.equal(me.comment, 'me');
    assert.equal((await admin('PUT', `/api/v2.0/users/${patId}`, { json: { email: 'pat@example.com' } })).status, 200);
    assert.equal((await admin('GET', `/api/v2.0/users/${patId}`)).json().email, 'pat@example.com');
    assertApiError(await admin('GET', '/api/v2.0/users/999999'), 404, 'NOT_FOUND');
    assertApiError(await admin('GET', '/api/v2.0/users/abc'), 400, 'BAD_REQUEST');
  });

  test('password: yours with the old one; an admin sets another\'s without it; nobody else', async () => {
    await reg.users!.setPassword('dora', PW);
    const dora = await as(basic('dora', PW));
    const id = await idOf('dora');
    assertApiError(await dora('PUT', `/api/v2.0/users/${id}/password`, { json: { new_password: 'Dora-new1' } }), 400, 'BAD_REQUEST');
    assertApiError(await dora('PUT', `/api/v2.0/users/${id}/password`, { json: { old_password: 'wrong', new_password: 'Dora-new1' } }), 403, 'FORBIDDEN');
    assertApiError(await dora('PUT', `/api/v2.0/users/${id}/password`, { json: { old_password: PW, new_password: 'weak' } }), 400, 'BAD_REQUEST');
    assertApiError(await bob('PUT', `/api/v2.0/users/${id}/password`, { json: { new_password: 'Bob-took1' } }), 404, 'NOT_FOUND');
    assert.equal((await dora('PUT', `/api/v2.0/users/${id}/password`, { json: { old_password: PW, new_password: 'Dora-new1' } })).status, 200);
    const v2 = (pw: string) => request(`${reg.url}/v2/`, { headers: { Authorization: basic('dora', pw) } });
    assert.equal((await v2('Dora-new1')).status, 200);
    assert.equal((await admin('PUT', `/api/v2.0/users/${id}/password`, { json: { new_password: 'Admin-set1' } })).status, 200);
    assert.equal((await v2('Admin-set1')).status, 200);
    assert.equal((await v2('Dora-new1')).status, 401, 'the old password stops working');
  });

  test('sysadmin flag: admins only; the new admin can administer; not your own away', async () => {
    const bobId = await idOf('bob');
    assertApiError(await bob('PUT', `/api/v2.0/users/${bobId}/sysadmin`, { json: { sysadmin_flag: true } }), 403, 'FORBIDDEN');
    assertApiError(await pa('PUT', `/api/v2.0/users/${bobId}/sysadmin`, { json: { sysadmin_flag: true } }), 403, 'FORBIDDEN');
    assert.equal((await admin('PUT', `/api/v2.0/users/${bobId}/sysadmin`, { json: { sysadmin_flag: true } })).status, 200);
    assert.equal((await bob('GET', '/api/v2.0/users/current')).json().sysadmin_flag, true);
    assert.equal((await bob('GET', '/api/v2.0/users')).status, 200, 'bob administers now');
    assertApiError(await bob('PUT', `/api/v2.0/users/${bobId}/sysadmin`, { json: { sysadmin_flag: false } }), 403, 'FORBIDDEN');
    assert.equal((await admin('PUT', `/api/v2.0/users/${bobId}/sysadmin`, { json: { sysadmin_flag: false } })).status, 200);
    assertApiError(await bob('GET', '/api/v2.0/users'), 403, 'FORBIDDEN');
  });

  test("a password change, your own or by an admin, ends that user's UI sessions at once; its CLI tokens stay (Harbor's CLI secret outlives a password change too)", async () => {
    await reg.users!.setPassword('gina', PW);
    const id = await idOf('gina');
    const signIn = async (password: string) => {
      const login = await request(`${reg.url}/c/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ principal: 'gina', password }) });
      assert.equal(login.status, 200, login.text);
      return String((login.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('sid=')))!.split(';')[0]!;
    };
    const current = (cookie: string) => request(`${reg.url}/api/v2.0/users/current`, { headers: { Cookie: cookie } });
    const { token } = await reg.cliTokens.create('gina', 'laptop', 30);
    const first = await signIn(PW);
    assert.equal((await current(first)).status, 200);
    const own = await as(basic('gina', PW));
    assert.equal((await own('PUT', `/api/v2.0/users/${id}/password`, { json: { old_password: PW, new_password: 'Passw0rd-gina-2' } })).status, 200);
    assert.equal((await current(first)).status, 401, 'her own change ended the session opened with the old password');
    const second = await signIn('Passw0rd-gina-2');
    assert.equal((await current(second)).status, 200);
    assert.equal((await admin('PUT', `/api/v2.0/users/${id}/password`, { json: { new_password: 'Passw0rd-gina-3' } })).status, 200);
    assert.equal((await current(second)).status, 401, "an administrator's change ends it too");
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('gina', token) } })).status, 200, 'the CLI token still works (revoke it on its own)');
  });

  test('delete: admins only, not yourself; the user\'s sessions and CLI tokens end at once; an event says so', async () => {
    await reg.users!.setPassword('erin', PW);
    const id = await idOf('erin');
    const login = await request(`${reg.url}/c/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ principal: 'erin', password: PW }) });
    assert.equal(login.status, 200, login.text);
    const cookie = String((login.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('sid=')))!.split(';')[0]!;
    const { token } = await reg.cliTokens.create('erin', 'laptop', 30);
    assert.equal((await request(`${reg.url}/api/v2.0/users/current`, { headers: { Cookie: cookie } })).status, 200);
    assertApiError(await bob('DELETE', `/api/v2.0/users/${id}`), 403, 'FORBIDDEN');
    const adminId = await idOf('admin');
    assertApiError(await admin('DELETE', `/api/v2.0/users/${adminId}`), 403, 'FORBIDDEN');
    assert.equal((await admin('DELETE', `/api/v2.0/users/${id}`)).status, 200);
    assert.equal((await request(`${reg.url}/api/v2.0/users/current`, { headers: { Cookie: cookie } })).status, 401, 'the session ended');
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('erin', token) } })).status, 401, 'the CLI token ended');
    assertApiError(await admin('DELETE', `/api/v2.0/users/${id}`), 404, 'NOT_FOUND');
    // The change is in the outbox, with who made it, for the audit log and every replica.
    const db = new Sqlite(path.join(reg.dataDir, 'minato.db'), { readonly: true });
    const events = db.prepare("select payload from events where type = 'user.changed'").all() as Array<{ payload: string }>;
    db.close();
    const deleted = events.map((e) => JSON.parse(e.payload)).find((e) => e.user === 'erin' && e.change === 'deleted');
    assert.equal(deleted?.actor.name, 'admin');
    assert.equal(deleted?.userId, id);
  });

  test('users/current/permissions: what the caller holds at a scope, relative or not', async () => {
    const team = reg.access.projectId('team')!;
    const patPerms = (await pa('GET', `/api/v2.0/users/current/permissions?scope=/project/${team}&relative=true`)).json() as Array<{ resource: string; action: string }>;
    assert.ok(patPerms.some((p) => p.resource === 'member' && p.action === 'create'), 'a project admin manages members');
    const bobPerms = (await bob('GET', `/api/v2.0/users/current/permissions?scope=/project/${team}&relative=true`)).json();
    assert.deepEqual(bobPerms, [], 'a non-member of a private project holds nothing');
    const robotPerms = (await robot('GET', `/api/v2.0/users/current/permissions?scope=/project/${team}`)).json();
    assert.deepEqual(robotPerms, [{ resource: `/project/${team}/repository`, action: 'pull' }]);
    const sys = (await admin('GET', '/api/v2.0/users/current/permissions?scope=/system&relative=true')).json() as Array<{ resource: string }>;
    assert.ok(sys.some((p) => p.resource === 'user'));
    // Everyone may create projects (projects.creationRestriction everyone), nothing more.
    assert.deepEqual((await bob('GET', '/api/v2.0/users/current/permissions?scope=/system')).json(), [{ resource: '/system/project', action: 'create' }]);
    assertApiError(await bob('GET', '/api/v2.0/users/current/permissions?scope=/etc'), 400, 'BAD_REQUEST');
  });

  test('CLI tokens: made by a signed-in user (not a robot), shown once, listed without secrets, revoked', async () => {
    assertApiError(await robot('POST', '/api/v2.0/users/current/cli-tokens', { json: { description: 'x' } }), 412, 'PRECONDITION');
    assertApiError(await anonymous('POST', '/api/v2.0/users/current/cli-tokens', { json: {} }), 401, 'UNAUTHORIZED');
    assertApiError(await pa('POST', '/api/v2.0/users/current/cli-tokens', { json: { days: 0 } }), 400, 'BAD_REQUEST');
    const made = await pa('POST', '/api/v2.0/users/current/cli-tokens', { json: { description: 'laptop', days: 7 } });
    assert.equal(made.status, 201, made.text);
    const { id, token, expires_at } = made.json();
    assert.equal(made.headers.location, `/api/v2.0/users/current/cli-tokens/${id}`);
    assert.ok(Math.abs(Date.parse(expires_at) - (Date.now() + 7 * 86_400_000)) < 60_000);
    const withToken = await as(basic('pat', token));
    const listed = await withToken('GET', '/api/v2.0/users/current/cli-tokens');
    assert.deepEqual(listed.json().map((t: { id: number; description: string }) => [t.id, t.description]), [[id, 'laptop']]);
    assert.ok(!listed.text.includes(token), 'no secret in the list');
    assert.deepEqual((await bob('GET', '/api/v2.0/users/current/cli-tokens')).json(), [], "another user's tokens are not listed");
    assertApiError(await bob('DELETE', `/api/v2.0/users/current/cli-tokens/${id}`), 404, 'NOT_FOUND');
    assert.equal((await withToken('DELETE', `/api/v2.0/users/current/cli-tokens/${id}`)).status, 200);
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('pat', token) } })).status, 401);
  });
});

describe('user endpoints with htpasswd users', () => {
  let reg: TestRegistry;
  let admin: ApiClient;
  before(async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'htpasswd');
    await writeFile(file, `root:${bcrypt.hashSync('Root-pw1', 4)}\numa:${bcrypt.hashSync('Uma-pw12', 4)}\n`);
    reg = await startTestRegistry({ auth: { htpasswd: file, admins: ['root'] } });
    admin = await apiClient(reg.url, { headers: { Authorization: basic('root', 'Root-pw1') } });
    await apiClient(reg.url, { headers: { Authorization: basic('uma', 'Uma-pw12') } }).then((c) => c('GET', '/api/v2.0/users/current'));
  });
  after(() => reg.close());

  test('writes answer 412 in words; the list shows the principals seen', async () => {
    const res = await admin('POST', '/api/v2.0/users', { json: { username: 'new', password: 'New-pw123' } });
    assertApiError(res, 412, 'PRECONDITION');
    assert.match(res.text, /htpasswd file/);
    const names = (await admin('GET', '/api/v2.0/users?sort=username')).json().map((u: { username: string; sysadmin_flag: boolean }) => [u.username, u.sysadmin_flag]);
    assert.deepEqual(names, [['root', true], ['uma', false]]);
    const uma = (await admin('GET', '/api/v2.0/users?q=username%3Duma')).json()[0];
    assertApiError(await admin('PUT', `/api/v2.0/users/${uma.user_id}/sysadmin`, { json: { sysadmin_flag: true } }), 412, 'PRECONDITION');
    assertApiError(await admin('DELETE', `/api/v2.0/users/${uma.user_id}`), 412, 'PRECONDITION');
  });
});
