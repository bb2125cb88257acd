// The scrub against a registry on the filesystem driver, through the management API with every
// response checked against the OpenAPI document: damage done by hand (a corrupted blob file, a
// removed one, orphan files old and young, a broken reference and a corrupted manifest in the
// database) is found with the right advice; --repair fixes what it says and nothing else; a
// re-push then heals the images, and a last scrub finds the registry whole. Run on SQLite
// (scrub.test.ts) and on PostgreSQL with an ICU collation (test/e2e/scrub-postgres.test.ts).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/http.js';
import { pushImage, sha256 } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

/** Runs one statement on the registry's metadata database (`?` placeholders), to damage it by hand. */
export type MetadataSql = (reg: TestRegistry, sql: string, params: unknown[]) => Promise<void>;

type Finding = { kind: string; digest: string; repository?: string; manifest?: string; detail: string; meaning: string; repair: string; repaired: boolean; images?: Array<{ repository: string; manifest: string; tags: string[] }> };
type Run = { id: number; job_status: string; summary?: { findings: Record<string, number>; remaining: Record<string, number>; repaired: number; orphans_in_grace: number; bytes_verified: number; stopped: boolean }; findings: Finding[]; finding_total: number };

export const blobFile = (dataDir: string, digest: string) => path.join(dataDir, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));

/** Starts a scrub and waits for its end; returns the run with (up to 100 of) its findings. */
export async function scrub(api: ApiClient, repair: boolean): Promise<Run> {
  const started = await api('POST', '/api/v2.0/system/scrub', { json: { repair } });
  assert.equal(started.status, 201, started.text);
  const { id } = started.json() as { id: number };
  assert.equal(started.headers.location, `/api/v2.0/system/scrub/${id}`);
  return waitFor(async () => {
    const res = await api('GET', `/api/v2.0/system/scrub/${id}?page_size=100`);
    assert.equal(res.status, 200, res.text);
    const body = res.json() as Run;
    return body.job_status === 'Running' ? undefined : body;
  }, 30_000, 'the scrub to end');
}

/** A push of one blob by digest (monolithic), as a client that found it missing. */
export async function pushBlob(reg: TestRegistry, repository: string, blob: Buffer): Promise<void> {
  const res = await request(`${reg.url}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: reg.basic, 'Content-Type': 'application/octet-stream' }, body: blob });
  assert.equal(res.status, 201, res.text);
}

/** The suite on the database `setup` names. */
export function scrubSuite(label: string, setup: () => Promise<{ config: Record<string, unknown>; exec: MetadataSql }>): void {
describe(`scrub: findings, repair, re-push (${label})`, () => {
  let reg: TestRegistry;
  let admin: ApiClient;
  let exec: MetadataSql;

  before(async () => {
    const target = await setup();
    exec = target.exec;
    reg = await startTestRegistry({ ...target.config, scrub: { rateMBps: 0 } });
    admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
  });
  after(() => reg.close());

  test('finds each kind of damage with its advice, repairs what it says, and a re-push heals the images', async () => {
    // Four images, whose layers are "layer of <repository>:<seed>" (test/helpers/oci.ts).
    await pushImage(reg.url, reg.basic, 'library/rot', 'v1');
    await pushImage(reg.url, reg.basic, 'library/lost', 'v1');
    await pushImage(reg.url, reg.basic, 'library/link', 'v1');
    const bad = await pushImage(reg.url, reg.basic, 'library/bad', 'v1');
    const clean = await scrub(admin, false);
    assert.equal(clean.job_status, 'Success');
    assert.deepEqual(Object.values(clean.summary!.findings), [0, 0, 0, 0, 0], 'a fresh registry is whole');
    assert.ok(clean.summary!.bytes_verified > 0);

    const rotLayer = Buffer.from('layer of library/rot:v1');
    const lostLayer = Buffer.from('layer of library/lost:v1');
    const linkConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed: 'v1' }));
    // Bit rot: same length, other bytes.
    await writeFile(blobFile(reg.dataDir, sha256(rotLayer)), Buffer.from('LAYER OF LIBRARY/ROT:V1'));
    // A lost file.
    await rm(blobFile(reg.dataDir, sha256(lostLayer)));
    // Orphans: bytes no metadata knows, one written two hours ago, one just now (a push in flight).
    const oldOrphan = randomBytes(300);
    const youngOrphan = randomBytes(200);
    for (const [bytes, ageMs] of [[oldOrphan, 2 * 3600_000], [youngOrphan, 0]] as const) {
      const file = blobFile(reg.dataDir, sha256(bytes));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
      const t = new Date(Date.now() - ageMs);
      await utimes(file, t, t);
    }
    // In the database: library/link no longer holds its config blob; library/bad's manifest bytes rot.
    await exec(reg, `delete from repository_blobs where digest = ? and repository_id = (select id from repositories where name = 'library/link')`, [sha256(linkConfig)]);
    await exec(reg, `update manifests set content = ? where digest = ?`, [Buffer.from('{"schemaVersion":2,"rotten":true}'), bad.digest]);

    const found = await scrub(admin, false);
    assert.equal(found.job_status, 'Success');
    assert.deepEqual(found.summary!.findings, { 'corrupt-blob': 1, 'missing-blob': 1, 'broken-reference': 1, 'corrupt-manifest': 1, 'orphan-blob': 1 });
    assert.equal(found.summary!.orphans_in_grace, 1, 'the young orphan is left alone');
    const byKind = (kind: string) => found.findings.find((f) => f.kind === kind)!;
    const rot = byKind('corrupt-blob');
    assert.equal(rot.digest, sha256(rotLayer));
    assert.match(rot.detail, /hash to sha256:/);
    assert.deepEqual(rot.images?.map((i) => [i.repository, i.tags]), [['library/rot', ['v1']]], 'the finding names the broken image and its tag');
    assert.match(rot.repair, /deletes the bad bytes and unlinks the blob/);
    assert.match(rot.repair, /docker:\/\/REGISTRY\/library\/rot:v1/);
    assert.equal(byKind('missing-blob').digest, sha256(lostLayer));
    const link = byKind('broken-reference');
    assert.deepEqual([link.repository, link.digest], ['library/link', sha256(linkConfig)]);
    assert.match(link.repair, /only reports/);
    assert.equal(byKind('corrupt-manifest').manifest, bad.digest);
    assert.match(byKind('corrupt-manifest').repair, /minato artifact delete library\/bad@sha256:/);
    assert.equal(byKind('orphan-blob').digest, sha256(oldOrphan));
    assert.equal(found.findings.filter((f) => f.repaired).length, 0, 'without repair nothing changes');
    assert.ok(existsSync(blobFile(reg.dataDir, sha256(oldOrphan))));

    // Before the repair a client's HEAD says the rotten layer exists: it would never send it again.
    const head = (repository: string, blob: Buffer) => request(`${reg.url}/v2/${repository}/blobs/${sha256(blob)}`, { method: 'HEAD', headers: { Authorization: reg.basic } });
    assert.equal((await head('library/rot', rotLayer)).status, 200);

    const repaired = await scrub(admin, true);
    assert.equal(repaired.summary!.repaired, 3, 'corrupt blob, missing blob, old orphan');
    // The references phase runs after the blobs were unlinked: it reports the images to push again.
    assert.deepEqual(repaired.summary!.remaining, { 'corrupt-blob': 0, 'missing-blob': 0, 'broken-reference': 3, 'corrupt-manifest': 1, 'orphan-blob': 0 });
    assert.ok(repaired.findings.find((f) => f.kind === 'corrupt-blob')!.repaired);
    assert.ok(!existsSync(blobFile(reg.dataDir, sha256(rotLayer))), 'the bad bytes are gone');
    assert.ok(!existsSync(blobFile(reg.dataDir, sha256(oldOrphan))), 'the old orphan is deleted');
    assert.ok(existsSync(blobFile(reg.dataDir, sha256(youngOrphan))), 'the young orphan is kept');
    assert.equal((await head('library/rot', rotLayer)).status, 404, 'now a client sends the layer again');
    assert.equal((await head('library/lost', lostLayer)).status, 404);

    // The images are now reported as not pullable, until they are pushed again.
    const after = await scrub(admin, false);
    assert.deepEqual(after.summary!.findings, { 'corrupt-blob': 0, 'missing-blob': 0, 'broken-reference': 3, 'corrupt-manifest': 1, 'orphan-blob': 0 });

    // Re-pushes heal: the two layers, the config blob, and the rotten manifest deleted and pushed again.
    await pushImage(reg.url, reg.basic, 'library/rot', 'v1');
    await pushImage(reg.url, reg.basic, 'library/lost', 'v1');
    await pushBlob(reg, 'library/link', linkConfig);
    const del = await request(`${reg.url}/v2/library/bad/manifests/${bad.digest}`, { method: 'DELETE', headers: { Authorization: reg.basic } });
    assert.equal(del.status, 202, del.text);
    await pushImage(reg.url, reg.basic, 'library/bad', 'v1');
    const whole = await scrub(admin, false);
    assert.deepEqual(Object.values(whole.summary!.findings), [0, 0, 0, 0, 0], JSON.stringify(whole.findings));
    // Pulled whole: every blob of the healed image has the bytes of its digest.
    const manifest = await request(`${reg.url}/v2/library/rot/manifests/v1`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    for (const d of [manifest.json().config, ...manifest.json().layers] as Array<{ digest: string }>) {
      const blob = await request(`${reg.url}/v2/library/rot/blobs/${d.digest}`, { headers: { Authorization: reg.basic } });
      assert.equal(blob.status, 200);
      assert.equal(`sha256:${createHash('sha256').update(blob.body).digest('hex')}`, d.digest);
    }

    // The metrics say what the last run left.
    const metrics = (await request(`${reg.url}/metrics`)).text;
    assert.match(metrics, /^minato_scrub_last_findings\{kind="corrupt-blob"\} 0$/m);
    assert.match(metrics, /^minato_scrub_last_run_timestamp_seconds \d+/m);
    assert.match(metrics, /^minato_scrub_bytes_verified_total [1-9]/m);
  });

  test('the history lists runs newest first; only system administrators may scrub', async () => {
    const list = await admin('GET', '/api/v2.0/system/scrub?page_size=2');
    assert.equal(list.status, 200);
    assert.equal(list.json().length, 2);
    assert.ok(Number(list.headers['x-total-count']) >= 2);
    assert.ok(list.json()[0].id > list.json()[1].id);
    assertApiError(await admin('GET', '/api/v2.0/system/scrub/12345'), 404, 'NOT_FOUND');
    assertApiError(await admin('GET', '/api/v2.0/system/scrub/abc'), 400, 'BAD_REQUEST');
    assertApiError(await admin('POST', '/api/v2.0/system/scrub', { json: { repair: 'yes' } }), 400, 'BAD_REQUEST');
    await reg.users!.setPassword('uma', 'uma-password-1');
    const uma = await apiClient(reg.url, { headers: { Authorization: `Basic ${Buffer.from('uma:uma-password-1').toString('base64')}` } });
    assertApiError(await uma('POST', '/api/v2.0/system/scrub', { json: {} }), 403, 'FORBIDDEN');
    assertApiError(await uma('GET', '/api/v2.0/system/scrub'), 403, 'FORBIDDEN');
    const anonymous = await apiClient(reg.url);
    assertApiError(await anonymous('GET', '/api/v2.0/system/scrub'), 401, 'UNAUTHORIZED');
  });
});
}
