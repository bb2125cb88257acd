// The scrub on the S3 driver (a real Ceph radosgw) with a real client: skopeo pushes an image,
// its layer object is overwritten in the bucket (bit rot) and an object no metadata knows is
// added; the scrub finds both, --repair deletes the bad and the orphan objects and unlinks the
// layer, skopeo's next push uploads the layer again (its HEAD now says "missing"), and skopeo
// pulls the image whole (it verifies every digest). The orphan's age comes from LastModified.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { makeOciLayout, sha256, type OciLayout } from '../helpers/oci.js';
import { apiClient, type ApiClient } from '../helpers/openapi.js';
import { run } from '../helpers/peers.js';
import { waitFor } from '../helpers/ports.js';
import { startRadosgw, type RunningRadosgw } from '../helpers/radosgw.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

type Run = { job_status: string; summary: { findings: Record<string, number>; remaining: Record<string, number>; repaired: number }; findings: Array<{ kind: string; digest: string; repaired: boolean }> };

describe('scrub on S3 (radosgw) with skopeo', () => {
  let rgw: RunningRadosgw;
  let raw: S3Client;
  let bucket: string;
  let reg: TestRegistry;
  let admin: ApiClient;
  let tmp: string;
  let image: OciLayout;
  const key = (digest: string) => `blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`;
  const exists = async (k: string) =>
    raw.send(new HeadObjectCommand({ Bucket: bucket, Key: k })).then(
      () => true,
      () => false,
    );

  before(async () => {
    rgw = await startRadosgw();
    raw = new S3Client(rgw.clientConfig());
    bucket = await rgw.createBucket();
    // Grace 0: objects get their age from LastModified, which a test cannot set back.
    reg = await startTestRegistry({ storage: { driver: rgw.driverConfig(bucket) }, scrub: { rateMBps: 0, orphanGraceMinutes: 0 } });
    admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    tmp = await tempDir('minato-scrub-s3-');
    image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 300_000);
  });
  after(async () => {
    await reg?.close();
    raw?.destroy();
    await rgw?.stop();
  });

  const host = () => new URL(reg.url).host;
  const skopeo = async (...args: string[]) => {
    const r = await run('skopeo', args, { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') } });
    assert.equal(r.code, 0, `skopeo ${args.join(' ')}:\n${r.stderr}`);
    return r;
  };
  const push = () => skopeo('copy', '--dest-tls-verify=false', '--dest-creds', `admin:${reg.password}`, image.ref, `docker://${host()}/library/app:v1`);

  async function scrub(repair: boolean): Promise<Run> {
    const started = await admin('POST', '/api/v2.0/system/scrub', { json: { repair } });
    assert.equal(started.status, 201, started.text);
    return waitFor(async () => {
      const body = (await admin('GET', `/api/v2.0/system/scrub/${started.json().id}?page_size=100`)).json() as Run;
      return body.job_status === 'Running' ? undefined : body;
    }, 60_000, 'the scrub');
  }

  test('finds a rotten object and an orphan, repairs them, and skopeo re-pushes and pulls the image whole', async () => {
    await push();
    const layer = image.layerDigests[0]!;
    const whole = await scrub(false);
    assert.deepEqual(Object.values(whole.summary.findings), [0, 0, 0, 0, 0]);

    // Bit rot in the layer object (same length), and an object nobody pushed.
    const size = (await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key(layer) }))).ContentLength!;
    await raw.send(new PutObjectCommand({ Bucket: bucket, Key: key(layer), Body: randomBytes(size) }));
    const orphan = randomBytes(1000);
    await raw.send(new PutObjectCommand({ Bucket: bucket, Key: key(sha256(orphan)), Body: orphan }));

    const found = await scrub(false);
    assert.equal(found.summary.findings['corrupt-blob'], 1, JSON.stringify(found.findings));
    assert.equal(found.summary.findings['orphan-blob'], 1);
    assert.deepEqual(found.findings.map((f) => [f.kind, f.digest]).sort(), [['corrupt-blob', layer], ['orphan-blob', sha256(orphan)]].sort());

    const repaired = await scrub(true);
    assert.equal(repaired.summary.repaired, 2);
    assert.equal(await exists(key(layer)), false, 'the bad object is deleted');
    assert.equal(await exists(key(sha256(orphan))), false, 'the orphan is deleted');
    assert.equal(repaired.summary.remaining['broken-reference'], 1, 'the image is reported until it is pushed again');

    // skopeo asks HEAD for each blob: the layer is missing now, so it is sent again.
    await push();
    assert.equal(await exists(key(layer)), true);
    const back = path.join(tmp, 'back');
    await skopeo('copy', '--src-tls-verify=false', '--src-creds', `admin:${reg.password}`, `docker://${host()}/library/app:v1`, `oci:${back}:v1`);
    const healed = await scrub(false);
    assert.deepEqual(Object.values(healed.summary.findings), [0, 0, 0, 0, 0], JSON.stringify(healed.findings));
  });
});
