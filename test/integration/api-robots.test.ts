// The robot endpoints of /api/v2.0 on a real registry: list by level and project (who may list
// what, as Harbor), create (system robots for admins, project robots with robot:create there;
// robots only give what they hold), read with the last sign-in, update (name and level fixed),
// secret refresh with a grace period, delete, pull secrets from a proven secret, the permission
// catalogue. Every response is checked against the served OpenAPI document; every rule for admin,
// project admin, maintainer, developer, guest, limited guest, non-member, anonymous and robot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROLES, ROBOT_ALLOWED } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request } from '../helpers/http.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const PW = 'Passw0rd-robots';
const pullRobot = (name: string, namespace = 'team') => ({
  name,
  level: 'project',
  duration: 30,
  permissions: [{ kind: 'project', namespace, access: [{ resource: 'repository', action: 'pull' }] }],
});
const v2 = (reg: TestRegistry, user: string, secret: string) => request(`${reg.url}/v2/`, { headers: { Authorization: basic(user, secret) } }).then((r) => r.status);

describe('robot endpoints', () => {
  let reg: TestRegistry;
  let teamId: number;
  const c: Record<string, ApiClient> = {};

  before(async () => {
    reg = await startTestRegistry();
    const team = await reg.projects.create({ name: 'team' }, { user: null }, SYSTEM_ACTOR);
    await reg.projects.create({ name: 'other' }, { user: null }, SYSTEM_ACTOR);
    teamId = team.id;
    for (const [name, role] of Object.entries(ROLES)) {
      await reg.users!.setPassword(name, PW);
      await reg.projects.addMember(team, name, role, SYSTEM_ACTOR);
      c[name] = await apiClient(reg.url, { headers: { Authorization: basic(name, PW) } });
    }
    await reg.users!.setPassword('outsider', PW);
    c.outsider = await apiClient(reg.url, { headers: { Authorization: basic('outsider', PW) } });
    c.admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    c.anonymous = await apiClient(reg.url);
    const keeper = await reg.projects.createRobot(
      {
        name: 'keeper',
        level: 'project',
        duration: -1,
        permissions: [{ kind: 'project', namespace: 'team', access: [{ resource: 'robot', action: 'create' }, { resource: 'robot', action: 'list' }, { resource: 'repository', action: 'pull' }] }],
      },
      SYSTEM_ACTOR,
    );
    c.robot = await apiClient(reg.url, { headers: { Authorization: basic(keeper.loginName, keeper.secret) } });
  });
  after(() => reg.close());

  test('create a project robot: robot:create in the project (project admins), 201 with the secret once and Location; the robot signs in', async () => {
    for (const who of ['maintainer', 'developer', 'guest', 'limitedGuest', 'outsider']) {
      assertApiError(await c[who]!('POST', '/api/v2.0/robots', { json: pullRobot(`by-${who.toLowerCase()}`) }), 403, 'FORBIDDEN', who);
    }
    assertApiError(await c.anonymous!('POST', '/api/v2.0/robots', { json: pullRobot('anon') }), 401, 'UNAUTHORIZED');
    const res = await c.projectAdmin!('POST', '/api/v2.0/robots', { json: { ...pullRobot('builder'), description: 'CI' } });
    assert.equal(res.status, 201, res.text);
    const made = res.json();
    assert.equal(made.name, 'robot$team+builder');
    assert.equal(res.headers.location, `/api/v2.0/robots/${made.id}`);
    assert.ok(made.expires_at > Date.now() / 1000 + 29 * 86400);
    assert.equal(await v2(reg, made.name, made.secret), 200);
    assertApiError(await c.projectAdmin!('POST', '/api/v2.0/robots', { json: pullRobot('builder') }), 409, 'CONFLICT');
    // Permissions a robot may not hold, another project, no project: refused.
    const bad = { ...pullRobot('bad'), permissions: [{ kind: 'project', namespace: 'team', access: [{ resource: 'member', action: 'fly' }] }] };
    assertApiError(await c.projectAdmin!('POST', '/api/v2.0/robots', { json: bad }), 400, 'BAD_REQUEST');
    assertApiError(await c.projectAdmin!('POST', '/api/v2.0/robots', { json: pullRobot('elsewhere', 'other') }), 403, 'FORBIDDEN');
    assertApiError(await c.admin!('POST', '/api/v2.0/robots', { json: pullRobot('ghost', 'nope') }), 404, 'NOT_FOUND');
  });

  test('system robots: administrators only', async () => {
    const sys = { name: 'sweeper', level: 'system', duration: -1, permissions: [{ kind: 'project', namespace: '*', access: [{ resource: 'repository', action: 'pull' }] }] };
    assertApiError(await c.projectAdmin!('POST', '/api/v2.0/robots', { json: sys }), 403, 'FORBIDDEN');
    assertApiError(await c.robot!('POST', '/api/v2.0/robots', { json: sys }), 403, 'FORBIDDEN');
    const res = await c.admin!('POST', '/api/v2.0/robots', { json: sys });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json().name, 'robot$sweeper');
  });

  test('a robot creates robots with equal or narrower permissions only', async () => {
    const res = await c.robot!('POST', '/api/v2.0/robots', { json: pullRobot('child') });
    assert.equal(res.status, 201, res.text);
    const wider = { ...pullRobot('wider'), permissions: [{ kind: 'project', namespace: 'team', access: [{ resource: 'repository', action: 'push' }] }] };
    const refused = await c.robot!('POST', '/api/v2.0/robots', { json: wider });
    assertApiError(refused, 403, 'FORBIDDEN');
    assert.match(refused.text, /permissions it holds itself/);
  });

  test('list: a project\'s robots for those with robot:list there; system robots and all robots for admins; paging', async () => {
    const q = `?q=${encodeURIComponent(`Level=project,ProjectID=${teamId}`)}`;
    for (const who of ['projectAdmin', 'maintainer', 'developer', 'guest', 'robot']) {
      const res = await c[who]!('GET', `/api/v2.0/robots${q}`);
      assert.equal(res.status, 200, `${who}: ${res.text}`);
      assert.ok(res.json().every((r: { name: string }) => r.name.startsWith('robot$team+')), who);
    }
    for (const who of ['limitedGuest', 'outsider']) assertApiError(await c[who]!('GET', `/api/v2.0/robots${q}`), 403, 'FORBIDDEN', who);
    assertApiError(await c.anonymous!('GET', `/api/v2.0/robots${q}`), 401, 'UNAUTHORIZED');
    assertApiError(await c.projectAdmin!('GET', '/api/v2.0/robots?q=Level%3Dsystem'), 403, 'FORBIDDEN');
    const system = (await c.admin!('GET', '/api/v2.0/robots?q=Level%3Dsystem')).json();
    assert.deepEqual(system.map((r: { name: string }) => r.name), ['robot$sweeper']);
    const page = await c.admin!('GET', '/api/v2.0/robots?page_size=2&sort=name');
    assert.equal(page.headers['x-total-count'], '4');
    assert.deepEqual(page.json().map((r: { name: string }) => r.name), ['robot$sweeper', 'robot$team+builder']);
    assert.match(String(page.headers.link), /page=2/);
    assertApiError(await c.admin!('GET', '/api/v2.0/robots?q=Level%3Dnone'), 400, 'BAD_REQUEST');
    assertApiError(await c.admin!('GET', '/api/v2.0/robots?q=Level%3Dproject,ProjectID%3D99999'), 404, 'NOT_FOUND');
  });

  test('get shows the last sign-in; update keeps name and level; refresh with a grace period; delete', async () => {
    const made = (await c.projectAdmin!('POST', '/api/v2.0/robots', { json: pullRobot('rotor') })).json();
    assert.equal(await v2(reg, made.name, made.secret), 200);
    const got = (await c.developer!('GET', `/api/v2.0/robots/${made.id}`)).json();
    assert.equal(got.level, 'project');
    assert.equal(got.last_used_from, '127.0.0.1');
    assert.ok(Date.parse(got.last_used_time) > Date.now() - 60_000);
    assert.ok(!JSON.stringify(got).includes(made.secret));
    assertApiError(await c.outsider!('GET', `/api/v2.0/robots/${made.id}`), 403, 'FORBIDDEN');
    assertApiError(await c.admin!('GET', '/api/v2.0/robots/987654'), 404, 'NOT_FOUND');

    assertApiError(await c.maintainer!('PUT', `/api/v2.0/robots/${made.id}`, { json: { description: 'x' } }), 403, 'FORBIDDEN');
    assertApiError(await c.projectAdmin!('PUT', `/api/v2.0/robots/${made.id}`, { json: { name: 'renamed' } }), 400, 'BAD_REQUEST');
    assertApiError(await c.projectAdmin!('PUT', `/api/v2.0/robots/${made.id}`, { json: { level: 'system' } }), 400, 'BAD_REQUEST');
    assert.equal((await c.projectAdmin!('PUT', `/api/v2.0/robots/${made.id}`, { json: { name: made.name, description: 'rotated', disable: true } })).status, 200);
    assert.equal(await v2(reg, made.name, made.secret), 401, 'disabled');
    assert.equal((await c.projectAdmin!('PUT', `/api/v2.0/robots/${made.id}`, { json: { disable: false } })).status, 200);

    assertApiError(await c.developer!('PATCH', `/api/v2.0/robots/${made.id}`, { json: { secret: '' } }), 403, 'FORBIDDEN');
    const refreshed = await c.projectAdmin!('PATCH', `/api/v2.0/robots/${made.id}`, { json: { secret: '', grace_seconds: 300 } });
    assert.equal(refreshed.status, 200, refreshed.text);
    const fresh = refreshed.json().secret as string;
    assert.equal(await v2(reg, made.name, fresh), 200);
    assert.equal(await v2(reg, made.name, made.secret), 200, 'the old secret works during its grace');
    const self = await apiClient(reg.url, { headers: { Authorization: basic(made.name, fresh) } });
    const own = await self('PATCH', `/api/v2.0/robots/${made.id}`, { json: { secret: 'Own-Secret-123' } });
    assert.equal(own.status, 200, 'a robot refreshes its own secret');
    assert.equal(await v2(reg, made.name, fresh), 401, 'no grace asked: the previous secret stops at once');
    assertApiError(await c.projectAdmin!('PATCH', `/api/v2.0/robots/${made.id}`, { json: { secret: 'weak' } }), 400, 'BAD_REQUEST');

    assertApiError(await c.maintainer!('DELETE', `/api/v2.0/robots/${made.id}`), 403, 'FORBIDDEN');
    assert.equal((await c.projectAdmin!('DELETE', `/api/v2.0/robots/${made.id}`)).status, 200);
    assert.equal(await v2(reg, made.name, 'Own-Secret-123'), 401);
    assertApiError(await c.projectAdmin!('DELETE', `/api/v2.0/robots/${made.id}`), 404, 'NOT_FOUND');
  });

  test('pull secrets: from the current secret only, as a docker config or a Kubernetes Secret', async () => {
    const made = (await c.projectAdmin!('POST', '/api/v2.0/robots', { json: pullRobot('puller') })).json();
    const host = new URL(reg.url).host;
    const cfg = (await c.guest!('POST', `/api/v2.0/robots/${made.id}/pullsecret`, { json: { secret: made.secret } })).json();
    assert.equal(cfg.auths[host].username, made.name);
    const [user, secret] = Buffer.from(cfg.auths[host].auth, 'base64').toString().split(':');
    assert.equal(await v2(reg, user!, secret!), 200, 'the config signs in');
    const k8s = (await c.projectAdmin!('POST', `/api/v2.0/robots/${made.id}/pullsecret`, { json: { secret: made.secret, format: 'kubernetes', namespace: 'ci', registry: 'registry.example.com' } })).json();
    assert.equal(k8s.type, 'kubernetes.io/dockerconfigjson');
    assert.equal(k8s.metadata.namespace, 'ci');
    assert.ok(JSON.parse(Buffer.from(k8s.data['.dockerconfigjson'], 'base64').toString()).auths['registry.example.com']);
    assertApiError(await c.projectAdmin!('POST', `/api/v2.0/robots/${made.id}/pullsecret`, { json: { secret: 'Wrong-Secret-1' } }), 403, 'FORBIDDEN');
    assertApiError(await c.outsider!('POST', `/api/v2.0/robots/${made.id}/pullsecret`, { json: { secret: made.secret } }), 403, 'FORBIDDEN');
  });

  test('the permission catalogue is ROBOT_ALLOWED', async () => {
    const cat = (await c.guest!('GET', '/api/v2.0/permissions')).json();
    assert.equal(cat.system.length, Object.values(ROBOT_ALLOWED.system).flat().length);
    assert.ok(cat.project.some((p: { resource: string; action: string }) => p.resource === 'repository' && p.action === 'push'));
    assertApiError(await c.anonymous!('GET', '/api/v2.0/permissions'), 401, 'UNAUTHORIZED');
  });
});
