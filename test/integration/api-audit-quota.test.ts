// The audit log and the quotas on the management API: who may read which log (system admins the
// registry's, Project Admins their project's, nobody else), Harbor's q= filters and paging over
// real entries, and quotas read by members and set by system admins only, refusing the next push
// at once. Every response is checked against the OpenAPI document.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import { quotaRoutes } from '../../src/api/quota-routes.js';
import { ProjectQueries } from '../../src/auth/project-queries.js';
import { openSqlite } from '../../src/metadata/db.js';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { waitFor } from '../helpers/ports.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let admin: ApiClient;
let owner: ApiClient;
let dev: ApiClient;
let anonymous: ApiClient;
let projectId: number;
const PASSWORD = 'Passw0rd-for-tests';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

before(async () => {
  reg = await startTestRegistry({ projects: { autoCreate: false } });
  const team = await reg.projects.create({ name: 'team', public: false }, { user: null }, SYSTEM_ACTOR);
  projectId = team.id;
  for (const [name, role] of [['olga', ROLES.projectAdmin], ['dave', ROLES.developer]] as const) {
    await reg.users!.setPassword(name, PASSWORD);
    await reg.projects.addMember(team, name, role, SYSTEM_ACTOR);
  }
  admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
  owner = await apiClient(reg.url, { headers: { Authorization: basic('olga') } });
  dev = await apiClient(reg.url, { headers: { Authorization: basic('dave') } });
  anonymous = await apiClient(reg.url);
  await pushImage(reg.url, basic('dave'), 'team/app', 'v1');
  await pushImage(reg.url, reg.basic, 'library/base', 'v1');
});
after(() => reg.close());

test('the audit log: admins read the registry\'s, a Project Admin its project\'s, with Harbor\'s filters and paging', async () => {
  const entries = await waitFor(async () => {
    const res = await admin('GET', '/api/v2.0/auditlog-exts?page_size=100');
    // Both pushes: the sink delivers in batches, so the second may land a moment after the first.
    const seen = res.status === 200 ? (res.json() as Array<{ resource: string }>).map((e) => e.resource) : [];
    return seen.includes('team/app:v1') && seen.includes('library/base:v1') ? res : undefined;
  }, 10_000, 'both pushes to reach the audit log');
  const all = entries.json() as Array<{ operation: string; resource: string; username: string; operation_result: boolean; client_address: string | null }>;
  const push = all.find((e) => e.resource === 'team/app:v1')!;
  assert.deepEqual([push.operation, push.username, push.operation_result, push.client_address], ['create', 'dave', true, '127.0.0.1']);
  assert.ok(all.some((e) => e.resource === 'library/base:v1'));

  // Harbor's q= and paging.
  const filtered = await admin('GET', `/api/v2.0/audit-logs?q=${encodeURIComponent('resource=~team/,operation=create')}&page_size=1`);
  assert.equal(filtered.status, 200);
  assert.deepEqual(filtered.json().map((e: { resource: string }) => e.resource), ['team/app:v1']);
  assert.ok(Number(filtered.headers['x-total-count']) >= 1);
  assertApiError(await admin('GET', `/api/v2.0/audit-logs?q=${encodeURIComponent('op_time=yesterday')}`), 400, 'BAD_REQUEST');

  // The project's log: its Project Admin reads it, without the other project's entries.
  const own = await owner('GET', '/api/v2.0/projects/team/auditlog-exts?page_size=100');
  assert.equal(own.status, 200);
  const resources = own.json().map((e: { resource: string }) => e.resource);
  assert.ok(resources.includes('team/app:v1'));
  assert.ok(!resources.includes('library/base:v1'), "another project's entries stay out");
  assert.equal((await owner('GET', '/api/v2.0/projects/team/logs')).status, 200);

  // Nobody else: a developer of the project, anyone for the registry's log, anonymous clients.
  assertApiError(await dev('GET', '/api/v2.0/projects/team/logs'), 403, 'FORBIDDEN');
  assertApiError(await owner('GET', '/api/v2.0/audit-logs'), 403, 'FORBIDDEN');
  assertApiError(await anonymous('GET', '/api/v2.0/auditlog-exts'), 401, 'UNAUTHORIZED');
  const events = await admin('GET', '/api/v2.0/auditlog-exts/events');
  assert.ok(events.json().some((e: { event_type: string }) => e.event_type === 'pull_artifact'));
});

test('quotas: members read their project\'s, only admins set one, and the next push is refused at once', async () => {
  const read = await dev('GET', `/api/v2.0/quotas/${projectId}`);
  assert.equal(read.status, 200, read.text);
  const quota = read.json();
  assert.equal(quota.ref.name, 'team');
  assert.equal(quota.hard.storage, -1);
  assert.ok(quota.used.storage > 0, 'the pushed image counts');

  assertApiError(await owner('PUT', `/api/v2.0/quotas/${projectId}`, { json: { hard: { storage: 10 } } }), 403, 'FORBIDDEN');
  assertApiError(await admin('PUT', `/api/v2.0/quotas/${projectId}`, { json: { hard: { storage: -5 } } }), 400, 'BAD_REQUEST');
  assert.equal((await admin('PUT', `/api/v2.0/quotas/${projectId}`, { json: { hard: { storage: quota.used.storage } } })).status, 200);
  await assert.rejects(pushImage(reg.url, basic('dave'), 'team/app', 'v2', 'something new'), /storage quota of project team/);

  const list = await admin('GET', '/api/v2.0/quotas?page_size=100');
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.json().map((q: { ref: { name: string }; hard: { storage: number } }) => [q.ref.name, q.hard.storage]),
    [['library', -1], ['team', quota.used.storage]],
  );
  assertApiError(await dev('GET', '/api/v2.0/quotas'), 403, 'FORBIDDEN');
  assertApiError(await admin('GET', '/api/v2.0/quotas/99999'), 404, 'NOT_FOUND');
});

test("GET /quotas: every project's usage and owner as GET /quotas/{id} gives them, from one query for the page (and one count), not one per project", async () => {
  for (let i = 0; i < 24; i++) await reg.projects.create({ name: `q${String(i).padStart(2, '0')}`, public: false }, { user: null }, SYSTEM_ACTOR);
  await pushImage(reg.url, reg.basic, 'q03/app', 'v1', 'three');
  await pushImage(reg.url, reg.basic, 'q17/app', 'v1', 'seventeen, a little longer');
  const list = (await admin('GET', '/api/v2.0/quotas?page_size=100')).json() as Array<{ id: number; ref: { name: string; owner_name: string | null }; used: { storage: number } }>;
  assert.equal(list.length, 26);
  for (const q of list) assert.deepEqual(q, (await admin('GET', `/api/v2.0/quotas/${q.id}`)).json(), q.ref.name);
  const used = Object.fromEntries(list.map((q) => [q.ref.name, q.used.storage]));
  assert.ok(used.q03! > 0 && used.q17! > 0 && used.q17 !== used.q03 && used.q04 === 0, JSON.stringify(used));

  // The list's route on the registry's own database file, its queries counted: the page and its
  // count, and no read per project (the quota use case, asked once per project before, is not asked).
  const db = await openSqlite(path.join(reg.dataDir, 'minato.db'));
  try {
    let queries = 0;
    const counting: KyselyPlugin = { transformQuery: (args) => (queries++, args.node), transformResult: async (args) => args.result };
    const perProject = () => assert.fail('a read per project');
    const [route] = quotaRoutes({ queries: new ProjectQueries(db.withPlugin(counting)), quotas: { usage: perProject } as never, projects: { actor: perProject } as never });
    assert.equal(route!.operationId, 'listQuotas');
    const url = '/api/v2.0/quotas?page_size=100';
    const res = (await route!.handler({ query: { page: 1, page_size: 100 } } as never, { request: { url }, caller: { principal: { user: 'admin' } } } as never)) as { body: unknown };
    assert.equal(queries, 2, 'the page and its count');
    assert.deepEqual(res.body, list);
  } finally {
    await db.destroy();
  }
});
