// An existing Harbor API client from npm (@hapic/harbor) drives minato's /api/v2.0 as it would
// drive Harbor: create a project, add a member, create a robot, push with the robot, list the
// repositories, artifacts and tags, read the audit log, refresh the robot's secret, delete. What the client has no
// method for (members, the audit log) is asked with plain requests on the same API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HarborClient } from '@hapic/harbor';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/ports.js';
import { pushImage } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let harbor: HarborClient;
before(async () => {
  reg = await startTestRegistry({ projects: { autoCreate: false } });
  harbor = new HarborClient({ connectionOptions: { host: `${reg.url}/api/v2.0`, user: 'admin', password: reg.password } });
  await reg.users!.setPassword('ivy', 'Ivy-passw0rd');
});
after(() => reg.close());

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

test('a Harbor client creates a project, a member and a robot; the robot pushes; the client lists and deletes', async () => {
  const created = await harbor.project.create({ project_name: 'hapic', public: false });
  assert.ok(created.id !== undefined && created.id > 0, 'the id comes from the Location header');
  const project = await harbor.project.getOne('hapic', true);
  assert.equal(project.name, 'hapic');
  assert.equal(project.project_id, created.id);
  assert.ok((await harbor.project.getMany({ query: { name: 'hapic' } })).data.some((p) => p.name === 'hapic'));

  // Members: the client has no method for them; the same API with a plain request.
  const member = await request(`${reg.url}/api/v2.0/projects/hapic/members`, {
    method: 'POST',
    headers: { Authorization: reg.basic, 'Content-Type': 'application/json' },
    body: JSON.stringify({ role_id: 2, member_user: { username: 'ivy' } }),
  });
  assert.equal(member.status, 201, member.text);

  const robot = await harbor.robot.create({
    name: 'ci',
    permissions: [{ kind: 'project', namespace: 'hapic', access: [{ resource: 'repository', action: 'pull' }, { resource: 'repository', action: 'push' }] }],
  });
  assert.match(robot.name, /^robot\$ci$/);
  assert.ok(robot.secret, 'the secret is shown once, at creation');
  const pushed = await pushImage(reg.url, basic(robot.name, robot.secret!), 'hapic/app', 'v1');
  // ivy, a developer, pushes too.
  await pushImage(reg.url, basic('ivy', 'Ivy-passw0rd'), 'hapic/app', 'v2');

  const repositories = await harbor.projectRepository.getMany({ projectName: 'hapic' });
  assert.deepEqual(repositories.data.map((r) => r.name), ['hapic/app']);
  const artifacts = await harbor.projectRepositoryArtifact.getMany({ projectName: 'hapic', repositoryName: 'app' });
  const byDigest = artifacts.find((a) => a.digest === pushed.digest);
  assert.ok(byDigest, `the robot's image is listed: ${JSON.stringify(artifacts.map((a) => a.digest))}`);
  assert.deepEqual((byDigest.tags ?? []).map((t) => t.name), ['v1']);
  assert.equal(artifacts.length, 2);

  // The audit log (no method in the client either) says who pushed what.
  const audit = await waitFor(async () => {
    const res = await request(`${reg.url}/api/v2.0/projects/hapic/auditlog-exts?page_size=100`, { headers: { Authorization: reg.basic } });
    const rows = res.json() as Array<{ operation: string; resource: string; username: string }>;
    return rows.some((r) => r.resource === 'hapic/app:v2') ? rows : undefined;
  }, 10_000, 'the pushes in the audit log');
  assert.ok(audit.some((r) => r.operation === 'create' && r.resource === 'hapic/app:v1' && r.username === robot.name));
  assert.ok(audit.some((r) => r.operation === 'create' && r.resource === 'hapic/app:v2' && r.username === 'ivy'));

  // A new secret: the old one stops, the new one works.
  const fresh = await harbor.robot.updateSecret(robot.id);
  assert.ok(fresh.secret && fresh.secret !== robot.secret);
  const v2 = (secret: string) => request(`${reg.url}/v2/hapic/app/tags/list`, { headers: { Authorization: basic(robot.name, secret) } });
  assert.equal((await v2(fresh.secret)).status, 200);
  assert.equal((await v2(robot.secret!)).status, 401);
  assert.ok((await harbor.robot.getMany({ query: {} })).data.some((r) => r.id === robot.id));

  await harbor.projectRepository.delete({ projectName: 'hapic', repositoryName: 'app' });
  assert.deepEqual((await harbor.projectRepository.getMany({ projectName: 'hapic' })).data, []);
  await harbor.robot.delete(robot.id);
  await harbor.project.delete('hapic', true);
  await assert.rejects(harbor.project.getOne('hapic', true), (err: unknown) => (err as { response?: { status?: number } }).response?.status === 404);
});
