// A full disk (a 16 MiB tmpfs as the data directory): pushes fail with 507 and a message that
// says so, the failed request's bytes are given back, a chunked upload resumes where it was, a
// manifest push (a database write) is refused the same way, and everything stored before is
// still served. Needs root to mount the tmpfs; skipped if not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { client } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { startTestRegistry, tempDir } from '../helpers/registry.js';

function tryMountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

test('a full disk: 507 with a clear message, nothing of the failed request kept, uploads resume', async (t) => {
  const mountpoint = await tempDir('minato-full-');
  if (!tryMountTmpfs(mountpoint, '16m')) {
    await rm(mountpoint, { recursive: true, force: true });
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  const data = path.join(mountpoint, 'data');
  const reg = await startTestRegistry({ data });
  try {
    const api = client(reg.url, reg.basic);
    const repo = 'full/app';
    const kept = randomBytes(4 << 20);
    assert.equal((await api(`/v2/${repo}/blobs/uploads/?digest=${sha256(kept)}`, { method: 'POST', body: kept })).status, 201);
    const free = freeBytes(mountpoint);

    // A monolithic push larger than the space left.
    const tooBig = randomBytes(24 << 20);
    const mono = await api(`/v2/${repo}/blobs/uploads/?digest=${sha256(tooBig)}`, { method: 'POST', body: tooBig });
    assert.equal(mono.status, 507, mono.text);
    assert.match(mono.json().errors[0].message, /out of storage space/);
    assert.equal((await api(`/v2/${repo}/blobs/${sha256(tooBig)}`, { method: 'HEAD' })).status, 404);
    assert.deepEqual(readdirSync(path.join(data, 'uploads')), [], 'the failed monolithic upload is gone');
    assert.ok(freeBytes(mountpoint) >= free - (64 << 10), 'its space is free again');

    // A chunked push: the first chunk fits, the second does not, then a smaller one does.
    const first = randomBytes(2 << 20);
    const start = await api(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.location!;
    const patch1 = await api(location, { method: 'PATCH', body: first, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(patch1.status, 202, patch1.text);
    const patch2 = await api(patch1.headers.location!, { method: 'PATCH', body: tooBig, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(patch2.status, 507, patch2.text);
    const status = await api(patch1.headers.location!);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, `0-${first.length - 1}`, 'the upload resumes after its last good chunk');
    const last = randomBytes(1 << 20);
    const patch3 = await api(patch1.headers.location!, { method: 'PATCH', body: last, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(patch3.status, 202, patch3.text);
    const whole = Buffer.concat([first, last]);
    const put = await api(`${patch3.headers.location!}${patch3.headers.location!.includes('?') ? '&' : '?'}digest=${sha256(whole)}`, { method: 'PUT' });
    assert.equal(put.status, 201, put.text);
    assert.equal(sha256((await api(`/v2/${repo}/blobs/${sha256(whole)}`)).body), sha256(whole));

    // With the disk completely full, a manifest push (a database write) is refused the same way,
    // and works again once space is freed. The manifest carries 1 MiB of annotations: a small one
    // could be written into the space the database's WAL already has (it is reused after each
    // checkpoint), and would rightly be stored.
    const config = Buffer.from('{}');
    assert.equal((await api(`/v2/${repo}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config })).status, 201);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(kept), size: kept.length }],
      annotations: { padding: randomBytes(512 << 10).toString('hex') },
    });
    const filler = path.join(mountpoint, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(freeBytes(mountpoint) + (1 << 20)));
    } catch {
      // ENOSPC once the disk is full: what was written stays.
    }
    const putManifest = () => api(`/v2/${repo}/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    const gauge = /^minato_storage_free_bytes (\d+)$/m.exec((await api('/metrics')).text)?.[1];
    assert.ok(Number(gauge) < 64 << 10, `minato_storage_free_bytes ${gauge} on a full disk`);
    const refused = await putManifest();
    assert.equal(refused.status, 507, refused.text);
    assert.equal((await api(`/v2/${repo}/manifests/v1`, { method: 'HEAD' })).status, 404);
    await rm(filler);
    assert.equal((await putManifest()).status, 201);

    // What was stored before the disk filled up is served unchanged.
    assert.equal(sha256((await api(`/v2/${repo}/blobs/${sha256(kept)}`)).body), sha256(kept));
  } finally {
    try {
      await reg.close();
    } finally {
      execFileSync('umount', [mountpoint]);
      await rm(mountpoint, { recursive: true, force: true });
    }
  }
});
