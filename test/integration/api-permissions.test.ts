// The management-API half of the permission matrix (docs/permissions.md): every action minato's
// /api/v2.0 has on projects, repositories, artifacts, tags, members, robots, the audit logs,
// quotas and users, for every kind of caller (system admin, the five roles, a signed-in
// non-member, anonymous, a project robot and a system robot with given permission lists), in a
// public and a private project. The expected outcome of every cell is derived from the data of
// src/auth/rbac.ts (roleGrants, publicGrants: Harbor's matrix as its code grants it) and from
// the robots' permission lists; and rbac.ts's data is held to the matrix in docs/permissions.md
// (Harbor's, as its code grants it), so a grant changed there fails here. Refusals as Harbor's
// code gives them (docs/permissions.md): no credentials -> 401, signed in but not allowed -> 403,
// also for a private project the caller is no member of. Lists show only what the caller may
// read. One registry, fixtures made once; every response is
// checked against the OpenAPI document.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { projectPermissions, publicGrants, roleGrants, ROLES, type RoleId } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request, type Response } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient, type ApiClient } from '../helpers/openapi.js';
import { ROOT, startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const PASSWORD = 'Passw0rd-matrix';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A robot's permission list, as "resource:action" per namespace ("*": every project) and at system level. */
interface RobotGrants {
  system: string[];
  projects: Record<string, string[]>;
}

/** The private project's robot: some of what it could have, not all (no deletes of repositories or tags, nothing on members or robots but reading). */
const PROJECT_ROBOT: RobotGrants = {
  system: [],
  projects: {
    priv: [
      'project:read',
      'metadata:list',
      'metadata:read',
      'repository:list',
      'repository:read',
      'repository:pull',
      'repository:push',
      'repository:update',
      'artifact:list',
      'artifact:read',
      'artifact:delete',
      'tag:list',
      'tag:create',
      'member:list',
      'member:read',
      'log:list',
      'quota:read',
    ],
  },
};

/** A system robot: a few system permissions and reading in every project. */
const SYSTEM_ROBOT: RobotGrants = {
  system: ['audit-log:list', 'quota:list', 'quota:read', 'user:list', 'project:list'],
  projects: { '*': ['project:read', 'repository:list', 'repository:read', 'artifact:list', 'artifact:read', 'tag:list', 'robot:list', 'robot:read'] },
};

type Kind = 'admin' | 'member' | 'outsider' | 'anonymous' | 'robot';
interface Who {
  key: string;
  kind: Kind;
  role?: RoleId;
  robot?: RobotGrants;
}

const WHO: Who[] = [
  { key: 'sysadmin', kind: 'admin' },
  { key: 'project-admin', kind: 'member', role: ROLES.projectAdmin },
  { key: 'maintainer', kind: 'member', role: ROLES.maintainer },
  { key: 'developer', kind: 'member', role: ROLES.developer },
  { key: 'guest', kind: 'member', role: ROLES.guest },
  { key: 'limited-guest', kind: 'member', role: ROLES.limitedGuest },
  { key: 'outsider', kind: 'outsider' },
  { key: 'anonymous', kind: 'anonymous' },
  { key: 'project-robot', kind: 'robot', robot: PROJECT_ROBOT },
  { key: 'system-robot', kind: 'robot', robot: SYSTEM_ROBOT },
];

/** The projects of the registry: the two of the matrix, and library (public, nobody a member). */
const PROJECTS = [
  { name: 'pub', public: true },
  { name: 'priv', public: false },
  { name: 'library', public: true },
] as const;
type ProjectName = (typeof PROJECTS)[number]['name'];
const isPublic = (p: ProjectName) => PROJECTS.find((x) => x.name === p)!.public;

/**
 * Whether `who` holds `perm` in `project`: Harbor's evaluators. A system admin everything; a
 * member its role's grants (members are members of pub and priv); a robot its list; everyone
 * (anonymous too: auth.anonymousPull is on) the public set of a public project.
 */
function may(who: Who, project: ProjectName, perm: string): boolean {
  const [resource, action] = perm.split(':') as [string, string];
  if (who.kind === 'admin') return true;
  const pub = isPublic(project) && publicGrants(resource, action);
  if (who.kind === 'member' && project !== 'library' && roleGrants(who.role!, resource, action)) return true;
  if (who.kind === 'robot' && [...(who.robot!.projects[project] ?? []), ...(who.robot!.projects['*'] ?? [])].includes(perm)) return true;
  return pub;
}

/** Whether `who` holds the system permission `perm` (projects.creationRestriction is "everyone", the default). */
function maySystem(who: Who, perm: string): boolean {
  if (who.kind === 'admin') return true;
  if (who.kind === 'robot') return who.robot!.system.includes(perm);
  return who.kind !== 'anonymous' && perm === 'project:create';
}

/** The projects the system cells create, left out where the lists are compared with the fixtures. */
const made = (name: string) => name.startsWith('made-');

/** What each caller gets when refused: 401 without credentials, 403 signed in. */
const refused = (who: Who) => (who.kind === 'anonymous' ? 401 : 403);

interface Fixture {
  /** Per project: the id, the ids of robots to read and to act on, members to act on, digests. */
  projectId: Record<string, number>;
  readerRobot: Record<string, number>;
  targetRobot: Record<string, number>;
  targetMember: Record<string, number>;
  adminMember: Record<string, number>;
  artifact: Record<string, string>;
  targetUser: Record<string, { admin: number; remove: number }>;
}

test("rbac.ts grants exactly the matrix of docs/permissions.md (Harbor's code): every cell of every row, and no action the table does not have", async () => {
  const text = await readFile(path.join(ROOT, 'docs', 'permissions.md'), 'utf8');
  const section = text.slice(text.indexOf('## The matrix'), text.indexOf('## On the registry API'));
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| resource') && !l.startsWith('|---'));
  assert.ok(rows.length >= 20, 'the table is there');
  const columns: Array<RoleId | 'public'> = [ROLES.projectAdmin, ROLES.maintainer, ROLES.developer, ROLES.guest, ROLES.limitedGuest, 'public'];
  const listed = new Set<string>();
  const wrong: string[] = [];
  for (const row of rows) {
    const cells = row.split('|').slice(1, -1).map((c) => c.trim());
    const resources = cells[0]!.replace(/\(.*\)/, '').split(',').map((r) => r.trim());
    const actions = cells[1]!.replace(/\(.*\)/, '').split(',').map((a) => a.trim());
    for (const resource of resources) {
      for (const action of actions) {
        listed.add(`${resource}:${action}`);
        columns.forEach((column, i) => {
          // A cell holds a check mark, nothing, or the resources of the row it applies to ("scan").
          const cell = cells[2 + i]!;
          const expected = cell === '✓' || cell.split(',').map((c) => c.trim()).includes(resource);
          const actual = column === 'public' ? publicGrants(resource, action) : roleGrants(column, resource, action);
          if (actual !== expected) wrong.push(`${resource}:${action} for ${column === 'public' ? 'the public set' : `role ${column}`}: rbac.ts ${actual}, docs ${expected}`);
        });
      }
    }
  }
  // Every action rbac.ts grants on a resource of the table is in the table.
  const tabled = new Set([...listed].map((l) => l.split(':')[0]));
  for (const perm of projectPermissions()) if (tabled.has(perm.split(':')[0]) && !listed.has(perm)) wrong.push(`${perm} is granted but not in the table`);
  assert.deepEqual(wrong, []);
});

describe('the permission matrix over the management API', () => {
  let reg: TestRegistry;
  const clients = new Map<string, ApiClient>();
  const fx: Fixture = { projectId: {}, readerRobot: {}, targetRobot: {}, targetMember: {}, adminMember: {}, artifact: {}, targetUser: {} };
  const repos: Record<string, string[]> = { pub: [], priv: [], library: [] };

  before(async () => {
    reg = await startTestRegistry({ auth: { anonymousPull: true }, projects: { autoCreate: false } });
    const actor = SYSTEM_ACTOR;
    const pub = await reg.projects.create({ name: 'pub', public: true }, { user: null }, actor);
    const priv = await reg.projects.create({ name: 'priv', public: false }, { user: null }, actor);
    const library = await reg.projects.project('library');
    const byName = { pub, priv, library };
    for (const [name, p] of Object.entries(byName)) fx.projectId[name] = p.id;
    const credentials = new Map<string, string | undefined>([['sysadmin', reg.basic], ['anonymous', undefined]]);
    for (const who of WHO) {
      if (who.kind === 'member' || who.kind === 'outsider') {
        await reg.users!.setPassword(who.key, PASSWORD);
        credentials.set(who.key, basic(who.key, PASSWORD));
      }
      if (who.kind === 'member') for (const p of [pub, priv]) await reg.projects.addMember(p, who.key, who.role!, actor);
    }
    const project = await reg.projects.createRobot(
      { name: 'bot', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'priv', access: access(PROJECT_ROBOT.projects.priv!) }] },
      actor,
    );
    credentials.set('project-robot', basic(project.loginName, project.secret));
    const system = await reg.projects.createRobot(
      {
        name: 'sysbot',
        level: 'system',
        duration: -1,
        permissions: [
          { kind: 'system', namespace: '/', access: access(SYSTEM_ROBOT.system) },
          { kind: 'project', namespace: '*', access: access(SYSTEM_ROBOT.projects['*']!) },
        ],
      },
      actor,
    );
    credentials.set('system-robot', basic(system.loginName, system.secret));
    for (const who of WHO) clients.set(who.key, await apiClient(reg.url, credentials.get(who.key) ? { headers: { Authorization: credentials.get(who.key)! } } : {}));
    const admin = clients.get('sysadmin')!;

    // Content, and for each caller things of its own to change or delete in each project.
    // Two users per caller (each bcrypt hash costs: the fewer the better): adm-<caller> is a member
    // to change and remove in both projects, then a user to make an administrator; rm-<caller> a
    // user to add as a member in both projects, then to delete.
    for (const who of WHO) {
      for (const part of ['adm', 'rm']) await reg.users!.setPassword(`${part}-${who.key}`, PASSWORD);
      fx.targetUser[who.key] = { admin: await reg.projects.store.principalId('user', `adm-${who.key}`), remove: await reg.projects.store.principalId('user', `rm-${who.key}`) };
    }
    for (const p of [pub, priv]) {
      await pushImage(reg.url, reg.basic, `${p.name}/app`, 'v1');
      repos[p.name]!.push(`${p.name}/app`);
      const v1 = (await request(`${reg.url}/v2/${p.name}/app/manifests/v1`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json() as { mediaType: string };
      fx.readerRobot[p.name] = (await reg.projects.createRobot({ name: 'reader', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: p.name, access: access(['repository:pull']) }] }, actor)).robot.id;
      fx.adminMember[p.name] = (await reg.projects.store.members(p.id)).find((m) => m.name === 'project-admin')!.principalId;
      for (const who of WHO) {
        const at = `${p.name}/${who.key}`;
        // A tag of v1 to delete; an artifact of its own (v1's manifest with an annotation: no new
        // blobs); a repository to delete (a copy of v1). Made with one request each, as an admin.
        assert.equal((await admin('POST', `/api/v2.0/projects/${p.name}/repositories/app/artifacts/v1/tags`, { json: { name: `t-${who.key}` } })).status, 201);
        const own = Buffer.from(JSON.stringify({ ...v1, annotations: { owner: who.key } }));
        const put = await request(`${reg.url}/v2/${p.name}/app/manifests/a-${who.key}`, { method: 'PUT', body: own, headers: { Authorization: reg.basic, 'Content-Type': v1.mediaType } });
        assert.equal(put.status, 201, put.text);
        fx.artifact[at] = put.headers['docker-content-digest'] as string;
        assert.equal((await admin('POST', `/api/v2.0/projects/${p.name}/repositories/del-${who.key}/artifacts?from=${p.name}/app:v1`)).status, 201);
        repos[p.name]!.push(`${p.name}/del-${who.key}`);
        fx.targetRobot[at] = (await reg.projects.createRobot({ name: `t-${who.key}`, level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: p.name, access: access(['repository:pull']) }] }, actor)).robot.id;
        fx.targetMember[at] = (await reg.projects.addMember(p, `adm-${who.key}`, ROLES.guest, actor)).principalId;
      }
    }
  });
  after(() => reg.close());

  /** A cell: what it needs, how to try it, and what success answers. */
  interface Cell {
    what: string;
    perm: string;
    /** A system permission that allows it too. */
    system?: string;
    ok: number;
    call(api: ApiClient, who: Who, p: ProjectName): Promise<Response>;
  }

  const base = (p: string) => `/api/v2.0/projects/${p}`;
  const app = (p: string) => `${base(p)}/repositories/app`;

  const PROJECT_CELLS: Cell[] = [
    { what: 'read the project', perm: 'project:read', ok: 200, call: (api, _w, p) => api('GET', base(p)) },
    { what: "read the project's summary", perm: 'project:read', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/summary`) },
    { what: 'update the project (metadata)', perm: 'project:update', ok: 200, call: (api, _w, p) => api('PUT', base(p), { json: { metadata: { auto_scan: 'false' } } }) },
    { what: "list the project's metadata", perm: 'metadata:list', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/metadatas`) },
    { what: 'update one metadata key', perm: 'metadata:update', ok: 200, call: (api, _w, p) => api('PUT', `${base(p)}/metadatas/auto_scan`, { json: { auto_scan: 'false' } }) },
    // Allowed, the delete reaches the project, which still holds repositories: 409 (nothing is lost).
    { what: 'delete the project (it holds repositories: 409 when allowed)', perm: 'project:delete', ok: 409, call: (api, _w, p) => api('DELETE', base(p)) },
    { what: 'list repositories', perm: 'repository:list', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/repositories?page_size=100`) },
    { what: 'read a repository', perm: 'repository:read', ok: 200, call: (api, _w, p) => api('GET', app(p)) },
    { what: "update a repository's description", perm: 'repository:update', ok: 200, call: (api, w, p) => api('PUT', app(p), { json: { description: `by ${w.key}` } }) },
    { what: 'list artifacts', perm: 'artifact:list', ok: 200, call: (api, _w, p) => api('GET', `${app(p)}/artifacts`) },
    { what: 'read an artifact', perm: 'artifact:read', ok: 200, call: (api, _w, p) => api('GET', `${app(p)}/artifacts/v1`) },
    { what: 'list tags', perm: 'tag:list', ok: 200, call: (api, _w, p) => api('GET', `${app(p)}/artifacts/v1/tags`) },
    { what: 'create a tag (retag)', perm: 'tag:create', ok: 201, call: (api, w, p) => api('POST', `${app(p)}/artifacts/v1/tags`, { json: { name: `r-${w.key}` } }) },
    { what: 'delete a tag', perm: 'tag:delete', ok: 200, call: (api, w, p) => api('DELETE', `${app(p)}/artifacts/v1/tags/t-${w.key}`) },
    { what: 'delete an artifact', perm: 'artifact:delete', ok: 200, call: (api, w, p) => api('DELETE', `${app(p)}/artifacts/${fx.artifact[`${p}/${w.key}`]}`) },
    { what: 'delete a repository', perm: 'repository:delete', ok: 200, call: (api, w, p) => api('DELETE', `${base(p)}/repositories/del-${w.key}`) },
    { what: 'list members', perm: 'member:list', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/members`) },
    { what: 'read a member', perm: 'member:read', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/members/${fx.adminMember[p]}`) },
    { what: 'add a member', perm: 'member:create', ok: 201, call: (api, w, p) => api('POST', `${base(p)}/members`, { json: { role_id: ROLES.guest, member_user: { username: `rm-${w.key}` } } }) },
    { what: "change a member's role", perm: 'member:update', ok: 200, call: (api, w, p) => api('PUT', `${base(p)}/members/${fx.targetMember[`${p}/${w.key}`]}`, { json: { role_id: ROLES.limitedGuest } }) },
    { what: 'remove a member', perm: 'member:delete', ok: 200, call: (api, w, p) => api('DELETE', `${base(p)}/members/${fx.targetMember[`${p}/${w.key}`]}`) },
    { what: "list the project's robots", perm: 'robot:list', ok: 200, call: (api, _w, p) => api('GET', `/api/v2.0/robots?q=${encodeURIComponent(`Level=project,ProjectID=${fx.projectId[p]}`)}`) },
    { what: 'read a robot', perm: 'robot:read', ok: 200, call: (api, _w, p) => api('GET', `/api/v2.0/robots/${fx.readerRobot[p]}`) },
    {
      what: 'create a robot',
      perm: 'robot:create',
      ok: 201,
      call: (api, w, p) => api('POST', '/api/v2.0/robots', { json: { name: `new-${w.key}`, level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: p, access: [{ resource: 'repository', action: 'pull' }] }] } }),
    },
    { what: 'update a robot', perm: 'robot:update', ok: 200, call: (api, w, p) => api('PUT', `/api/v2.0/robots/${fx.targetRobot[`${p}/${w.key}`]}`, { json: { description: `by ${w.key}` } }) },
    { what: 'delete a robot', perm: 'robot:delete', ok: 200, call: (api, w, p) => api('DELETE', `/api/v2.0/robots/${fx.targetRobot[`${p}/${w.key}`]}`) },
    { what: "read the project's audit log", perm: 'log:list', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/logs`) },
    { what: "read the project's extended audit log", perm: 'log:list', ok: 200, call: (api, _w, p) => api('GET', `${base(p)}/auditlog-exts`) },
    // Harbor's rule is the system quota:read; minato lets the project's members read theirs too.
    { what: "read the project's quota", perm: 'quota:read', system: 'quota:read', ok: 200, call: (api, _w, p) => api('GET', `/api/v2.0/quotas/${fx.projectId[p]}`) },
  ];

  const SYSTEM_CELLS: Cell[] = [
    { what: 'create a project', perm: 'project:create', ok: 201, call: (api, w) => api('POST', '/api/v2.0/projects', { json: { project_name: `made-${w.key}` } }) },
    { what: "read the registry's audit log", perm: 'audit-log:list', ok: 200, call: (api) => api('GET', '/api/v2.0/audit-logs') },
    { what: "read the registry's extended audit log", perm: 'audit-log:list', ok: 200, call: (api) => api('GET', '/api/v2.0/auditlog-exts') },
    { what: 'list quotas', perm: 'quota:list', ok: 200, call: (api) => api('GET', '/api/v2.0/quotas') },
    { what: 'set a quota', perm: 'quota:update', ok: 200, call: (api) => api('PUT', `/api/v2.0/quotas/${fx.projectId.pub}`, { json: { hard: { storage: -1 } } }) },
    { what: 'list users', perm: 'user:list', ok: 200, call: (api) => api('GET', '/api/v2.0/users') },
    { what: 'create a user', perm: 'user:create', ok: 201, call: (api, w) => api('POST', '/api/v2.0/users', { json: { username: `mk-${w.key}`, password: PASSWORD } }) },
    { what: 'make a user an administrator', perm: 'user:update', ok: 200, call: (api, w) => api('PUT', `/api/v2.0/users/${fx.targetUser[w.key]!.admin}/sysadmin`, { json: { sysadmin_flag: true } }) },
    { what: 'delete a user', perm: 'user:delete', ok: 200, call: (api, w) => api('DELETE', `/api/v2.0/users/${fx.targetUser[w.key]!.remove}`) },
  ];

  for (const who of WHO) {
    for (const p of ['pub', 'priv'] as const) {
      test(`${who.key} in the ${isPublic(p) ? 'public' : 'private'} project: every project action`, async () => {
        const api = clients.get(who.key)!;
        const wrong: string[] = [];
        for (const cell of PROJECT_CELLS) {
          const expected = may(who, p, cell.perm) || (cell.system !== undefined && maySystem(who, cell.system)) ? cell.ok : refused(who);
          const res = await cell.call(api, who, p);
          if (res.status !== expected) wrong.push(`${cell.what} (${cell.perm}): expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`);
        }
        assert.deepEqual(wrong, [], `${who.key} in ${p}`);
      });
    }

    test(`${who.key}: every system action`, async () => {
      const api = clients.get(who.key)!;
      const wrong: string[] = [];
      for (const cell of SYSTEM_CELLS) {
        const expected = maySystem(who, cell.perm) ? cell.ok : refused(who);
        const res = await cell.call(api, who, 'pub');
        if (res.status !== expected) wrong.push(`${cell.what} (${cell.perm}): expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`);
      }
      // The caller itself: users have a profile, robots none (412, as Harbor), anonymous clients are asked to sign in.
      const current = await api('GET', '/api/v2.0/users/current');
      const expected = who.kind === 'anonymous' ? 401 : who.kind === 'robot' ? 412 : 200;
      if (current.status !== expected) wrong.push(`users/current: expected ${expected}, got ${current.status}`);
      assert.deepEqual(wrong, [], who.key);
    });

    test(`${who.key}: the lists show exactly what it may read`, async () => {
      const api = clients.get(who.key)!;
      const projects = await api('GET', '/api/v2.0/projects?page_size=100');
      assert.equal(projects.status, 200);
      assert.deepEqual(
        projects.json().map((x: { name: string }) => x.name).filter((name: string) => !made(name)).sort(),
        PROJECTS.filter((x) => may(who, x.name, 'project:read')).map((x) => x.name).sort(),
        'GET /projects',
      );
      const all = await api('GET', '/api/v2.0/repositories?page_size=100');
      assert.equal(all.status, 200);
      const listable = (['pub', 'priv'] as const).filter((x) => may(who, x, 'repository:list'));
      // Repositories the callers deleted in the project cells may be gone: compare what is left.
      const present = new Set((await clients.get('sysadmin')!('GET', '/api/v2.0/repositories?page_size=100')).json().map((r: { name: string }) => r.name));
      assert.deepEqual(
        all.json().map((r: { name: string }) => r.name).sort(),
        listable.flatMap((x) => repos[x]!).filter((r) => present.has(r)).sort(),
        'GET /repositories',
      );
      for (const p of ['pub', 'priv'] as const) {
        if (!may(who, p, 'robot:list')) continue;
        const robots = await api('GET', `/api/v2.0/robots?page_size=100&q=${encodeURIComponent(`Level=project,ProjectID=${fx.projectId[p]}`)}`);
        assert.ok(robots.json().every((r: { name: string }) => r.name.startsWith(`robot$${p}+`)), `the robots of ${p} only`);
      }
      if (maySystem(who, 'quota:list')) {
        const quotas = await api('GET', '/api/v2.0/quotas?page_size=100');
        const names = quotas.json().map((q: { ref: { name: string } }) => q.ref.name);
        assert.deepEqual(names.filter((name: string) => !made(name)).sort(), PROJECTS.map((x) => x.name).sort(), 'GET /quotas: every project');
      }
    });
  }
});

function access(perms: string[]): Array<{ resource: string; action: string }> {
  return perms.map((p) => {
    const [resource, action] = p.split(':') as [string, string];
    return { resource, action };
  });
}
