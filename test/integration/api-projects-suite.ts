// The project endpoints of /api/v2.0 on an in-process registry: listing (who sees what, Harbor's
// filters, q=, sort=, paging), exists, create (Location, creationRestriction), get by name or id
// (X-Is-Resource-Name), update, delete (refused in words while repositories remain), _deletable,
// summary, members and metadata; the access rule of every endpoint for each role of
// docs/permissions.md, allowed and refused. Every response is checked against the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient, assertApiError, assertValidDocument, type ApiClient } from '../helpers/openapi.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const PASSWORD = 'Passw0rd-for-tests';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const ROLE_USERS = Object.keys(ROLES) as Array<keyof typeof ROLES>;
/** Everyone a rule is tested for. */
const WHO = ['sysadmin', ...ROLE_USERS, 'outsider', 'anonymous', 'robot'] as const;
type Who = (typeof WHO)[number];

/** The suite, on the database `config` names (SQLite here; PostgreSQL in test/e2e/api-content-postgres.test.ts). */
export function projectsSuite(label: string, config: () => Promise<Record<string, unknown>> = async () => ({})): void {
describe(`project endpoints (${label})`, () => {
  let reg: TestRegistry;
  const as = new Map<Who, ApiClient>();
  let privId: number;

  before(async () => {
    reg = await startTestRegistry({ ...(await config()), auth: { anonymousPull: true }, projects: { autoCreate: false } });
    const priv = await reg.projects.create({ name: 'priv' }, { user: null }, SYSTEM_ACTOR);
    privId = priv.id;
    await reg.projects.create({ name: 'pub', public: true }, { user: null }, SYSTEM_ACTOR);
    for (const name of [...ROLE_USERS, 'outsider']) await reg.users!.setPassword(name, PASSWORD);
    for (const [name, role] of Object.entries(ROLES)) await reg.projects.addMember(priv, name, role, SYSTEM_ACTOR);
    const robot = await reg.projects.createRobot(
      { name: 'reader', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'priv', access: [{ resource: 'project', action: 'read' }, { resource: 'member', action: 'list' }] }] },
      SYSTEM_ACTOR,
    );
    as.set('sysadmin', await apiClient(reg.url, { headers: { Authorization: reg.basic } }));
    for (const name of [...ROLE_USERS, 'outsider'] as const) as.set(name, await apiClient(reg.url, { headers: { Authorization: basic(name, PASSWORD) } }));
    as.set('anonymous', await apiClient(reg.url));
    as.set('robot', await apiClient(reg.url, { headers: { Authorization: basic(robot.loginName, robot.secret) } }));
  });
  after(() => reg.close());

  const api = (who: Who) => as.get(who)!;

  test('the document holds every project operation and stays valid', () => {
    const c = api('anonymous').contract;
    assertValidDocument(c);
    const ids = Object.values(c.document.paths).flatMap((item) => Object.values(item as object).map((op: any) => op.operationId));
    for (const id of ['listProjects', 'headProject', 'createProject', 'getProject', 'updateProject', 'deleteProject', 'getProjectDeletableStatus', 'getProjectSummary', 'listProjectMembers', 'createProjectMember', 'getProjectMember', 'updateProjectMember', 'deleteProjectMember', 'listProjectMetadatas', 'addProjectMetadatas', 'getProjectMetadata', 'updateProjectMetadata', 'deleteProjectMetadata']) {
      assert.ok(ids.includes(id), id);
    }
  });

  test('the access rule of every project endpoint, per role (allowed: not 401/403; refused: 401 anonymous, 403 signed in)', async () => {
    // Written by hand from Harbor's matrix (docs/permissions.md), not derived from minato's code.
    const member = ['sysadmin', ...ROLE_USERS] as Who[];
    const admins: Who[] = ['sysadmin', 'projectAdmin'];
    const cases: Array<{ method: string; path: string; json?: unknown; allowed: Who[] }> = [
      { method: 'GET', path: '/api/v2.0/projects/priv', allowed: [...member, 'robot'] },
      { method: 'GET', path: `/api/v2.0/projects/${privId}`, allowed: [...member, 'robot'] },
      { method: 'GET', path: '/api/v2.0/projects/priv/summary', allowed: [...member, 'robot'] },
      { method: 'PUT', path: '/api/v2.0/projects/priv', json: { metadata: { auto_scan: 'false' } }, allowed: admins },
      { method: 'GET', path: '/api/v2.0/projects/priv/_deletable', allowed: admins },
      { method: 'GET', path: '/api/v2.0/projects/priv/members', allowed: ['sysadmin', 'projectAdmin', 'maintainer', 'developer', 'guest', 'robot'] },
      { method: 'GET', path: '/api/v2.0/projects/priv/metadatas', allowed: admins },
      { method: 'GET', path: '/api/v2.0/projects/priv/metadatas/public', allowed: ['sysadmin', 'projectAdmin', 'maintainer'] },
      { method: 'PUT', path: '/api/v2.0/projects/priv/metadatas/public', json: { public: 'false' }, allowed: admins },
      // A project's own public set: anyone reads a public project.
      { method: 'GET', path: '/api/v2.0/projects/pub', allowed: [...WHO] },
    ];
    for (const c of cases) {
      for (const who of WHO) {
        const res = await api(who)(c.method, c.path, c.json === undefined ? {} : { json: c.json });
        const where = `${who} ${c.method} ${c.path}`;
        if (c.allowed.includes(who)) assert.ok(res.status < 300, `${where} allowed: ${res.status} ${res.text}`);
        else if (who === 'anonymous') assertApiError(res, 401, 'UNAUTHORIZED', where);
        else assertApiError(res, 403, 'FORBIDDEN', where);
      }
    }
    // A member's id, as listed, for the member endpoints.
    const bob = (await api('sysadmin')('GET', '/api/v2.0/projects/priv/members?entityname=guest')).json().find((m: any) => m.entity_name === 'guest');
    for (const who of WHO) {
      const get = await api(who)('GET', `/api/v2.0/projects/priv/members/${bob.id}`);
      if (['sysadmin', 'projectAdmin', 'maintainer', 'developer', 'guest'].includes(who)) assert.equal(get.status, 200, `${who}: ${get.text}`);
      else assert.ok([401, 403].includes(get.status), `${who}: ${get.status}`);
      const put = await api(who)('PUT', `/api/v2.0/projects/priv/members/${bob.id}`, { json: { role_id: ROLES.guest } });
      if (admins.includes(who)) assert.equal(put.status, 200, `${who}: ${put.text}`);
      else assert.ok([401, 403].includes(put.status), `${who} may not change roles: ${put.status}`);
    }
    // A system admin asking for a project that does not exist: 404; others: 403 (no existence leak).
    assertApiError(await api('sysadmin')('GET', '/api/v2.0/projects/nope'), 404, 'NOT_FOUND');
    assertApiError(await api('outsider')('GET', '/api/v2.0/projects/nope'), 403, 'FORBIDDEN');
  });

  test('listing: public projects and memberships; admins see all; anonymous the public ones', async () => {
    await reg.projects.create({ name: 'other' }, { user: null }, SYSTEM_ACTOR);
    const names = async (who: Who, query = '') => (await api(who)('GET', `/api/v2.0/projects${query}`)).json().map((p: any) => p.name).sort();
    assert.deepEqual(await names('sysadmin', '?page_size=100'), ['library', 'other', 'priv', 'pub']);
    assert.deepEqual(await names('guest'), ['library', 'priv', 'pub']);
    assert.deepEqual(await names('outsider'), ['library', 'pub']);
    assert.deepEqual(await names('anonymous'), ['library', 'pub']);
    assert.deepEqual(await names('robot'), ['library', 'priv', 'pub']);
    const dev = (await api('developer')('GET', '/api/v2.0/projects?name=priv')).json();
    assert.equal(dev.length, 1);
    assert.equal(dev[0].current_user_role_id, ROLES.developer);
    assert.deepEqual(dev[0].current_user_role_ids, [ROLES.developer]);
    assert.equal(dev[0].metadata.public, 'false');
    assert.equal(dev[0].repo_count, 0);
    assert.equal((await api('sysadmin')('GET', '/api/v2.0/projects?name=priv')).json()[0].current_user_role_id, ROLES.projectAdmin, 'admins count as project admins');
    assert.deepEqual(await names('sysadmin', '?public=true'), ['library', 'pub']);
    assert.deepEqual(await names('sysadmin', '?q=name%3D~pr'), ['priv']);
    const sorted = (await api('sysadmin')('GET', '/api/v2.0/projects?sort=-name&page_size=2&page=2')).json().map((p: any) => p.name);
    assert.deepEqual(sorted, ['other', 'library']);
    const page = await api('sysadmin')('GET', '/api/v2.0/projects?page_size=1');
    assert.equal(page.headers['x-total-count'], '4');
    assert.match(String(page.headers.link), /rel="next"/);
    assertApiError(await api('sysadmin')('GET', '/api/v2.0/projects?q=nosuch%3D1'), 400, 'BAD_REQUEST');
    assertApiError(await api('sysadmin')('GET', '/api/v2.0/projects?sort=password'), 400, 'BAD_REQUEST');
    const lean = (await api('sysadmin')('GET', '/api/v2.0/projects?with_detail=false&name=priv')).json()[0];
    assert.equal(lean.repo_count, undefined);
  });

  test('create: 201 with Location, the creator its admin; names checked; taken names 409; HEAD says whether a name exists', async () => {
    const res = await api('outsider')('POST', '/api/v2.0/projects', { json: { project_name: 'made-by-outsider', metadata: { public: 'true' } } });
    assert.equal(res.status, 201, res.text);
    const location = String(res.headers.location);
    assert.match(location, /^\/api\/v2\.0\/projects\/\d+$/);
    const made = (await api('outsider')('GET', location)).json();
    assert.equal(made.name, 'made-by-outsider');
    assert.equal(made.owner_name, 'outsider');
    assert.equal(made.current_user_role_id, ROLES.projectAdmin);
    assert.equal(made.metadata.public, 'true');
    assertApiError(await api('outsider')('POST', '/api/v2.0/projects', { json: { project_name: 'made-by-outsider' } }), 409, 'CONFLICT');
    assertApiError(await api('outsider')('POST', '/api/v2.0/projects', { json: { project_name: 'Bad Name' } }), 400, 'BAD_REQUEST');
    assertApiError(await api('outsider')('POST', '/api/v2.0/projects', { json: { project_name: 'x', unknown_field: 1 } }), 400, 'BAD_REQUEST');
    assertApiError(await api('anonymous')('POST', '/api/v2.0/projects', { json: { project_name: 'anon' } }), 401, 'UNAUTHORIZED');
    assertApiError(await api('robot')('POST', '/api/v2.0/projects', { json: { project_name: 'robotmade' } }), 403, 'FORBIDDEN');
    assert.equal((await api('guest')('HEAD', '/api/v2.0/projects?project_name=made-by-outsider')).status, 200);
    assert.equal((await api('guest')('HEAD', '/api/v2.0/projects?project_name=never-made')).status, 404);
    assert.equal((await api('anonymous')('HEAD', '/api/v2.0/projects?project_name=priv')).status, 401);
  });

  test('get by id or name: all digits is an id unless X-Is-Resource-Name says it is a name', async () => {
    await reg.projects.create({ name: '2024' }, { user: null }, SYSTEM_ACTOR);
    const byName = await api('sysadmin')('GET', '/api/v2.0/projects/2024', { headers: { 'X-Is-Resource-Name': 'true' } });
    assert.equal(byName.json().name, '2024');
    const byId = await api('sysadmin')('GET', `/api/v2.0/projects/${privId}`);
    assert.equal(byId.json().name, 'priv');
  });

  test('update: metadata merged, public toggled; the name cannot change', async () => {
    const admin = api('projectAdmin');
    assert.equal((await admin('PUT', '/api/v2.0/projects/priv', { json: { metadata: { public: 'true' } } })).status, 200);
    assert.equal((await api('anonymous')('GET', '/api/v2.0/projects/priv')).status, 200, 'public now');
    assert.equal((await admin('PUT', '/api/v2.0/projects/priv', { json: { public: false } })).status, 200);
    assertApiError(await api('anonymous')('GET', '/api/v2.0/projects/priv'), 401, 'UNAUTHORIZED');
    assertApiError(await admin('PUT', '/api/v2.0/projects/priv', { json: { project_name: 'renamed' } }), 400, 'BAD_REQUEST');
    assertApiError(await admin('PUT', '/api/v2.0/projects/priv', { json: { metadata: { public: 'maybe' } } }), 400, 'BAD_REQUEST');
  });

  test('metadata: add, get one, update one, delete one; public cannot be deleted', async () => {
    const admin = api('projectAdmin');
    assert.equal((await admin('POST', '/api/v2.0/projects/priv/metadatas', { json: { auto_scan: 'true' } })).status, 200);
    assert.deepEqual((await admin('GET', '/api/v2.0/projects/priv/metadatas/auto_scan')).json(), { auto_scan: 'true' });
    assert.equal((await admin('PUT', '/api/v2.0/projects/priv/metadatas/auto_scan', { json: { auto_scan: 'false' } })).status, 200);
    assert.equal((await admin('GET', '/api/v2.0/projects/priv/metadatas')).json().auto_scan, 'false');
    assertApiError(await admin('PUT', '/api/v2.0/projects/priv/metadatas/auto_scan', { json: { other: 'x' } }), 400, 'BAD_REQUEST');
    assertApiError(await admin('PUT', '/api/v2.0/projects/priv/metadatas/never_set', { json: { never_set: 'x' } }), 404, 'NOT_FOUND');
    assert.equal((await admin('DELETE', '/api/v2.0/projects/priv/metadatas/auto_scan')).status, 200);
    assertApiError(await admin('GET', '/api/v2.0/projects/priv/metadatas/auto_scan'), 404, 'NOT_FOUND');
    assertApiError(await admin('DELETE', '/api/v2.0/projects/priv/metadatas/public'), 400, 'BAD_REQUEST');
  });

  test('members: add by username (201, Location), list with entityname, change the role, remove; unknown users 404; robots refused', async () => {
    const admin = api('projectAdmin');
    await reg.users!.setPassword('carol', PASSWORD);
    const res = await admin('POST', '/api/v2.0/projects/priv/members', { json: { role_id: ROLES.developer, member_user: { username: 'carol' } } });
    assert.equal(res.status, 201, res.text);
    const location = String(res.headers.location);
    assert.match(location, new RegExp(`^/api/v2\\.0/projects/${privId}/members/\\d+$`));
    const carol = (await admin('GET', location.replace(`/projects/${privId}/`, '/projects/priv/'))).json();
    assert.deepEqual({ ...carol, id: 0, entity_id: 0 }, { id: 0, entity_id: 0, project_id: privId, entity_name: 'carol', role_name: 'Developer', role_id: ROLES.developer, entity_type: 'u' });
    const carolClient = await apiClient(reg.url, { headers: { Authorization: basic('carol', PASSWORD) } });
    assert.equal((await carolClient('GET', '/api/v2.0/projects/priv')).status, 200, 'membership takes effect at once');
    assertApiError(await admin('POST', '/api/v2.0/projects/priv/members', { json: { role_id: ROLES.guest, member_user: { username: 'carol' } } }), 409, 'CONFLICT');
    assertApiError(await admin('POST', '/api/v2.0/projects/priv/members', { json: { role_id: ROLES.guest, member_user: { username: 'nobody' } } }), 404, 'NOT_FOUND');
    assertApiError(await admin('POST', '/api/v2.0/projects/priv/members', { json: { role_id: 9, member_user: { username: 'carol' } } }), 400, 'BAD_REQUEST');
    assertApiError(await admin('POST', '/api/v2.0/projects/priv/members', { json: { role_id: 1, member_group: { group_name: 'x' } } }), 400, 'BAD_REQUEST');
    const listed = (await admin('GET', '/api/v2.0/projects/priv/members?entityname=CAR')).json();
    assert.deepEqual(listed.map((m: any) => m.entity_name), ['carol']);
    assert.equal((await admin('PUT', `/api/v2.0/projects/priv/members/${carol.id}`, { json: { role_id: ROLES.maintainer } })).status, 200);
    assert.equal((await admin('GET', `/api/v2.0/projects/priv/members/${carol.id}`)).json().role_name, 'Maintainer');
    assert.equal((await admin('DELETE', `/api/v2.0/projects/priv/members/${carol.id}`)).status, 200);
    assertApiError(await carolClient('GET', '/api/v2.0/projects/priv'), 403, 'FORBIDDEN');
    assertApiError(await admin('DELETE', `/api/v2.0/projects/priv/members/${carol.id}`), 404, 'NOT_FOUND');
  });

  test('summary and delete: refused while repositories remain, in words; _deletable says why', async () => {
    const admin = api('sysadmin');
    await admin('POST', '/api/v2.0/projects', { json: { project_name: 'full' } });
    await pushImage(reg.url, reg.basic, 'full/app', 'v1');
    const summary = (await admin('GET', '/api/v2.0/projects/full/summary')).json();
    assert.equal(summary.repo_count, 1);
    assert.equal(summary.project_admin_count, 1, 'the creator');
    assert.deepEqual(summary.quota, { hard: { storage: -1 } });
    const deletable = (await admin('GET', '/api/v2.0/projects/full/_deletable')).json();
    assert.equal(deletable.deletable, false);
    assert.match(deletable.message, /still has 1 repository/);
    const refused = await admin('DELETE', '/api/v2.0/projects/full');
    assertApiError(refused, 409, 'CONFLICT');
    assert.match(refused.text, /still has repositories \(full\/app/);
    const empty = await admin('POST', '/api/v2.0/projects', { json: { project_name: 'empty' } });
    assert.equal((await admin('GET', '/api/v2.0/projects/empty/_deletable')).json().deletable, true);
    assert.equal((await admin('DELETE', String(empty.headers.location))).status, 200);
    assertApiError(await admin('GET', '/api/v2.0/projects/empty'), 404, 'NOT_FOUND');
  });
});
}
