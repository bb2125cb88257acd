// Garbage collection end to end on the embedded registry: each rule of what is garbage (untagged
// manifests kept or deleted, an index's children and a kept subject's referrers kept, the grace
// window of unreferenced layers), the bytes leaving the disk and the project's quota usage
// following, the dry run's per-project report, and Harbor's /system/gc API (history, one run,
// log, schedule, Manual runs, 409 while one runs, admins only). Every response is checked against
// the OpenAPI document.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { imageManifest, pushImage, pushIndex, sha256 } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let admin: ApiClient;
let user: ApiClient;
const PASSWORD = 'Passw0rd-for-tests';

before(async () => {
  // No grace window, so the tests need not wait an hour; one test starts a registry with one.
  reg = await startTestRegistry({ gc: { graceMinutes: 0 } });
  await reg.users!.setPassword('ursula', PASSWORD);
  admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
  user = await apiClient(reg.url, { headers: { Authorization: `Basic ${Buffer.from(`ursula:${PASSWORD}`).toString('base64')}` } });
});
after(() => reg.close());

const onDisk = (r: TestRegistry, digest: string) =>
  access(path.join(r.dataDir, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7))).then(
    () => true,
    () => false,
  );

type Run = { id: number; job_status: string; job_parameters: string; result?: { dry_run: boolean; manifests: number; blobs: number; bytes: number; links: number; projects?: Array<{ project: string; manifests: number; blobs: number; bytes: number }> } };

/** Starts a run through the API (as `minato gc` does) and waits for it to end. */
async function runGc(client: ApiClient, parameters: { delete_untagged?: boolean; dry_run?: boolean } = {}): Promise<Run> {
  const started = await client('POST', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Manual' }, parameters } });
  assert.equal(started.status, 201, started.text);
  const location = started.headers.location as string;
  assert.match(location, /^\/api\/v2\.0\/system\/gc\/\d+$/);
  return waitFor(async () => {
    const res = await client('GET', location);
    assert.equal(res.status, 200, res.text);
    const run = res.json() as Run;
    return run.job_status === 'Running' ? undefined : run;
  }, 20_000, 'the gc run to end');
}

async function pushBlob(r: TestRegistry, repository: string, blob: Buffer): Promise<void> {
  const res = await request(`${r.url}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: r.basic, 'Content-Type': 'application/octet-stream' }, body: blob });
  assert.equal(res.status, 201, res.text);
}

async function putManifest(r: TestRegistry, repository: string, reference: string, body: Buffer, mediaType = 'application/vnd.oci.image.manifest.v1+json'): Promise<void> {
  const res = await request(`${r.url}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { Authorization: r.basic, 'Content-Type': mediaType }, body });
  assert.equal(res.status, 201, res.text);
}

const usage = async (project: string) => {
  const res = await admin('GET', '/api/v2.0/quotas?page_size=100');
  return (res.json() as Array<{ ref: { name: string }; used: { storage: number } }>).find((q) => q.ref.name === project)!.used.storage;
};

test('a deleted tag frees nothing until GC deletes untagged manifests; then the bytes leave the disk and the quota usage follows', async () => {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","seed":"gc-1"}');
  const layer = Buffer.from('a layer only gc-one/app:v1 has');
  const shared = Buffer.from('a layer two tags share');
  await pushBlob(reg, 'gcone/app', config);
  await pushBlob(reg, 'gcone/app', layer);
  await pushBlob(reg, 'gcone/app', shared);
  const v1 = imageManifest(config, [layer, shared]);
  await putManifest(reg, 'gcone/app', 'v1', v1);
  const v2 = await pushImage(reg.url, reg.basic, 'gcone/app', 'v2');
  const v3Config = Buffer.from('{"seed":"v3"}');
  await pushBlob(reg, 'gcone/app', v3Config);
  await putManifest(reg, 'gcone/app', 'v3', imageManifest(v3Config, [shared]));
  const before = await usage('gcone');

  // The tag goes; its manifest stays, untagged, and every byte with it.
  assert.equal((await request(`${reg.url}/v2/gcone/app/manifests/v1`, { method: 'DELETE', headers: { Authorization: reg.basic } })).status, 202);
  const kept = await runGc(admin, { delete_untagged: false });
  assert.equal(kept.job_status, 'Success');
  assert.equal(kept.result!.manifests, 0);
  assert.ok(await onDisk(reg, sha256(layer)), 'untagged manifests are kept unless asked: their layers stay');
  assert.equal((await request(`${reg.url}/v2/gcone/app/manifests/${sha256(v1)}`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 200);

  // A dry run says what would go, per project, and changes nothing.
  const dry = await runGc(admin, { delete_untagged: true, dry_run: true });
  assert.equal(dry.result!.dry_run, true);
  const project = dry.result!.projects!.find((p) => p.project === 'gcone')!;
  assert.deepEqual([project.manifests, project.blobs], [1, 2], 'the untagged manifest and its two own blobs (config, layer); the shared layer stays');
  assert.equal(project.bytes, v1.length + config.length + layer.length);
  assert.ok(await onDisk(reg, sha256(layer)), 'a dry run deletes nothing');

  const run = await runGc(admin, { delete_untagged: true });
  assert.equal(run.job_status, 'Success');
  assert.equal(run.result!.manifests, 1);
  assert.equal(run.result!.blobs, 2);
  assert.equal(run.result!.bytes, config.length + layer.length);
  assert.equal(await onDisk(reg, sha256(layer)), false, 'the layer only v1 had is gone from the disk');
  assert.equal(await onDisk(reg, sha256(config)), false);
  assert.ok(await onDisk(reg, sha256(shared)), 'the layer v3 still references stays');
  assert.equal(await usage('gcone'), before - v1.length - config.length - layer.length, 'the quota usage drops by exactly what went');
  assert.equal((await request(`${reg.url}/v2/gcone/app/manifests/${sha256(v1)}`, { method: 'GET', headers: { Authorization: reg.basic } })).status, 404);
  // What stays is whole.
  const pulled = await request(`${reg.url}/v2/gcone/app/blobs/${sha256(shared)}`, { headers: { Authorization: reg.basic } });
  assert.equal(sha256(pulled.body), sha256(shared));
  assert.equal((await request(`${reg.url}/v2/gcone/app/manifests/v2`, { headers: { Authorization: reg.basic } })).status, 200);
  assert.equal(v2.digest.length, 71);

  // A layer pushed again after GC deleted it is stored anew and served whole.
  await pushBlob(reg, 'gcone/app', layer);
  const again = await request(`${reg.url}/v2/gcone/app/blobs/${sha256(layer)}`, { headers: { Authorization: reg.basic } });
  assert.equal(sha256(again.body), sha256(layer));
});

test('an index keeps its untagged children, and a kept artifact keeps its referrers (signatures, SBOMs)', async () => {
  const index = await pushIndex(reg.url, reg.basic, 'gctwo/multi', 'v1');
  const subject = await pushImage(reg.url, reg.basic, 'gctwo/signed', 'v1');
  // A referrer: an artifact whose subject is v1, pushed by digest (untagged).
  const sigConfig = Buffer.from('{}');
  const signature = Buffer.from('a signature');
  await pushBlob(reg, 'gctwo/signed', sigConfig);
  await pushBlob(reg, 'gctwo/signed', signature);
  const referrer = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(sigConfig), size: sigConfig.length },
      layers: [{ mediaType: 'application/octet-stream', digest: sha256(signature), size: signature.length }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.size },
    }),
  );
  await putManifest(reg, 'gctwo/signed', sha256(referrer), referrer);

  const run = await runGc(admin, { delete_untagged: true });
  assert.equal(run.job_status, 'Success');
  for (const child of index.children) {
    assert.equal((await request(`${reg.url}/v2/gctwo/multi/manifests/${child}`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 200, 'a child of a tagged index stays');
  }
  assert.equal((await request(`${reg.url}/v2/gctwo/signed/manifests/${sha256(referrer)}`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 200, 'the signature of a kept artifact stays');
  assert.ok(await onDisk(reg, sha256(signature)));

  // The index's tag goes: the index, then its children go in the same run (a cascade). The
  // subject's tag goes: it goes, and so does its signature.
  await request(`${reg.url}/v2/gctwo/multi/manifests/v1`, { method: 'DELETE', headers: { Authorization: reg.basic } });
  await request(`${reg.url}/v2/gctwo/signed/manifests/v1`, { method: 'DELETE', headers: { Authorization: reg.basic } });
  const second = await runGc(admin, { delete_untagged: true });
  assert.equal(second.result!.manifests, 1 + index.children.length + 2);
  for (const child of index.children) assert.equal((await request(`${reg.url}/v2/gctwo/multi/manifests/${child}`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 404);
  assert.equal(await onDisk(reg, sha256(signature)), false);
  assert.equal(await usage('gctwo'), 0, 'nothing of the project is left, and its usage says so');
});

test('a layer no manifest references is kept for the grace window; untagged manifests younger than the minimum age stay', async () => {
  const graced = await startTestRegistry({ gc: { graceMinutes: 60, untaggedMinAgeHours: 1 } });
  try {
    const client = await apiClient(graced.url, { headers: { Authorization: graced.basic } });
    const layer = Buffer.from('a layer whose manifest has not come yet');
    await pushBlob(graced, 'library/pending', layer);
    const pushed = await pushImage(graced.url, graced.basic, 'library/young', 'v1');
    await request(`${graced.url}/v2/library/young/manifests/v1`, { method: 'DELETE', headers: { Authorization: graced.basic } });
    const run = await runGc(client, { delete_untagged: true });
    assert.equal(run.job_status, 'Success');
    assert.deepEqual([run.result!.links, run.result!.blobs, run.result!.manifests], [0, 0, 0]);
    assert.ok(await onDisk(graced, sha256(layer)), 'a push in flight keeps its layers');
    assert.equal((await request(`${graced.url}/v2/library/young/manifests/${pushed.digest}`, { method: 'HEAD', headers: { Authorization: graced.basic } })).status, 200);
  } finally {
    await graced.close();
  }
  // Without a grace window the same layer goes (the registry of the other tests).
  const layer = Buffer.from('a layer nobody will ever reference');
  await pushBlob(reg, 'library/orphan', layer);
  const before = await usage('library');
  const run = await runGc(admin);
  assert.equal(run.result!.links, 1);
  assert.equal(await onDisk(reg, sha256(layer)), false);
  assert.equal(await usage('library'), before - layer.length);
});

test('the API: history, one run, its log, the schedule, 409 while a run goes on, admins only', async () => {
  const run = await runGc(admin);
  const list = await admin('GET', '/api/v2.0/system/gc?page_size=2');
  assert.equal(list.status, 200);
  assert.equal(list.json()[0].id, run.id, 'newest first');
  assert.equal(list.json()[0].job_name, 'GARBAGE_COLLECTION');
  assert.ok(Number(list.headers['x-total-count']) >= 1);
  const log = await admin('GET', `/api/v2.0/system/gc/${run.id}/log`);
  assert.equal(log.status, 200);
  assert.match(log.text, /freed \d+ bytes/);
  assertApiError(await admin('GET', '/api/v2.0/system/gc/12345'), 404, 'NOT_FOUND');
  assertApiError(await admin('GET', '/api/v2.0/system/gc/nope'), 400, 'BAD_REQUEST');

  assert.deepEqual((await admin('GET', '/api/v2.0/system/gc/schedule')).json().schedule, { type: 'None' });
  assert.equal((await admin('PUT', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Custom', cron: '0 0 3 * * *' }, parameters: { delete_untagged: true } } })).status, 200);
  const schedule = (await admin('GET', '/api/v2.0/system/gc/schedule')).json();
  assert.equal(schedule.schedule.cron, '0 0 3 * * *');
  assert.equal(schedule.parameters.delete_untagged, true);
  assert.ok(Date.parse(schedule.schedule.next_scheduled_time) > Date.now());
  assertApiError(await admin('PUT', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Custom', cron: 'every day' } } }), 400, 'BAD_REQUEST');
  assertApiError(await admin('PUT', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Custom' } } }), 400, 'BAD_REQUEST');
  assertApiError(await admin('POST', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Manual' }, parameters: { workers: 11 } } }), 400, 'BAD_REQUEST');
  assert.equal((await admin('PUT', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'None' } } })).status, 200);

  // A second run while one goes on: 409 with Harbor's body. (A registry whose sweep pauses, with
  // something to sweep, so that the first run is still going.)
  process.env.MINATO_GC_TEST_SWEEP_PAUSE_MS = '1500';
  const slow = await startTestRegistry({ gc: { graceMinutes: 0 } }).finally(() => delete process.env.MINATO_GC_TEST_SWEEP_PAUSE_MS);
  try {
    const client = await apiClient(slow.url, { headers: { Authorization: slow.basic } });
    await pushBlob(slow, 'library/orphan', Buffer.from('something to sweep'));
    const first = await client('POST', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Manual' } } });
    assert.equal(first.status, 201);
    await waitFor(async () => ((await client('GET', first.headers.location as string)).json().progress?.phase === 'sweeping' ? true : undefined), 10_000, 'the sweep');
    const running = (await client('GET', first.headers.location as string)).json();
    assert.equal(running.job_status, 'Running');
    assert.equal(typeof running.progress.done, 'number');
    assertApiError(await client('POST', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Manual' } } }), 409, 'CONFLICT');
    // Stop: the run ends after its batch, marked "Stopped".
    assert.equal((await client('PATCH', first.headers.location as string)).status, 200);
    const stopped = await waitFor(async () => {
      const r = (await client('GET', first.headers.location as string)).json();
      return r.job_status === 'Running' ? undefined : r;
    }, 10_000, 'the run to stop');
    assert.equal(stopped.job_status, 'Stopped');
  } finally {
    await slow.close();
  }

  // Users who are not system admins may not.
  assertApiError(await user('GET', '/api/v2.0/system/gc'), 403, 'FORBIDDEN');
  assertApiError(await user('POST', '/api/v2.0/system/gc/schedule', { json: { schedule: { type: 'Manual' } } }), 403, 'FORBIDDEN');
  const anonymous = await apiClient(reg.url);
  assertApiError(await anonymous('GET', '/api/v2.0/system/gc/schedule'), 401, 'UNAUTHORIZED');
});

test('a GC run is in the audit log and the metrics', async () => {
  const run = await runGc(admin);
  await waitFor(async () => {
    const res = await admin('GET', `/api/v2.0/auditlog-exts?q=${encodeURIComponent('resource_type=garbage-collection')}&page_size=100`);
    return res.json().some((e: { resource: string }) => e.resource === String(run.id)) ? true : undefined;
  }, 10_000, 'the run to reach the audit log');
  const metrics = await request(`${reg.url}/metrics`);
  assert.match(metrics.text, /minato_gc_reclaimed_bytes_total \d+/);
  assert.match(metrics.text, /minato_gc_reclaimed_objects_total\{kind="blob"\} \d+/);
});
