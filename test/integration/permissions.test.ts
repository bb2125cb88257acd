// Every cell of the permission matrix minato has a registry action for (docs/permissions.md):
// pull, push, delete (a tag) and list (tags, and the catalog) for each role of Harbor's matrix as
// its code grants it, a non-member, a system admin, robots and anonymous clients, in a public and
// a private project, with Basic credentials and with bearer tokens from /token (whose scopes must
// hold exactly what the role allows). The expected table is written here by hand from Harbor's
// code (src/common/rbac/project/rbac_role.go), not derived from minato's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request, type Response } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

type Action = 'pull' | 'push' | 'delete' | 'list';
const ACTIONS: Action[] = ['pull', 'push', 'delete', 'list'];

/** What each principal may do, per project kind. */
const EXPECTED: Record<string, { public: Action[]; private: Action[] }> = {
  projectAdmin: { public: ['pull', 'push', 'delete', 'list'], private: ['pull', 'push', 'delete', 'list'] },
  maintainer: { public: ['pull', 'push', 'delete', 'list'], private: ['pull', 'push', 'delete', 'list'] },
  developer: { public: ['pull', 'push', 'list'], private: ['pull', 'push', 'list'] },
  guest: { public: ['pull', 'list'], private: ['pull', 'list'] },
  limitedGuest: { public: ['pull', 'list'], private: ['pull', 'list'] },
  outsider: { public: ['pull', 'list'], private: [] },
  sysadmin: { public: ['pull', 'push', 'delete', 'list'], private: ['pull', 'push', 'delete', 'list'] },
  anonymous: { public: ['pull', 'list'], private: [] },
  // Robots of the private project: what their permission lists name there; the public set elsewhere.
  'robot-puller': { public: ['pull', 'list'], private: ['pull', 'list'] },
  'robot-pusher': { public: ['pull', 'list'], private: ['pull', 'push', 'list'] },
  'robot-all': { public: ['pull', 'push', 'delete', 'list'], private: ['pull', 'push', 'delete', 'list'] },
};

const PASSWORD = 'Passw0rd-for-tests';

describe('the permission matrix over the registry API', () => {
  let reg: TestRegistry;
  const credentials = new Map<string, string | undefined>();
  const config = randomBytes(40);
  const layer = randomBytes(300);
  const manifest = imageManifest(config, [layer]);

  before(async () => {
    reg = await startTestRegistry({ auth: { anonymousPull: true }, projects: { autoCreate: false } });
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const actor = SYSTEM_ACTOR;
    const pub = await reg.projects.create({ name: 'pub', public: true }, { user: null }, actor);
    const priv = await reg.projects.create({ name: 'priv', public: false }, { user: null }, actor);
    for (const [name, role] of Object.entries(ROLES)) {
      await reg.users!.setPassword(name, PASSWORD);
      await reg.projects.addMember(pub, name, role, actor);
      await reg.projects.addMember(priv, name, role, actor);
      credentials.set(name, basic(name, PASSWORD));
    }
    await reg.users!.setPassword('outsider', PASSWORD);
    credentials.set('outsider', basic('outsider', PASSWORD));
    credentials.set('sysadmin', reg.basic);
    credentials.set('anonymous', undefined);
    const robot = async (name: string, access: Array<{ resource: string; action: string }>, namespace = 'priv', level: 'project' | 'system' = 'project') => {
      const made = await reg.projects.createRobot({ name, level, duration: -1, permissions: [{ kind: 'project', namespace, access }] }, actor);
      credentials.set(`robot-${name}`, basic(made.loginName, made.secret));
    };
    await robot('puller', [{ resource: 'repository', action: 'pull' }]);
    await robot('pusher', [{ resource: 'repository', action: 'pull' }, { resource: 'repository', action: 'push' }]);
    await robot('all', ['pull', 'push', 'delete'].map((action) => ({ resource: 'repository', action })), '*', 'system');

    // Each project holds an image; each principal gets a tag of its own to try to delete.
    for (const project of ['pub', 'priv']) {
      const api = (path: string, method: string, body?: Buffer, type?: string) =>
        request(`${reg.url}/v2/${project}/app/${path}`, { method, body, headers: { Authorization: reg.basic, ...(type ? { 'Content-Type': type } : {}) } });
      for (const blob of [config, layer]) assert.equal((await api(`blobs/uploads/?digest=${sha256(blob)}`, 'POST', blob)).status, 201);
      for (const tag of ['v1', ...[...credentials.keys()].flatMap((who) => [`del-${who}-basic`, `del-${who}-token`])]) {
        assert.equal((await api(`manifests/${tag}`, 'PUT', manifest, 'application/vnd.oci.image.manifest.v1+json')).status, 201);
      }
    }
  });
  after(() => reg.close());

  /** Does `action` in `project` with `authorization`; returns the response. */
  async function attempt(action: Action, project: string, who: string, flow: string, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
    const base = `${reg.url}/v2/${project}/app`;
    switch (action) {
      case 'pull':
        return request(`${base}/manifests/v1`, { headers: { ...headers, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      case 'push':
        return request(`${base}/manifests/pushed-${who}-${flow}`, { method: 'PUT', body: manifest, headers: { ...headers, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      case 'delete':
        return request(`${base}/manifests/del-${who}-${flow}`, { method: 'DELETE', headers });
      case 'list':
        return request(`${base}/tags/list`, { headers });
    }
  }

  const SUCCESS: Record<Action, number> = { pull: 200, push: 201, delete: 202, list: 200 };
  const SCOPE_ACTION: Record<Action, string> = { pull: 'pull', push: 'push', delete: 'delete', list: 'pull' };

  for (const who of Object.keys(EXPECTED)) {
    for (const kind of ['public', 'private'] as const) {
      const project = kind === 'public' ? 'pub' : 'priv';
      test(`${who} in a ${kind} project, with Basic credentials`, async () => {
        const allowed = EXPECTED[who]![kind];
        for (const action of ACTIONS) {
          const res = await attempt(action, project, who, 'basic', credentials.get(who));
          const refused = who === 'anonymous' ? 401 : 403;
          assert.equal(res.status, allowed.includes(action) ? SUCCESS[action] : refused, `${who} ${action} in ${project}: ${res.status} ${res.text.slice(0, 200)}`);
          if (res.status === 403) assert.equal(res.json().errors[0].code, 'DENIED');
        }
      });

      test(`${who} in a ${kind} project, with a bearer token`, async () => {
        const allowed = EXPECTED[who]![kind];
        const scope = `repository:${project}/app:pull,push,delete`;
        const auth = credentials.get(who);
        const tokenRes = await request(`${reg.url}/token?service=minato&scope=${encodeURIComponent(scope)}`, { headers: auth ? { Authorization: auth } : {} });
        assert.equal(tokenRes.status, 200, tokenRes.text);
        const token = tokenRes.json().token as string;
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { access: Array<{ actions: string[] }> };
        const granted = (claims.access[0]?.actions ?? []).sort();
        const expectedScope = [...new Set(allowed.map((a) => SCOPE_ACTION[a]))].sort();
        assert.deepEqual(granted, expectedScope, `${who}'s token for ${project}`);
        for (const action of ACTIONS) {
          const res = await attempt(action, project, who, 'token', `Bearer ${token}`);
          // A signed-in principal the policy refuses gets 403 (a new token would not help); anonymous 401.
          const refused = who === 'anonymous' ? 401 : 403;
          assert.equal(res.status, allowed.includes(action) ? SUCCESS[action] : refused, `${who} ${action} in ${project} with a token: ${res.status} ${res.text.slice(0, 200)}`);
        }
      });
    }

    test(`${who} sees in the catalog exactly the repositories it may pull from`, async () => {
      const res = await request(`${reg.url}/v2/_catalog`, { headers: credentials.get(who) ? { Authorization: credentials.get(who)! } : {} });
      if (who === 'anonymous') {
        assert.equal(res.status, 401, 'the catalog needs a signed-in client');
        return;
      }
      assert.equal(res.status, 200, res.text);
      const expected = (['pub', 'priv'] as const).filter((p) => EXPECTED[who]![p === 'pub' ? 'public' : 'private'].includes('pull')).map((p) => `${p}/app`);
      assert.deepEqual(res.json().repositories.sort(), expected.sort());
    });
  }
});

describe('projects at push time', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ projects: { autoCreate: false } });
  });
  after(() => reg.close());

  test('a push to a project that does not exist is refused with DENIED and a message that says how to create it', async () => {
    const blob = randomBytes(10);
    const res = await request(`${reg.url}/v2/nosuch/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: { Authorization: reg.basic } });
    assert.equal(res.status, 403, res.text);
    const error = res.json().errors[0];
    assert.equal(error.code, 'DENIED');
    assert.match(error.message, /project "nosuch" does not exist.*minato project create nosuch.*POST \/api\/v2\.0\/projects/);
    assert.equal(reg.access.projectId('nosuch'), undefined, 'nothing was created');
  });

  test('with projects.autoCreate a first push creates a private project whose admin is the pusher', async () => {
    const auto = await startTestRegistry({ projects: { autoCreate: true } });
    try {
      await auto.users!.setPassword('carol', PASSWORD);
      const carol = `Basic ${Buffer.from(`carol:${PASSWORD}`).toString('base64')}`;
      const blob = randomBytes(10);
      const res = await request(`${auto.url}/v2/carols/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: { Authorization: carol } });
      assert.equal(res.status, 201, res.text);
      const project = await auto.projects.project('carols');
      assert.equal(project.public, false);
      assert.equal(auto.access.roleOf({ user: 'carol' }, 'carols'), ROLES.projectAdmin);
      // Someone else may not push there now that it exists.
      await auto.users!.setPassword('dave', PASSWORD);
      const dave = `Basic ${Buffer.from(`dave:${PASSWORD}`).toString('base64')}`;
      const other = await request(`${auto.url}/v2/carols/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: { Authorization: dave } });
      assert.equal(other.status, 403, other.text);
      assert.match(other.json().errors[0].message, /dave may not push in carols\/app: not a member of project carols/);
    } finally {
      await auto.close();
    }
  });
});

describe('access follows changes at once', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ projects: { autoCreate: false } });
    const team = await reg.projects.create({ name: 'team', public: false }, { user: null }, SYSTEM_ACTOR);
    for (const name of ['erin', 'frank']) {
      await reg.users!.setPassword(name, PASSWORD);
      await reg.projects.addMember(team, name, ROLES.developer, SYSTEM_ACTOR);
    }
  });
  after(() => reg.close());

  const tokenFor = async (user: string) => {
    const res = await request(`${reg.url}/token?service=minato&scope=${encodeURIComponent('repository:team/app:pull,push')}`, {
      headers: { Authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` },
    });
    return `Bearer ${res.json().token as string}`;
  };
  const startUpload = (authorization: string) => request(`${reg.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: authorization } });

  test('a member removed from a project loses access at once, even with a token still valid', async () => {
    const token = await tokenFor('erin');
    assert.equal((await startUpload(token)).status, 202);
    const team = await reg.projects.project('team');
    const member = (await reg.projects.store.members(team.id)).find((m) => m.name === 'erin')!;
    await reg.projects.removeMember(team, member.principalId, SYSTEM_ACTOR);
    const res = await startUpload(token);
    assert.equal(res.status, 403, res.text);
    assert.match(res.json().errors[0].message, /erin may not push in team\/app: not a member of project team/);
  });

  test("a deleted user's token stops working at once", async () => {
    const token = await tokenFor('frank');
    assert.equal((await startUpload(token)).status, 202);
    await reg.users!.deleteUser('frank');
    assert.equal((await startUpload(token)).status, 403);
    const pull = await request(`${reg.url}/v2/team/app/tags/list`, { headers: { Authorization: token } });
    assert.equal(pull.status, 403, 'nor does it pull');
  });
});
