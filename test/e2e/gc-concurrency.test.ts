// Online garbage collection under load: GC runs back to back (deleting untagged manifests, a
// grace window of 6 s for layers whose manifest has not come yet) while 16 clients push images built from a small pool of
// shared layers (so the same layers are pushed again and again, often just after GC took them),
// skip layers a HEAD says are there, and delete tags and manifests, for ~30 s. A push may be
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
const SHARED_LAYERS = Array.from({ length: 12 }, (_, i) => Buffer.concat([Buffer.from(`shared layer ${i} `), randomBytes(2000 + i * 100)]));

let reg: TestRegistry;
before(async () => {
  reg = await startTestRegistry({ gc: { graceMinutes: 0.1, untagged: 'delete' } });
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
  const counts = { acknowledged: 0, refused: 0, deleted: 0, gcRuns: 0, reclaimedBlobs: 0 };
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

  const client = async (c: number) => {
    const repository = `load/app${c % 4}`;
    const mine: Pushed[] = [];
    for (let n = 0; Date.now() < deadline; n++) {
      // Delete now and then: a tag (its manifest becomes garbage) or a manifest by digest.
      if (mine.length > 2 && n % 3 === 0) {
        const victim = mine.splice(Math.floor(Math.random() * mine.length), 1)[0]!;
        const reference = n % 2 === 0 ? victim.tag : victim.digest;
        const res = await request(`${reg.url}/v2/${victim.repository}/manifests/${reference}`, { method: 'DELETE', headers: auth });
        assert.ok(res.status === 202 || res.status === 404, `delete answered ${res.status}: ${res.text}`);
        counts.deleted++;
        continue;
      }
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', client: c, n }));
      const layers = [SHARED_LAYERS[(c + n) % SHARED_LAYERS.length]!, SHARED_LAYERS[(c * 7 + n * 3) % SHARED_LAYERS.length]!, randomBytes(512)];
      const unique = [...new Map(layers.map((l) => [sha256(l), l])).values()];
      let uploaded = true;
      for (const blob of [config, ...unique]) if (!(await uploadBlob(repository, blob, n))) uploaded = false;
      if (!uploaded) {
        counts.refused++;
        continue;
      }
      const tag = `c${c}-${n}`;
      const body = imageManifest(config, unique);
      const res = await request(`${reg.url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body });
      if (res.status === 201) {
        counts.acknowledged++;
        mine.push({ repository, tag, digest: sha256(body), blobs: [config, ...unique] });
      } else if (refusedByGc(res)) counts.refused++;
      else assert.fail(`manifest push answered ${res.status}: ${res.text}`);
    }
    kept.push(...mine);
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
  for (const p of kept) {
    const m = await request(`${reg.url}/v2/${p.repository}/manifests/${p.tag}`, { headers: { ...auth, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200, `${p.repository}:${p.tag}: ${m.text}`);
    assert.equal(sha256(m.body), p.digest);
    for (const blob of p.blobs) {
      const b = await request(`${reg.url}/v2/${p.repository}/blobs/${sha256(blob)}`, { headers: auth });
      assert.equal(b.status, 200, `${p.repository}:${p.tag} blob ${sha256(blob)}: ${b.status} ${b.text.slice(0, 200)}`);
      assert.equal(sha256(b.body), sha256(blob), `${p.repository}:${p.tag} blob ${sha256(blob)} is whole`);
    }
  }
  // And a last run (nothing racing it) leaves them whole too.
  const last = await request(`${reg.url}/api/v2.0/system/gc/schedule`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { delete_untagged: true } }) });
  assert.equal(last.status, 201);
  for (;;) {
    const run = (await request(`${reg.url}${last.headers.location}`, { headers: auth })).json() as { job_status: string };
    if (run.job_status !== 'Running') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const p of kept) {
    for (const blob of p.blobs) {
      const b = await request(`${reg.url}/v2/${p.repository}/blobs/${sha256(blob)}`, { headers: auth });
      assert.equal(sha256(b.body), sha256(blob), `${p.repository}:${p.tag} blob ${sha256(blob)} after the last run`);
    }
  }
});
