// Tag retention over the management API with real pushes: a policy per project (Harbor's paths
// and model, one per project, at most 15 rules, retention_id in the project's metadata, who may),
// a dry run that deletes nothing and lists exactly what the real run then deletes, the guards
// (an index's children, a referrer and a cosign signature of a kept image stay; those of a
// deleted one go), immutable tags kept, the deletes in the audit log as the retention job, a
// scheduled run, and a stop of an ended run refused. Every response is checked against the
// OpenAPI document.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request } from '../helpers/http.js';
import { imageManifest, pushImage, pushIndex, sha256 } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

export function retentionSuite(label: string, config: () => Promise<Record<string, unknown>> = async () => ({})): void {
describe(`tag retention (${label})`, () => {
  let reg: TestRegistry;
  let admin: ApiClient;
  let dev: ApiClient;
  let guest: ApiClient;
  let projectId: number;
  const PASSWORD = 'Passw0rd-for-tests';
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
  const REPO = encodeURIComponent(encodeURIComponent('app'));

  const keepLatest = (n: number, tags = 'v*', untagged = false) => ({
    template: 'latestPushedK',
    params: { latestPushedK: n },
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tags, extras: JSON.stringify({ untagged }) }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
  });
  const policy = (rules: unknown[], cron = '') => ({ algorithm: 'or', rules, trigger: { kind: 'Schedule', settings: { cron } }, scope: { level: 'project', ref: projectId } });

  /** A referrer (an SBOM-like artifact) of `subject` in team/app. */
  async function pushReferrer(subject: { digest: string; size: number }, seed: string): Promise<string> {
    const config = Buffer.from('{}');
    const layer = Buffer.from(`sbom ${seed}`);
    for (const blob of [config, layer]) await request(`${reg.url}/v2/keep/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: reg.basic, 'Content-Type': 'application/octet-stream' }, body: blob });
    const manifest = imageManifest(config, [layer], { artifactType: 'application/spdx+json', subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.size } });
    const digest = sha256(manifest);
    const res = await request(`${reg.url}/v2/keep/app/manifests/${digest}`, { method: 'PUT', headers: { Authorization: reg.basic, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
    assert.equal(res.status, 201, res.text);
    return digest;
  }

  const digests = async () => {
    const res = await admin('GET', `/api/v2.0/projects/keep/repositories/${REPO}/artifacts?page_size=100`);
    return (res.json() as Array<{ digest: string }>).map((a) => a.digest).sort();
  };

  async function finished(policyId: number, eid: number) {
    return waitFor(async () => {
      const list = (await admin('GET', `/api/v2.0/retentions/${policyId}/executions`)).json() as Array<{ id: number; status: string }>;
      const e = list.find((x) => x.id === eid);
      return e && e.status !== 'Running' ? e : undefined;
    }, 15_000, `execution ${eid} to end`);
  }

  async function plan(policyId: number, eid: number) {
    const tasks = (await admin('GET', `/api/v2.0/retentions/${policyId}/executions/${eid}/tasks?with_log=true`)).json() as Array<{ id: number; repository: string; log: Array<{ digest: string; retention: string; reason: string }> }>;
    return tasks.flatMap((t) => t.log.map((l) => ({ ...l, repository: t.repository })));
  }

  before(async () => {
    reg = await startTestRegistry(await config());
    const keep = await reg.projects.create({ name: 'keep', public: false }, { user: null }, SYSTEM_ACTOR);
    projectId = keep.id;
    for (const [name, role] of [['dave', ROLES.developer], ['gus', ROLES.guest]] as const) {
      await reg.users!.setPassword(name, PASSWORD);
      await reg.projects.addMember(keep, name, role, SYSTEM_ACTOR);
    }
    admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    dev = await apiClient(reg.url, { headers: { Authorization: basic('dave') } });
    guest = await apiClient(reg.url, { headers: { Authorization: basic('gus') } });
  });
  after(() => reg.close());

  test('a policy per project: who may, one only, at most 15 rules, retention_id, the catalogue', async () => {
    const catalogue = await dev('GET', '/api/v2.0/retentions/metadatas');
    assert.equal(catalogue.status, 200);
    assert.deepEqual(catalogue.json().templates.map((t: { rule_template: string }) => t.rule_template).sort(), ['always', 'lastXDays', 'latestActiveK', 'latestPulledN', 'latestPushedK', 'nDaysSinceLastPull', 'nDaysSinceLastPush']);
    assertApiError(await guest('POST', '/api/v2.0/retentions', { json: policy([keepLatest(2)]) }), 403, 'FORBIDDEN');
    assertApiError(await dev('POST', '/api/v2.0/retentions', { json: policy(Array.from({ length: 16 }, (_, i) => keepLatest(i))) }), 400, 'BAD_REQUEST');
    assertApiError(await dev('POST', '/api/v2.0/retentions', { json: policy([keepLatest(2)], '0 0 * * *') }), 400, 'BAD_REQUEST');
    const created = await dev('POST', '/api/v2.0/retentions', { json: policy([keepLatest(2)]) });
    assert.equal(created.status, 201, created.text);
    const id = Number(String(created.headers.location).split('/').pop());
    assertApiError(await dev('POST', '/api/v2.0/retentions', { json: policy([keepLatest(3)]) }), 409, 'CONFLICT');
    const project = (await admin('GET', '/api/v2.0/projects/keep')).json() as { metadata: Record<string, string> };
    assert.equal(project.metadata.retention_id, String(id));
    assertApiError(await guest('GET', `/api/v2.0/retentions/${id}`), 403, 'FORBIDDEN');
    const got = (await dev('GET', `/api/v2.0/retentions/${id}`)).json();
    assert.equal(got.id, id);
    assert.deepEqual(got.rules[0].params, { latestPushedK: 2 });
    assertApiError(await admin('GET', '/api/v2.0/retentions/424242'), 404, 'NOT_FOUND');
  });

  test('a dry run deletes nothing and lists exactly what the real run deletes, guards and immutability included', async () => {
    const auth = reg.basic;
    const images: Record<string, { digest: string; size: number }> = {};
    for (const tag of ['v1', 'v2', 'v3', 'v4']) {
      images[tag] = await pushImage(reg.url, auth, 'keep/app', tag);
      await sleep(15); // distinct push times
    }
    const sbomOld = await pushReferrer(images.v1!, 'old');
    const sbomNew = await pushReferrer(images.v4!, 'new');
    const sigOld = await pushImage(reg.url, auth, 'keep/app', `sha256-${images.v1!.digest.slice(7)}.sig`, 'sig-old');
    const sigNew = await pushImage(reg.url, auth, 'keep/app', `sha256-${images.v4!.digest.slice(7)}.sig`, 'sig-new');
    await sleep(15);
    const index = await pushIndex(reg.url, auth, 'keep/app', 'v5');
    const untagged = await pushImage(reg.url, auth, 'keep/app', 'tmp', 'untagged');
    await request(`${reg.url}/v2/keep/app/manifests/tmp`, { method: 'DELETE', headers: { Authorization: auth } });
    // v2 is immutable: kept whatever the rules say.
    assert.equal((await admin('POST', '/api/v2.0/projects/keep/immutabletagrules', {
      json: { tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v2' }], scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } },
    })).status, 201);

    const id = Number(((await admin('GET', '/api/v2.0/projects/keep')).json() as { metadata: Record<string, string> }).metadata.retention_id);
    // The latest 2 v* tags (v5 and v4), untagged ones not selected.
    const before = await digests();
    const dry = await dev('POST', `/api/v2.0/retentions/${id}/executions`, { json: { dry_run: true } });
    assert.equal(dry.status, 201, dry.text);
    const dryId = Number(String(dry.headers.location).split('/').pop());
    const dryRun = await finished(id, dryId);
    assert.equal(dryRun.status, 'Succeed');
    assert.deepEqual(await digests(), before, 'a dry run deletes nothing');
    const dryPlan = await plan(id, dryId);
    const wouldDelete = dryPlan.filter((i) => i.retention === 'DEL').map((i) => i.digest).sort();
    const expected = [images.v1!.digest, images.v3!.digest, sbomOld, sigOld.digest, untagged.digest].sort();
    assert.deepEqual(wouldDelete, expected);
    const kept = new Set(dryPlan.filter((i) => i.retention === 'RETAIN').map((i) => i.digest));
    for (const d of [images.v2!.digest, images.v4!.digest, sbomNew, sigNew.digest, index.digest, ...index.children]) assert.ok(kept.has(d), `${d} is kept`);
    assert.match(dryPlan.find((i) => i.digest === images.v2!.digest)!.reason, /immutable tag v2/);
    assert.match(dryPlan.find((i) => i.digest === sbomNew)!.reason, /signature, attestation or SBOM/);
    // The text log, Harbor's way.
    const [task] = (await admin('GET', `/api/v2.0/retentions/${id}/executions/${dryId}/tasks`)).json() as Array<{ id: number }>;
    const text = await admin('GET', `/api/v2.0/retentions/${id}/executions/${dryId}/tasks/${task!.id}`);
    assert.equal(text.status, 200);
    assert.match(text.text, /RETAIN/);
    assert.match(text.text, new RegExp(images.v1!.digest));

    const real = await admin('POST', `/api/v2.0/retentions/${id}/executions`, { json: { dry_run: false } });
    const realId = Number(String(real.headers.location).split('/').pop());
    const run = await finished(id, realId);
    assert.equal(run.status, 'Succeed');
    assert.equal((run as unknown as { deleted: number }).deleted, expected.length);
    const deletedNow = (await plan(id, realId)).filter((i) => i.retention === 'DEL').map((i) => i.digest).sort();
    assert.deepEqual(deletedNow, wouldDelete, 'the real run deleted what the dry run listed');
    for (const d of expected) assert.equal((await request(`${reg.url}/v2/keep/app/manifests/${d}`, { method: 'HEAD', headers: { Authorization: auth } })).status, 404, `${d} is gone`);
    for (const d of kept) assert.equal((await request(`${reg.url}/v2/keep/app/manifests/${d}`, { method: 'HEAD', headers: { Authorization: auth } })).status, 200, `${d} is still there`);
    assertApiError(await admin('PATCH', `/api/v2.0/retentions/${id}/executions/${realId}`, { json: { action: 'stop' } }), 409, 'CONFLICT');

    // The audit log names the retention job as who deleted.
    await waitFor(async () => {
      const logs = (await admin('GET', `/api/v2.0/audit-logs?q=${encodeURIComponent('operation=delete')}&page_size=100`)).json() as Array<{ resource: string; username: string }>;
      return logs.some((l) => l.resource === `keep/app@${images.v1!.digest}` && l.username === 'retention');
    }, 10_000, 'the retention deletes in the audit log');
  });

  test('a scheduled run (6-field cron) runs on its own and is listed as SCHEDULE', async () => {
    const id = Number(((await admin('GET', '/api/v2.0/projects/keep')).json() as { metadata: Record<string, string> }).metadata.retention_id);
    await pushImage(reg.url, reg.basic, 'keep/app', 'v6');
    const old = await digests();
    assert.equal((await admin('PUT', `/api/v2.0/retentions/${id}`, { json: policy([keepLatest(1)], '* * * * * *') })).status, 200);
    const scheduled = await waitFor(async () => {
      const list = (await admin('GET', `/api/v2.0/retentions/${id}/executions`)).json() as Array<{ trigger: string; status: string; deleted?: number }>;
      return list.find((e) => e.trigger === 'SCHEDULE' && e.status === 'Succeed' && (e.deleted ?? 0) > 0);
    }, 15_000, 'a scheduled run');
    assert.equal(scheduled.trigger, 'SCHEDULE');
    assert.equal((await admin('PUT', `/api/v2.0/retentions/${id}`, { json: policy([keepLatest(1)]) })).status, 200);
    const now = await digests();
    assert.ok(now.length < old.length, 'the scheduled run deleted');
    // Deleting the policy clears the project's retention_id.
    assert.equal((await admin('DELETE', `/api/v2.0/retentions/${id}`)).status, 200);
    const project = (await admin('GET', '/api/v2.0/projects/keep')).json() as { metadata: Record<string, string> };
    assert.equal(project.metadata.retention_id, undefined);
  });
});
}
