// The repository, artifact and tag endpoints of /api/v2.0 on an in-process registry: listings
// (what each caller sees, q=, sort=, paging), one repository with its pull count (folded from
// pull events), the description, the artifacts of a repository with their tags, an index's
// platforms, copy without moving bytes (and through the target's push policy), retag, tag and
// artifact deletion, repository deletion (then the project may go), nested names double-encoded;
// and the access rule of every endpoint for each role that matters. Every response is checked
// against the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request } from '../helpers/http.js';
import { pushImage, pushIndex } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const PASSWORD = 'Passw0rd-for-tests';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const ROLE_USERS = Object.keys(ROLES) as Array<keyof typeof ROLES>;
const WHO = ['sysadmin', ...ROLE_USERS, 'outsider', 'anonymous', 'robot'] as const;
type Who = (typeof WHO)[number];
const enc2 = (name: string) => encodeURIComponent(encodeURIComponent(name));

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The suite, on the database `config` names (SQLite here; PostgreSQL in test/e2e/api-content-postgres.test.ts). */
export function repositoriesSuite(label: string, config: () => Promise<Record<string, unknown>> = async () => ({})): void {
describe(`repository, artifact and tag endpoints (${label})`, () => {
  let reg: TestRegistry;
  const as = new Map<Who, ApiClient>();
  const api = (who: Who) => as.get(who)!;
  let app: { digest: string };
  let multi: { digest: string; children: string[] };

  before(async () => {
    reg = await startTestRegistry({ ...(await config()), auth: { anonymousPull: true }, projects: { autoCreate: false } });
    const priv = await reg.projects.create({ name: 'priv' }, { user: null }, SYSTEM_ACTOR);
    await reg.projects.create({ name: 'pub', public: true }, { user: null }, SYSTEM_ACTOR);
    await reg.projects.create({ name: 'dest' }, { user: null }, SYSTEM_ACTOR);
    for (const name of [...ROLE_USERS, 'outsider']) await reg.users!.setPassword(name, PASSWORD);
    for (const [name, role] of Object.entries(ROLES)) await reg.projects.addMember(priv, name, role, SYSTEM_ACTOR);
    const robot = await reg.projects.createRobot(
      { name: 'lister', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'priv', access: [{ resource: 'repository', action: 'list' }, { resource: 'artifact', action: 'list' }, { resource: 'repository', action: 'pull' }] }] },
      SYSTEM_ACTOR,
    );
    as.set('sysadmin', await apiClient(reg.url, { headers: { Authorization: reg.basic } }));
    for (const name of [...ROLE_USERS, 'outsider'] as const) as.set(name, await apiClient(reg.url, { headers: { Authorization: basic(name, PASSWORD) } }));
    as.set('anonymous', await apiClient(reg.url));
    as.set('robot', await apiClient(reg.url, { headers: { Authorization: basic(robot.loginName, robot.secret) } }));
    app = await pushImage(reg.url, reg.basic, 'priv/team/app', 'v1');
    await pushImage(reg.url, reg.basic, 'priv/team/app', 'v2');
    multi = await pushIndex(reg.url, reg.basic, 'priv/multi', 'latest');
    await pushImage(reg.url, reg.basic, 'pub/tool', '1.0');
  });
  after(() => reg.close());

  test('the access rule of every read endpoint, per role (refused: 401 anonymous, 403 signed in)', async () => {
    const members = ['sysadmin', ...ROLE_USERS] as Who[];
    const app2 = `/api/v2.0/projects/priv/repositories/${enc2('team/app')}`;
    const cases: Array<{ path: string; allowed: Who[] }> = [
      { path: '/api/v2.0/projects/priv/repositories', allowed: [...members, 'robot'] },
      { path: app2, allowed: members },
      { path: `${app2}/artifacts`, allowed: [...members, 'robot'] },
      { path: `${app2}/artifacts/v1`, allowed: members },
      { path: `${app2}/artifacts/v1/tags`, allowed: members },
      { path: `/api/v2.0/projects/pub/repositories/tool/artifacts`, allowed: [...WHO] },
    ];
    for (const c of cases) {
      for (const who of WHO) {
        const res = await api(who)('GET', c.path);
        const where = `${who} GET ${c.path}`;
        if (c.allowed.includes(who)) assert.equal(res.status, 200, `${where}: ${res.text}`);
        else if (who === 'anonymous') assertApiError(res, 401, 'UNAUTHORIZED', where);
        else assertApiError(res, 403, 'FORBIDDEN', where);
      }
    }
  });

  test('the access rule of the changes: who may tag, delete a tag, delete an artifact, copy, describe, delete a repository', async () => {
    const base = `/api/v2.0/projects/priv/repositories/${enc2('team/app')}`;
    // tag:create (developer and up), tag:delete and artifact:delete (maintainer and up), repository:update (developer and up).
    const tagCreate: Who[] = ['sysadmin', 'projectAdmin', 'maintainer', 'developer'];
    const tagDelete: Who[] = ['sysadmin', 'projectAdmin', 'maintainer'];
    for (const who of WHO) {
      const tag = `t-${who.toLowerCase()}`;
      const add = await api(who)('POST', `${base}/artifacts/v1/tags`, { json: { name: tag } });
      if (tagCreate.includes(who)) assert.equal(add.status, 201, `${who} tags: ${add.text}`);
      else assert.ok([401, 403].includes(add.status), `${who} may not tag: ${add.status}`);
      const del = await api(who)('DELETE', `${base}/artifacts/v1/tags/${tagCreate.includes(who) ? tag : 'v1'}`);
      if (tagDelete.includes(who)) assert.equal(del.status, 200, `${who} deletes a tag: ${del.text}`);
      else assert.ok([401, 403].includes(del.status), `${who} may not delete a tag: ${del.status}`);
      const describe = await api(who)('PUT', base, { json: { description: `by ${who}` } });
      if (tagCreate.includes(who)) assert.equal(describe.status, 200, `${who} describes: ${describe.text}`);
      else assert.ok([401, 403].includes(describe.status), `${who} may not describe: ${describe.status}`);
      // Deleting what does not exist tells allowed from refused without destroying anything.
      const gone = await api(who)('DELETE', `${base}/artifacts/sha256:${'0'.repeat(64)}`);
      if (tagDelete.includes(who)) assertApiError(gone, 404, 'NOT_FOUND', who);
      else assert.ok([401, 403].includes(gone.status), `${who} may not delete artifacts: ${gone.status}`);
    }
    // What the developer tagged and could not delete.
    assert.equal((await api('sysadmin')('DELETE', `${base}/artifacts/v1/tags/t-developer`)).status, 200);
    const robotDelete = await api('robot')('DELETE', base);
    assertApiError(robotDelete, 403, 'FORBIDDEN');
    // A developer may not copy into a project it is not in (artifact:create in the target).
    assertApiError(await api('developer')('POST', `/api/v2.0/projects/dest/repositories/app/artifacts?from=priv/team/app:v1`), 403, 'FORBIDDEN');
  });

  test('repositories: of a project, of every project the caller sees, with counts; q=, sort=, paging', async () => {
    const all = (await api('sysadmin')('GET', '/api/v2.0/repositories?page_size=100')).json();
    assert.deepEqual(all.map((r: any) => r.name), ['priv/multi', 'priv/team/app', 'pub/tool']);
    const appRepo = all.find((r: any) => r.name === 'priv/team/app');
    assert.equal(appRepo.artifact_count, 2);
    assert.equal(appRepo.project_id, reg.access.projectId('priv'));
    assert.deepEqual((await api('outsider')('GET', '/api/v2.0/repositories')).json().map((r: any) => r.name), ['pub/tool'], 'only public projects');
    assert.deepEqual((await api('anonymous')('GET', '/api/v2.0/repositories')).json().map((r: any) => r.name), ['pub/tool']);
    assert.deepEqual((await api('guest')('GET', '/api/v2.0/repositories')).json().map((r: any) => r.name), ['priv/multi', 'priv/team/app', 'pub/tool']);
    assert.deepEqual((await api('sysadmin')('GET', '/api/v2.0/projects/priv/repositories?q=name%3D~team')).json().map((r: any) => r.name), ['priv/team/app']);
    assert.deepEqual((await api('sysadmin')('GET', '/api/v2.0/projects/priv/repositories?sort=-name')).json().map((r: any) => r.name), ['priv/team/app', 'priv/multi']);
    const page = await api('sysadmin')('GET', '/api/v2.0/repositories?page_size=1&page=2');
    assert.equal(page.headers['x-total-count'], '3');
    assert.deepEqual(page.json().map((r: any) => r.name), ['priv/team/app']);
    // Nested names encoded twice, or once.
    assert.equal((await api('sysadmin')('GET', `/api/v2.0/projects/priv/repositories/${enc2('team/app')}`)).json().name, 'priv/team/app');
    assert.equal((await api('sysadmin')('GET', `/api/v2.0/projects/priv/repositories/${encodeURIComponent('team/app')}`)).json().name, 'priv/team/app');
    assertApiError(await api('sysadmin')('GET', '/api/v2.0/projects/priv/repositories/nothing'), 404, 'NOT_FOUND');
    assertApiError(await api('sysadmin')('GET', '/api/v2.0/projects/priv/repositories/Bad%2520Name'), 400, 'BAD_REQUEST');
  });

  test('pull counts and pull times come from the pull events, without a write per pull', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${reg.url}/v2/pub/tool/manifests/1.0`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 200);
    }
    await eventually('pull_count 3', async () => (await api('sysadmin')('GET', '/api/v2.0/projects/pub/repositories/tool')).json().pull_count === 3);
    const artifact = (await api('sysadmin')('GET', '/api/v2.0/projects/pub/repositories/tool/artifacts/1.0')).json();
    assert.ok(Date.now() - Date.parse(artifact.pull_time) < 60_000, artifact.pull_time);
    assert.equal(artifact.tags[0].pull_time, artifact.pull_time);
    const never = (await api('sysadmin')('GET', `/api/v2.0/projects/priv/repositories/${enc2('team/app')}/artifacts/v1`)).json();
    assert.equal(never.pull_time, '0001-01-01T00:00:00.000Z');
  });

  test('artifacts: with tags, newest first; an index with its platforms, its children not listed; q= on tags', async () => {
    const base = `/api/v2.0/projects/priv/repositories/${enc2('team/app')}/artifacts`;
    const list = (await api('guest')('GET', base)).json();
    assert.deepEqual(list.map((a: any) => a.tags.map((t: any) => t.name)), [['v2'], ['v1']]);
    const v1 = list[1];
    assert.equal(v1.digest, app.digest);
    assert.equal(v1.type, 'IMAGE');
    assert.equal(v1.manifest_media_type, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(v1.media_type, 'application/vnd.oci.image.config.v1+json');
    assert.ok(v1.size > 0);
    assert.equal(v1.repository_name, 'priv/team/app');
    assert.equal((await api('guest')('GET', `${base}?with_tag=false`)).json()[0].tags, null);
    // minato's tags_limit: the first tags by name, and how many there are.
    const limited = (await api('guest')('GET', `${base}?tags_limit=0`)).json();
    assert.deepEqual(limited.map((a: any) => [a.tags.length, a.tag_count]), [[0, 1], [0, 1]]);
    assertApiError(await api('guest')('GET', `${base}?tags_limit=-1`), 400, 'BAD_REQUEST');
    assert.deepEqual((await api('guest')('GET', `${base}?q=tags%3Dv1`)).json().map((a: any) => a.digest), [app.digest]);
    const index = (await api('guest')('GET', '/api/v2.0/projects/priv/repositories/multi/artifacts')).json();
    assert.equal(index.length, 1, 'children are references, not artifacts of their own');
    assert.equal(index[0].digest, multi.digest);
    assert.deepEqual(index[0].references.map((r: any) => [r.child_digest, r.platform.os, r.platform.architecture]), [
      [multi.children[0], 'linux', 'amd64'],
      [multi.children[1], 'linux', 'arm64'],
    ]);
    assert.equal((await api('guest')('GET', `/api/v2.0/projects/priv/repositories/multi/artifacts/${multi.children[0]}`)).json().digest, multi.children[0], 'a child may be asked for');
    assertApiError(await api('guest')('GET', `${base}/nope`), 404, 'NOT_FOUND');
    assertApiError(await api('guest')('GET', `${base}?q=size%3D1`), 400, 'BAD_REQUEST');
  });

  test('tags: add (a retag moves a tag), list, delete; bad names 400', async () => {
    const base = `/api/v2.0/projects/priv/repositories/${enc2('team/app')}/artifacts`;
    const dev = api('maintainer');
    const made = await dev('POST', `${base}/v1/tags`, { json: { name: 'stable' } });
    assert.equal(made.status, 201, made.text);
    assert.match(String(made.headers.location), /\/artifacts\/v1\/tags\/stable$/);
    assert.deepEqual((await dev('GET', `${base}/${app.digest}/tags`)).json().map((t: any) => t.name), ['stable', 'v1']);
    // The registry API sees it at once.
    const pulled = await request(`${reg.url}/v2/priv/team/app/manifests/stable`, { method: 'HEAD', headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pulled.headers['docker-content-digest'], app.digest);
    // A retag: stable moves to v2's artifact.
    assert.equal((await dev('POST', `${base}/v2/tags`, { json: { name: 'stable' } })).status, 201);
    assert.deepEqual((await dev('GET', `${base}/v1/tags`)).json().map((t: any) => t.name), ['v1']);
    assertApiError(await dev('POST', `${base}/v1/tags`, { json: { name: '-bad' } }), 400, 'BAD_REQUEST');
    assertApiError(await dev('DELETE', `${base}/v1/tags/stable`), 404, 'NOT_FOUND', 'stable is on v2 now');
    assert.equal((await dev('DELETE', `${base}/v2/tags/stable`)).status, 200);
    assert.equal((await request(`${reg.url}/v2/priv/team/app/manifests/stable`, { headers: { Authorization: reg.basic } })).status, 404);
  });

  test('copy: into another project without moving bytes, tagged as the source; through the target\'s push policy', async () => {
    const admin = api('sysadmin');
    const res = await admin('POST', `/api/v2.0/projects/dest/repositories/${enc2('copied/app')}/artifacts?from=priv/team/app:v1`);
    assert.equal(res.status, 201, res.text);
    assert.match(String(res.headers.location), new RegExp(`/projects/dest/repositories/copied%252Fapp/artifacts/${app.digest}$`));
    const copied = await request(`${reg.url}/v2/dest/copied/app/manifests/v1`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(copied.status, 200);
    const manifest = JSON.parse(copied.text);
    const layer = await request(`${reg.url}/v2/dest/copied/app/blobs/${manifest.layers[0].digest}`, { headers: { Authorization: reg.basic } });
    assert.equal(layer.status, 200, 'the blobs are linked to the target');
    // An index is copied with its children.
    assert.equal((await admin('POST', `/api/v2.0/projects/dest/repositories/multi/artifacts?from=priv/multi@${multi.digest}`)).status, 201);
    const child = await request(`${reg.url}/v2/dest/multi/manifests/${multi.children[1]}`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(child.status, 200);
    assertApiError(await admin('POST', '/api/v2.0/projects/dest/repositories/app/artifacts?from=priv/team/app:nope'), 404, 'NOT_FOUND');
    assertApiError(await admin('POST', '/api/v2.0/projects/dest/repositories/app/artifacts?from=nonsense'), 400, 'BAD_REQUEST');
    // The source must be readable by the caller: a project admin of priv cannot copy out of dest.
    assertApiError(await api('projectAdmin')('POST', '/api/v2.0/projects/priv/repositories/app/artifacts?from=dest/copied/app:v1'), 403, 'DENIED');
  });

  test('delete: an artifact with its tags; a whole repository, after which its project may be deleted', async () => {
    const admin = api('sysadmin');
    assert.equal((await admin('DELETE', `/api/v2.0/projects/dest/repositories/multi/artifacts/${multi.digest}`)).status, 200);
    assertApiError(await admin('GET', `/api/v2.0/projects/dest/repositories/multi/artifacts/${multi.digest}`), 404, 'NOT_FOUND');
    assertApiError(await admin('DELETE', '/api/v2.0/projects/dest'), 409, 'CONFLICT');
    for (const repo of ['copied/app', 'multi']) {
      const res = await admin('DELETE', `/api/v2.0/projects/dest/repositories/${enc2(repo)}`);
      assert.equal(res.status, 200, `${repo}: ${res.text}`);
    }
    assertApiError(await admin('GET', `/api/v2.0/projects/dest/repositories/${enc2('copied/app')}`), 404, 'NOT_FOUND');
    const pull = await request(`${reg.url}/v2/dest/copied/app/manifests/v1`, { headers: { Authorization: reg.basic } });
    assert.equal(pull.status, 404);
    assert.deepEqual((await admin('GET', '/api/v2.0/projects/dest/repositories')).json(), []);
    assert.equal((await admin('DELETE', '/api/v2.0/projects/dest')).status, 200, 'an emptied project may be deleted');
  });
});
}
