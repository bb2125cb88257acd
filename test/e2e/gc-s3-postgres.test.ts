// Garbage collection in the scale-out mode: blobs in a real Ceph radosgw bucket, metadata in
// PostgreSQL 15. GC reclaims the objects of deleted images from the bucket (listed there, not
// asked of minato), keeps every object a kept image needs, and the project's usage follows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pushImage, sha256 } from '../helpers/oci.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startRadosgw, type RunningRadosgw } from '../helpers/radosgw.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';

let pg: RunningPostgres;
let rgw: RunningRadosgw;
let raw: S3Client;
let reg: TestRegistry;
let bucket: string;

before(async () => {
  [pg, rgw] = await Promise.all([startPostgres(), startRadosgw()]);
  raw = new S3Client(rgw.clientConfig());
  bucket = await rgw.createBucket();
  reg = await startTestRegistry({ database: { driver: 'postgres', url: await pg.createDatabase() }, storage: { driver: rgw.driverConfig(bucket) }, gc: { graceMinutes: 0 } });
});
after(async () => {
  await reg?.close();
  raw?.destroy();
  await Promise.all([pg?.stop(), rgw?.stop()]);
});

async function blobObjects(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await raw.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (/blobs\/sha256\//.test(o.Key!)) keys.push(`sha256:${o.Key!.split('/').pop()}`);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

test('GC on S3 and PostgreSQL deletes the objects of deleted images and keeps those of kept ones', { timeout: 120_000 }, async () => {
  const auth = { Authorization: reg.basic };
  const digestsOf = async (repo: string, tag: string) => {
    const m = (await request(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { ...auth, Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
    return [m.config.digest as string, ...m.layers.map((l: { digest: string }) => l.digest)];
  };
  for (let i = 0; i < 6; i++) await pushImage(reg.url, reg.basic, `s3gc/app${i % 2}`, `v${i}`, `s3 seed ${i}`);
  const keep: Array<[string, string, string[]]> = [];
  const gone: string[] = [];
  for (let i = 0; i < 6; i++) {
    const repo = `s3gc/app${i % 2}`;
    const digests = await digestsOf(repo, `v${i}`);
    if (i < 3) {
      gone.push(...digests);
      assert.equal((await request(`${reg.url}/v2/${repo}/manifests/v${i}`, { method: 'DELETE', headers: auth })).status, 202);
    } else keep.push([repo, `v${i}`, digests]);
  }
  const objects = await blobObjects();
  for (const d of gone) assert.ok(objects.includes(d), `${d} is in the bucket before GC`);
  const usedBefore = (await reg.quotas.usage({ actor: SYSTEM_ACTOR }, 's3gc')).used;

  const started = await request(`${reg.url}/api/v2.0/system/gc/schedule`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { delete_untagged: true } }) });
  assert.equal(started.status, 201, started.text);
  const run = await waitFor(async () => {
    const r = (await request(`${reg.url}${started.headers.location}`, { headers: auth })).json();
    return r.job_status === 'Running' ? undefined : r;
  }, 60_000, 'the gc run');
  assert.equal(run.job_status, 'Success', run.error);
  assert.equal(run.result.manifests, 3);
  assert.equal(run.result.blobs, new Set(gone).size);

  // The kept usage dropped, and equals a recount from the references (no drift).
  const usedAfter = (await reg.quotas.usage({ actor: SYSTEM_ACTOR }, 's3gc')).used;
  assert.ok(usedAfter < usedBefore);
  const [recount] = await reg.quotas.recount({ actor: SYSTEM_ACTOR }, 's3gc');
  assert.equal(recount!.after - recount!.before, 0, 'no drift');
  const after = await blobObjects();
  for (const d of gone) assert.equal(after.includes(d), false, `${d} was deleted from the bucket`);
  for (const [repo, tag, digests] of keep) {
    for (const d of digests) {
      assert.ok(after.includes(d), `${d} of ${repo}:${tag} stays in the bucket`);
      const b = await request(`${reg.url}/v2/${repo}/blobs/${d}`, { headers: auth });
      if (b.status === 307) {
        const redirected = await request(b.headers.location as string);
        assert.equal(sha256(redirected.body), d);
      } else assert.equal(sha256(b.body), d);
    }
  }
});
