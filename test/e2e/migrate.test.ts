// `minato migrate`: an embedded registry copied into another registry, every blob re-verified (a
// damaged one is refused and reported), resumable, and the copy serves the same images and users.
// The target here is a second embedded data directory; test/e2e/fleet.test.ts copies into
// PostgreSQL + S3.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { client } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { run } from '../helpers/peers.js';
import { CLI, spawnServe, startTestRegistry, tempDir } from '../helpers/registry.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const MEDIA = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };

function blobFile(dataDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

describe('minato migrate', () => {
  test('copies images, tags and users; refuses a damaged blob; a second run resumes', { timeout: 120_000 }, async () => {
    const source = await tempDir('minato-migrate-src-');
    const target = await tempDir('minato-migrate-dst-');
    dirs.push(source, target);
    const reg = await startTestRegistry({ data: source });
    const sourceLogin = reg.basic;
    const config = Buffer.from('{"os":"linux"}');
    const layers = [randomBytes(3 << 20), randomBytes(40_000)];
    const damaged = randomBytes(5000);
    const images = [imageManifest(config, [layers[0]!]), imageManifest(config, [layers[1]!])];
    try {
      const api = client(reg.url, reg.basic);
      for (const blob of [config, ...layers]) assert.equal((await api(`/v2/team/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
      assert.equal((await api(`/v2/other/tool/blobs/uploads/?digest=${sha256(damaged)}`, { method: 'POST', body: damaged })).status, 201);
      assert.equal((await api('/v2/team/app/manifests/v1', { method: 'PUT', body: images[0], headers: MEDIA })).status, 201);
      assert.equal((await api('/v2/team/app/manifests/stable', { method: 'PUT', body: images[0], headers: MEDIA })).status, 201);
      assert.equal((await api('/v2/team/app/manifests/v2', { method: 'PUT', body: images[1], headers: MEDIA })).status, 201);
    } finally {
      await reg.close();
    }
    // A blob whose bytes rotted on disk after it was stored.
    const rotten = blobFile(source, sha256(damaged));
    const bytes = await readFile(rotten);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(rotten, bytes);

    const migrate = () => run(process.execPath, [CLI, 'migrate', '--from-data', source, '--data', target, '--json'], { timeoutMs: 60_000 });
    const first = await migrate();
    assert.equal(first.code, 1, `one blob refused: exit status 1\n${first.stderr}`);
    const report = JSON.parse(first.stdout) as { blobs: { copied: number; alreadyThere: number; refused: Array<{ digest: string; reason: string }> }; manifests: number; tags: number; users: number };
    assert.equal(report.blobs.copied, 3);
    assert.deepEqual(report.blobs.refused.map((r) => r.digest), [sha256(damaged)]);
    assert.match(report.blobs.refused[0]!.reason, /damaged/);
    assert.equal(report.manifests, 2);
    assert.equal(report.tags, 3);
    assert.equal(report.users, 1);
    assert.match(first.stderr, /blobs/, 'progress is shown');

    // Interrupted half-way (here: a copied blob lost again): the next run copies only what is missing.
    await rm(blobFile(target, sha256(layers[1]!)));
    const second = await migrate();
    const resumed = JSON.parse(second.stdout) as typeof report;
    assert.equal(resumed.blobs.copied, 1);
    assert.equal(resumed.blobs.alreadyThere, 2);

    const copy = await spawnServe(['--data', target]);
    try {
      // The user came across with its password (the one the source generated at its first start).
      const api = client(copy.url, sourceLogin);
      for (const [tag, image] of [['v1', images[0]], ['stable', images[0]], ['v2', images[1]]] as const) {
        const got = await api(`/v2/team/app/manifests/${tag}`);
        assert.equal(got.status, 200, `${tag}: ${got.text}`);
        assert.equal(got.headers['docker-content-digest'], sha256(image!));
      }
      const layer = await api(`/v2/team/app/blobs/${sha256(layers[0]!)}`);
      assert.equal(layer.status, 200);
      assert.equal(sha256(layer.body), sha256(layers[0]!));
      assert.equal((await api(`/v2/other/tool/blobs/${sha256(damaged)}`)).status, 404, 'the refused blob is not served');
      const tags = await api('/v2/team/app/tags/list');
      assert.deepEqual((tags.json() as { tags: string[] }).tags, ['stable', 'v1', 'v2']);
    } finally {
      await copy.stop();
    }
  });

  test('refuses a source that is no registry, and a target that is the source', async () => {
    const empty = await tempDir('minato-migrate-empty-');
    dirs.push(empty);
    const none = await run(process.execPath, [CLI, 'migrate', '--from-data', empty, '--data', empty]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /holds no embedded registry/);
  });
});
