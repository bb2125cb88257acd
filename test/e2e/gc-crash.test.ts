// kill -9 of a real `minato serve` in the middle of a garbage collection run (its sweep paused
// by the test hook MINATO_GC_TEST_SWEEP_PAUSE_MS, with blobs `deleting` in the journal and their
// bytes still on disk), then a restart on the same data dir: a second run finishes the first
// one's deletions, and nothing an image still references is gone.
import assert from 'node:assert/strict';
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { pushImage, sha256 } from '../helpers/oci.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/ports.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

let dir: string | undefined;
let server: ServeProcess | undefined;
after(async () => {
  await server?.kill9();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const onDisk = (digest: string) =>
  access(path.join(dir!, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7))).then(
    () => true,
    () => false,
  );

/** Starts a run; while the killed server's lock on the job has not expired (its lease, 15 s), 409. */
async function startGc(base: string, auth: string): Promise<string> {
  const res = await waitFor(async () => {
    const r = await request(`${base}/api/v2.0/system/gc/schedule`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ schedule: { type: 'Manual' }, parameters: { delete_untagged: true } }) });
    if (r.status === 409) return undefined;
    return r;
  }, 30_000, 'the dead run\'s lock to expire');
  assert.equal(res.status, 201, res.text);
  return `${base}${res.headers.location}`;
}

test('kill -9 in the middle of a GC sweep; after a restart a second run finishes it and every kept image is whole', { timeout: 120_000 }, async () => {
  dir = await tempDir();
  const env = { MINATO_GC_GRACE_MINUTES: '0', MINATO_LOG_LEVEL: 'info' };
  server = await spawnServe(['--data', dir], { ...env, MINATO_GC_TEST_SWEEP_PAUSE_MS: '30000' });
  const auth = `Basic ${Buffer.from(`admin:${server.adminPassword}`).toString('base64')}`;
  const manifestOf = async (base: string, repo: string, tag: string) => (await request(`${base}/v2/${repo}/manifests/${tag}`, { headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();

  const kept: Array<{ repo: string; tag: string; digest: string }> = [];
  const garbage: string[] = [];
  for (let i = 0; i < 12; i++) {
    const repo = `library/app${i % 3}`;
    const pushed = await pushImage(server.url, auth, repo, `v${i}`, `seed ${i}`);
    if (i % 2 === 0) {
      kept.push({ repo, tag: `v${i}`, digest: pushed.digest });
      continue;
    }
    const m = await manifestOf(server.url, repo, `v${i}`);
    garbage.push(m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest));
    assert.equal((await request(`${server.url}/v2/${repo}/manifests/v${i}`, { method: 'DELETE', headers: { Authorization: auth } })).status, 202);
  }
  for (const d of garbage) assert.ok(await onDisk(d));

  const run = await startGc(server.url, auth);
  await waitFor(async () => ((await request(run, { headers: { Authorization: auth } })).json().progress?.phase === 'sweeping' ? true : undefined), 20_000, 'the sweep to start');
  await server.kill9();
  assert.ok((await Promise.all(garbage.map(onDisk))).every(Boolean), 'killed before the bytes went: they are all still there');

  server = await spawnServe(['--data', dir], env);
  const second = await startGc(server.url, auth);
  const done = await waitFor(async () => {
    const r = (await request(second, { headers: { Authorization: auth } })).json();
    return r.job_status === 'Running' ? undefined : r;
  }, 30_000, 'the second run');
  assert.equal(done.job_status, 'Success', done.error);
  assert.equal(done.result.blobs, garbage.length, 'the second run deleted what the first had started to');
  for (const d of garbage) assert.equal(await onDisk(d), false, `${d} is gone`);
  const log = await request(`${second}/log`, { headers: { Authorization: auth } });
  assert.match(log.text, /blobs left by an earlier run/);

  for (const k of kept) {
    const m = await request(`${server.url}/v2/${k.repo}/manifests/${k.tag}`, { headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(sha256(m.body), k.digest);
    const parsed = m.json();
    for (const d of [parsed.config.digest, ...parsed.layers.map((l: { digest: string }) => l.digest)]) {
      const b = await request(`${server.url}/v2/${k.repo}/blobs/${d}`, { headers: { Authorization: auth } });
      assert.equal(sha256(b.body), d, `${k.repo}:${k.tag} blob ${d} is whole`);
    }
  }
});
