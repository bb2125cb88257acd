// Tag immutability over the management API and the registry API: rules per project (Harbor's
// paths and model, at most 15, Project Admins and Maintainers only), a push that would move an
// immutable tag refused with DENIED naming the rule, the same digest again accepted, a first push
// of a new matching tag accepted, deletes of the tag and of its artifact refused, the API's
// `immutable` flag, and a disabled rule lifting all of it. Every response is checked against the
// OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { assertOciError, request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

export function immutableSuite(label: string, config: () => Promise<Record<string, unknown>> = async () => ({})): void {
describe(`tag immutability (${label})`, () => {
  let reg: TestRegistry;
  let maintainer: ApiClient;
  let dev: ApiClient;
  const PASSWORD = 'Passw0rd-for-tests';
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

  const rule = (tags: string, repos = '**', extra: Record<string, unknown> = {}) => ({
    disabled: false,
    action: 'immutable',
    template: 'immutable_template',
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tags }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: repos }] },
    ...extra,
  });

  before(async () => {
    reg = await startTestRegistry(await config());
    const team = await reg.projects.create({ name: 'team', public: false }, { user: null }, SYSTEM_ACTOR);
    for (const [name, role] of [['mia', ROLES.maintainer], ['dave', ROLES.developer]] as const) {
      await reg.users!.setPassword(name, PASSWORD);
      await reg.projects.addMember(team, name, role, SYSTEM_ACTOR);
    }
    maintainer = await apiClient(reg.url, { headers: { Authorization: basic('mia') } });
    dev = await apiClient(reg.url, { headers: { Authorization: basic('dave') } });
  });
  after(() => reg.close());

  test('immutability rules: Harbor\'s paths and model, who may change them, at most 15', async () => {
    assertApiError(await dev('POST', '/api/v2.0/projects/team/immutabletagrules', { json: rule('v*') }), 403, 'FORBIDDEN');
    const created = await maintainer('POST', '/api/v2.0/projects/team/immutabletagrules', { json: rule('v*', 'app/**') });
    assert.equal(created.status, 201, created.text);
    const id = Number(String(created.headers.location).split('/').pop());
    const listed = await maintainer('GET', '/api/v2.0/projects/team/immutabletagrules');
    assert.equal(listed.status, 200);
    assert.equal(listed.headers['x-total-count'], '1');
    assert.deepEqual(listed.json()[0], { ...rule('v*', 'app/**'), id, priority: 0 });
    // A pattern that does not compile and a selector that is not Harbor's are 400s, not 500s.
    assertApiError(await maintainer('POST', '/api/v2.0/projects/team/immutabletagrules', { json: rule('v[') }), 400, 'BAD_REQUEST');
    assertApiError(await maintainer('POST', '/api/v2.0/projects/team/immutabletagrules', { json: { ...rule('v*'), tag_selectors: [{ kind: 'regex', decoration: 'matches', pattern: '.*' }] } }), 400, 'BAD_REQUEST');
    for (let i = 1; i < 15; i++) assert.equal((await maintainer('POST', '/api/v2.0/projects/team/immutabletagrules', { json: rule(`never-${i}`) })).status, 201);
    assertApiError(await maintainer('POST', '/api/v2.0/projects/team/immutabletagrules', { json: rule('one-too-many') }), 409, 'CONFLICT');
    const all = (await maintainer('GET', '/api/v2.0/projects/team/immutabletagrules?page_size=100')).json() as Array<{ id: number }>;
    for (const r of all.filter((r) => r.id !== id)) assert.equal((await maintainer('DELETE', `/api/v2.0/projects/team/immutabletagrules/${r.id}`)).status, 200);
    assertApiError(await maintainer('DELETE', '/api/v2.0/projects/team/immutabletagrules/99999'), 404, 'NOT_FOUND');
  });

  test('an immutable tag: not moved, not deleted, its artifact not deleted; the same digest again and new tags are fine', async () => {
    const auth = basic('dave');
    const v1 = await pushImage(reg.url, auth, 'team/app/web', 'v1', 'first');
    // The rule of the test above covers team/app/** tags v*: v1 is immutable now.
    const moved = await request(`${reg.url}/v2/team/app/web/manifests/v1`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: (await reg.app.inject({ method: 'GET', url: '/v2/team/app/web/manifests/v1', headers: { authorization: auth } })).rawPayload,
    });
    assert.equal(moved.status, 201, 're-pushing the digest the tag names is accepted');
    await assert.rejects(pushImage(reg.url, auth, 'team/app/web', 'v1', 'second'), (err: Error) => /403/.test(err.message) && /immutab/.test(err.message) && /rule \d+/.test(err.message));
    assert.equal((await pushImage(reg.url, auth, 'team/app/web', 'v2', 'second')).digest.length, 71, 'a first push of a new matching tag is fine');
    await pushImage(reg.url, auth, 'team/app/web', 'latest', 'third');
    await pushImage(reg.url, auth, 'team/app/web', 'latest', 'fourth'); // not covered: moves freely
    await pushImage(reg.url, auth, 'team/other', 'v1', 'a');
    await pushImage(reg.url, auth, 'team/other', 'v1', 'b'); // outside the rule's repositories

    const admin = { Authorization: reg.basic };
    assertOciError(await request(`${reg.url}/v2/team/app/web/manifests/v1`, { method: 'DELETE', headers: admin }), 403, 'DENIED');
    assertOciError(await request(`${reg.url}/v2/team/app/web/manifests/${v1.digest}`, { method: 'DELETE', headers: admin }), 403, 'DENIED');
    const api = await apiClient(reg.url, { headers: admin });
    const repo = encodeURIComponent(encodeURIComponent('app/web'));
    assertApiError(await api('DELETE', `/api/v2.0/projects/team/repositories/${repo}/artifacts/${v1.digest}`), 403, 'DENIED');
    assertApiError(await api('DELETE', `/api/v2.0/projects/team/repositories/${repo}/artifacts/v1/tags/v1`), 403, 'DENIED');
    assertApiError(await api('DELETE', `/api/v2.0/projects/team/repositories/${repo}`), 403, 'DENIED');
    // Retagging onto v1 is a move too.
    assertApiError(await api('POST', `/api/v2.0/projects/team/repositories/${repo}/artifacts/latest/tags`, { json: { name: 'v1' } }), 403, 'DENIED');

    const artifacts = (await api('GET', `/api/v2.0/projects/team/repositories/${repo}/artifacts?page_size=100`)).json() as Array<{ tags: Array<{ name: string; immutable: boolean }> }>;
    const flags = Object.fromEntries(artifacts.flatMap((a) => a.tags.map((t) => [t.name, t.immutable])));
    assert.deepEqual(flags, { v1: true, v2: true, latest: false });

    // Disabled, the rule lifts at once.
    const [r] = (await maintainer('GET', '/api/v2.0/projects/team/immutabletagrules')).json() as Array<{ id: number }>;
    assert.equal((await maintainer('PUT', `/api/v2.0/projects/team/immutabletagrules/${r!.id}`, { json: rule('v*', 'app/**', { disabled: true }) })).status, 200);
    await pushImage(reg.url, auth, 'team/app/web', 'v1', 'second');
    assert.equal((await request(`${reg.url}/v2/team/app/web/manifests/v1`, { method: 'DELETE', headers: admin })).status, 202);
  });
  test('rule changes are in the project\'s audit log: what changed, which rule, who', async () => {
    const api = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    const q = encodeURIComponent('resource_type=immutable-rule');
    // The tests above created 15 rules as mia, deleted 14 and disabled the last one.
    const rows = await waitFor(async () => {
      const res = await api('GET', `/api/v2.0/projects/team/auditlog-exts?q=${q}&page_size=100`);
      assert.equal(res.status, 200, res.text);
      const all = res.json() as Array<{ operation: string; resource: string; username: string }>;
      return all.length >= 30 ? all : undefined;
    }, 10_000, 'the rule changes to reach the audit log');
    const count = (op: string) => rows.filter((r) => r.operation === op).length;
    assert.deepEqual([count('create'), count('delete'), count('update')], [15, 14, 1]);
    assert.ok(rows.every((r) => r.username === 'mia'));
    const [kept] = (await maintainer('GET', '/api/v2.0/projects/team/immutabletagrules')).json() as Array<{ id: number }>;
    assert.ok(rows.some((r) => r.operation === 'update' && r.resource === String(kept!.id)), 'the update names the rule it changed');
  });
});
}
