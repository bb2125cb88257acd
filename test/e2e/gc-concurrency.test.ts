// Online garbage collection under load: GC runs back to back (deleting untagged manifests, a
// grace window of 6 s for layers whose manifest has not come yet) while 16 clients push images,
// delete them (by tag or digest) and push the same images again, for ~30 s: the same layers are
// pushed again and again just as GC marks and deletes them, and layers a HEAD finds are skipped.
// Each acknowledged push is pulled whole before the client deletes it, and those left at the end. A push may be
// refused (GC took a layer between its upload and the manifest: MANIFEST_BLOB_UNKNOWN; or while
// it was being committed: BLOB_UPLOAD_INVALID) — the client pushes again — but every push the
// registry acknowledged and nobody deleted must then be pulled whole, every digest verified.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { request, type Response } from '../helpers/http.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const CLIENTS = 16;
const DURATION_MS = Number(process.env.GC_LOAD_SECONDS ?? 30) * 1000;
const SHARED_LAYERS = Array.from({ length: 4 }, (_, i) => Buffer.concat([Buffer.from(`shared layer ${i} `), randomBytes(2000 + i * 100)]));

let reg: TestRegistry;
before(async () => {
  // Each sweep batch holds its blobs `deleting` for 100 ms before deleting their bytes (the test
  // hook), so that pushes of those very blobs land inside the window, as on a slow store.
  process.env.MINATO_GC_TEST_SWEEP_PAUSE_MS = '100';
  reg = await startTestRegistry({ gc: { graceMinutes: 0.1, untagged: 'delete' } }).finally(() => delete process.env.MINATO_GC_TEST_SWEEP_PAUSE_MS);
});
after(() => reg.close());

interface Pushed {
  repository: string;
  tag: string;
  digest: string;
  blobs: Buffer[];
}

/** A refusal GC may cause (the client pushes again); anything else fails the test. */
function refusedByGc(res: Response): boolean {
  const code = (res.json() as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
  return (res.status === 400 && code === 'MANIFEST_BLOB_UNKNOWN') || (res.status === 400 && code === 'BLOB_UPLOAD_INVALID') || (res.status === 404 && code === 'BLOB_UPLOAD_UNKNOWN');
}

test('16 clients push, re-push and delete while GC runs back to back: every acknowledged push is whole afterwards', { timeout: DURATION_MS + 120_000 }, async () => {
  const auth = { Authorization: reg.basic };
  const counts = { acknowledged: 0, refused: 0, deleted: 0, verified: 0, gcRuns: 0, reclaimedBlobs: 0 };
  const verify = async (p: Pushed, when: string) => {
    const m = await request(`${reg.url}/v2/${p.repository}/manifests/${p.tag}`, { headers: { ...auth, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200, `${p.repository}:${p.tag} ${when}: ${m.text}`);
    assert.equal(sha256(m.body), p.digest);
    for (const blob of p.blobs) {
      const b = await request(`${reg.url}/v2/${p.repository}/blobs/${sha256(blob)}`, { headers: auth });
      assert.equal(b.status, 200, `${p.repository}:${p.tag} blob ${sha256(blob)} ${when}: ${b.status} ${b.text.slice(0, 200)}`);
      assert.equal(sha256(b.body), sha256(blob), `${p.repository}:${p.tag} blob ${sha256(blob)} is whole ${when}`);
    }
  };
  const kept: Pushed[] = [];
  const deadline = Date.now() + DURATION_MS;

  const uploadBlob = async (repository: string, blob: Buffer, n: number): Promise<boolean> => {
    const digest = sha256(blob);
    // Sometimes ask first and skip what the repository has (what docker and skopeo do).
    if (n % 3 === 0 && (await request(`${reg.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD', headers: auth })).status === 200) return true;
    let res: Response;
    if (n % 2 === 0) {
      res = await request(`${reg.url}/v2/${repository}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/octet-stream' }, body: blob });
    } else {
      const started = await request(`${reg.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: auth });
      assert.equal(started.status, 202, started.text);
      const location = new URL(started.headers.location as string, reg.url);
      location.searchParams.set('digest', digest);
      res = await request(location.toString(), { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/octet-stream' }, body: blob });
    }
    if (res.status === 201) return true;
    if (refusedByGc(res)) return false;
    assert.fail(`blob upload answered ${res.status}: ${res.text}`);
  };

  // Each client has its own repository and three images of its own (a config, a layer of its own,
  // one layer every client shares). It pushes one, later deletes it (its tag, or the manifest by
  // digest), and pushes the same image again: its layers are garbage in between, so the re-push
  // races GC's mark and sweep of exactly those blobs, and a HEAD that finds a layer still held
  // skips the upload just before GC takes it.
  const client = async (c: number) => {
    const repository = `load/c${c}`;
    const images = [0, 1, 2].map((k) => {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', client: c, image: k }));
      const own = Buffer.concat([Buffer.from(`layer of client ${c} image ${k} `), randomBytes(1024)]);
      const blobs = [config, own, SHARED_LAYERS[(c + k) % SHARED_LAYERS.length]!];
      return { tag: `i${k}`, blobs, body: imageManifest(config, blobs.slice(1)) };
    });
    const live = new Map<number, Pushed>();
    for (let n = 0; Date.now() < deadline; n++) {
      const k = n % images.length;
      const image = images[k]!;
      const pushed = live.get(k);
      if (pushed) {
        // Before it goes, the acknowledged push is pulled whole (digests checked): damage done to
        // it since its acknowledgment would be healed by the next push of the same image.
        await verify(pushed, 'before its delete');
        counts.verified++;
        const reference = n % 2 === 0 ? pushed.tag : pushed.digest;
        const res = await request(`${reg.url}/v2/${repository}/manifests/${reference}`, { method: 'DELETE', headers: auth });
        assert.ok(res.status === 202 || res.status === 404, `delete answered ${res.status}: ${res.text}`);
        live.delete(k);
        counts.deleted++;
        // Mostly pushed again at once: while GC collects what the delete left.
        if (n % 3 === 0) continue;
      }
      let uploaded = true;
      for (const blob of image.blobs) if (!(await uploadBlob(repository, blob, n + c))) uploaded = false;
      if (!uploaded) {
        counts.refused++;
        continue;
      }
      const res = await request(`${reg.url}/v2/${repository}/manifests/${image.tag}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: image.body });
      if (res.status === 201) {
        counts.acknowledged++;
        live.set(k, { repository, tag: image.tag, digest: sha256(image.body), blobs: image.blobs });
      } else if (refusedByGc(res)) counts.refused++;
      else assert.fail(`manifest push answered ${res.status}: ${res.text}`);
    }
    kept.push(...live.values());
  };

  const gcLoop = async () => {
    while (Date.now() < deadline) {
      const started = await request(`${reg.url}/api/v2.0/system/gc/schedule`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { delete_untagged: true } }) });
      assert.equal(started.status, 201, started.text);
      for (;;) {
        const run = (await request(`${reg.url}${started.headers.location}`, { headers: auth })).json() as { job_status: string; result?: { blobs: number }; error?: string };
        if (run.job_status !== 'Running') {
          assert.equal(run.job_status, 'Success', run.error);
          counts.gcRuns++;
          counts.reclaimedBlobs += run.result!.blobs;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };

  await Promise.all([gcLoop(), ...Array.from({ length: CLIENTS }, (_, c) => client(c))]);
  console.log('gc under load:', JSON.stringify({ ...counts, kept: kept.length }));
  // (Loose bounds: the test machine's two cores may be shared; the point is the check below.)
  assert.ok(counts.gcRuns >= 3, `GC ran ${counts.gcRuns} times`);
  assert.ok(counts.reclaimedBlobs > 0, 'GC reclaimed something while the clients worked');
  assert.ok(counts.acknowledged >= CLIENTS, `only ${counts.acknowledged} pushes were acknowledged`);

  // Every acknowledged push nobody deleted, pulled whole: by tag, then every blob, digests checked.
  for (const p of kept) await verify(p, 'at the end');
  // And a last run (nothing racing it) leaves them whole too.
  const last = await request(`${reg.url}/api/v2.0/system/gc/schedule`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { delete_untagged: true } }) });
  assert.equal(last.status, 201);
  for (;;) {
    const run = (await request(`${reg.url}${last.headers.location}`, { headers: auth })).json() as { job_status: string };
    if (run.job_status !== 'Running') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const p of kept) await verify(p, 'after the last run');
});
