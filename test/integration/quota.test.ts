// Project storage quotas through the real registry (embedded: SQLite and the filesystem): what a
// push costs (docs/operations.md, "Quotas"), refusals at blob commit and at manifest put that
// leave nothing behind, the warning and exceeded events, the operations of core/quotas.ts, and
// parallel pushes into a nearly full project. Limits are set in the `projects` table directly,
// as the project store will. Usage is read, and recounted from the references, through a second
// metadata store opened on the registry's database file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AccessControl } from '../../src/auth/access-control.js';
import type { Principal } from '../../src/auth/policy.js';
import { Quotas } from '../../src/core/quotas.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import type { Caller } from '../../src/policy/policy.js';
import { assertOciError, client, type Response } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const MANIFEST_TYPE = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };

let reg: TestRegistry;
let api: ReturnType<typeof client>;
let store: SqliteMetadataStore;

before(async () => {
  reg = await startTestRegistry({ events: { log: 'events.jsonl' } });
  api = client(reg.url, reg.basic);
  store = await SqliteMetadataStore.open(path.join(reg.dataDir, 'minato.db'));
});
after(async () => {
  await store.close();
  await reg.close();
});

/** Makes a project with a storage limit (bytes, -1 unlimited), as the project store will. */
async function project(name: string, limit: number): Promise<void> {
  const now = Date.now();
  await store.db.insertInto('projects').values({ name, storage_limit: limit, created_at: now, updated_at: now }).execute();
}

const used = async (name: string) => (await store.projectQuota(name)).used;

/** Usage equals a recount from the references (nothing to fix). */
async function assertExact(name: string): Promise<void> {
  const r = await store.transaction((tx) => tx.recountProjectUsage(name));
  assert.deepEqual([r.before, r.blobsFixed, r.manifestsFixed, r.linksFixed], [r.after, 0, 0, 0], `usage of ${name} drifted: ${JSON.stringify(r)}`);
}

function pushBlob(repository: string, blob: Buffer): Promise<Response> {
  return api(`/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: { 'Content-Length': blob.length } });
}

async function pushed(repository: string, blob: Buffer): Promise<void> {
  const res = await pushBlob(repository, blob);
  assert.equal(res.status, 201, res.text);
}

function putManifest(repository: string, reference: string, manifest: Buffer): Promise<Response> {
  return api(`/v2/${repository}/manifests/${reference}`, { method: 'PUT', body: manifest, headers: MANIFEST_TYPE });
}

/** Files anywhere under the data directory whose name contains the digest's hex. */
async function storedFiles(digest: string): Promise<string[]> {
  const hex = digest.slice('sha256:'.length);
  return (await readdir(reg.dataDir, { recursive: true })).filter((f) => f.includes(hex));
}

describe('refusals', () => {
  test('a blob over the quota is refused at commit with DENIED and a message naming the quota; nothing of it is kept', async () => {
    await project('small', 10_000);
    await pushed('small/app', randomBytes(6000));
    const blob = randomBytes(6000);
    const res = await pushBlob('small/app', blob);
    assertOciError(res, 403, 'DENIED');
    const message = res.json().errors[0].message as string;
    for (const part of ['project small', '9.8 KiB (10000 bytes) limit', 'uses 5.9 KiB (6000 bytes)', 'adds 5.9 KiB (6000 bytes)', 'ask a system administrator']) {
      assert.ok(message.includes(part), `"${part}" in: ${message}`);
    }
    assertOciError(await api(`/v2/small/app/blobs/${sha256(blob)}`), 404, 'BLOB_UNKNOWN');
    assert.deepEqual(await storedFiles(sha256(blob)), [], 'the refused blob is not in storage');

    // Chunked: the bytes arrive, the final PUT is refused, and the upload is discarded.
    const start = await api('/v2/small/app/blobs/uploads/', { method: 'POST' });
    const location = start.headers.location!;
    assert.equal((await api(location, { method: 'PATCH', body: blob, headers: { 'Content-Range': `0-${blob.length - 1}` } })).status, 202);
    assertOciError(await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT' }), 403, 'DENIED');
    assertOciError(await api(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await readdir(path.join(reg.dataDir, 'uploads')).catch(() => [])).length, 0, 'no upload data left');
    assert.equal(await used('small'), 6000);
    // What fits still goes in.
    await pushed('small/app', randomBytes(4000));
    assert.equal(await used('small'), 10_000);
    await assertExact('small');
  });

  test('a manifest over the quota is refused at put; neither it nor its tag is stored, and it goes in once the limit allows', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = randomBytes(3000);
    const manifest = imageManifest(config, [layer]);
    await project('tight', config.length + layer.length + manifest.length - 1);
    await pushed('tight/app', config);
    await pushed('tight/app', layer);
    const res = await putManifest('tight/app', 'v1', manifest);
    assertOciError(res, 403, 'DENIED');
    assert.match(res.json().errors[0].message, new RegExp(`this manifest .* adds ${manifest.length} bytes`));
    assertOciError(await api('/v2/tight/app/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    assertOciError(await api(`/v2/tight/app/manifests/${sha256(manifest)}`), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual((await api('/v2/tight/app/tags/list')).json().tags, []);
    assert.equal(await used('tight'), config.length + layer.length);

    await store.transaction((tx) => tx.setStorageLimit('tight', config.length + layer.length + manifest.length));
    assert.equal((await putManifest('tight/app', 'v1', manifest)).status, 201, 'a raised limit applies to the next push');
    assert.equal(await used('tight'), config.length + layer.length + manifest.length);
    await assertExact('tight');
  });

  test('a limit set on a project that was just pushed to applies to the very next push', async () => {
    await project('fresh', -1);
    await pushed('fresh/app', randomBytes(3000)); // its pushes now skip the early check for a few seconds
    await store.transaction((tx) => tx.setStorageLimit('fresh', 4000));
    const blob = randomBytes(2000);
    assertOciError(await pushBlob('fresh/app', blob), 403, 'DENIED', 'refused by the decision in the transaction');
    assertOciError(await api(`/v2/fresh/app/blobs/${sha256(blob)}`), 404, 'BLOB_UNKNOWN');
    assert.equal(await used('fresh'), 3000);
    await assertExact('fresh');
  });

  test('a mount across projects costs the blob and is refused when it does not fit', async () => {
    await project('src', -1);
    await project('full', 1000);
    const blob = randomBytes(2000);
    await pushed('src/app', blob);
    const res = await api(`/v2/full/app/blobs/uploads/?mount=${sha256(blob)}&from=src/app`, { method: 'POST' });
    assertOciError(res, 403, 'DENIED');
    assert.equal(await used('full'), 0);
    assertOciError(await api(`/v2/full/app/blobs/${sha256(blob)}`), 404, 'BLOB_UNKNOWN');
  });
});

describe('what a push costs', () => {
  test('a blob counts once per project; a mount inside the project, a retag and a re-push cost nothing', async () => {
    await project('team', -1);
    await project('other', -1);
    const config = Buffer.from('{"architecture":"arm64","os":"linux"}');
    const layer = randomBytes(5000);
    const manifest = imageManifest(config, [layer]);
    for (const blob of [config, layer]) await pushed('team/app', blob);
    assert.equal(await used('team'), config.length + layer.length);
    for (const blob of [config, layer]) await pushed('team/web', blob);
    assert.equal(await used('team'), config.length + layer.length, 'the same blobs in a second repository of the project count once');
    for (const blob of [config, layer]) await pushed('other/app', blob);
    assert.equal(await used('other'), config.length + layer.length, 'and once in every other project');

    assert.equal((await api(`/v2/team/mounted/blobs/uploads/?mount=${sha256(layer)}&from=team/app`, { method: 'POST' })).status, 201);
    assert.equal(await used('team'), config.length + layer.length, 'a mount inside the project costs nothing');
    await project('third', -1);
    assert.equal((await api(`/v2/third/app/blobs/uploads/?mount=${sha256(layer)}&from=team/app`, { method: 'POST' })).status, 201);
    assert.equal(await used('third'), layer.length, 'a mount into another project costs the blob there');

    assert.equal((await putManifest('team/app', 'v1', manifest)).status, 201);
    const withManifest = config.length + layer.length + manifest.length;
    assert.equal(await used('team'), withManifest);
    assert.equal((await putManifest('team/app', 'latest', manifest)).status, 201);
    assert.equal((await putManifest('team/web', 'v1', manifest)).status, 201);
    await pushed('team/app', layer);
    assert.equal(await used('team'), withManifest, 'retag, the same manifest in another repository and a re-pushed blob cost nothing');
    for (const name of ['team', 'other', 'third']) await assertExact(name);
  });

  test('deletes give the bytes back at once; failed and cancelled uploads never count', async () => {
    await project('del', -1);
    const config = Buffer.from('{"architecture":"s390x","os":"linux"}');
    const [shared, only] = [randomBytes(4000), randomBytes(7000)];
    const m1 = imageManifest(config, [shared, only]);
    const m2 = imageManifest(config, [shared]);
    for (const blob of [config, shared, only]) await pushed('del/app', blob);
    assert.equal((await putManifest('del/app', 'v1', m1)).status, 201);
    assert.equal((await putManifest('del/app', 'v2', m2)).status, 201);
    const all = config.length + shared.length + only.length + m1.length + m2.length;
    assert.equal(await used('del'), all);

    // Deleting m1 releases the blob only it referenced: its bytes come back, it is no longer served.
    assert.equal((await api(`/v2/del/app/manifests/${sha256(m1)}`, { method: 'DELETE' })).status, 202);
    assert.equal(await used('del'), all - m1.length - only.length);
    assertOciError(await api(`/v2/del/app/blobs/${sha256(only)}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await api(`/v2/del/app/blobs/${sha256(shared)}`, { method: 'HEAD' })).status, 200, 'm2 still references it');
    // A blob DELETE of the released blob is still accepted (as the OCI conformance suite expects).
    assert.equal((await api(`/v2/del/app/blobs/${sha256(only)}`, { method: 'DELETE' })).status, 202);
    assert.equal(await used('del'), all - m1.length - only.length);

    // Pushing the image again charges the released blob again.
    await pushed('del/app', only);
    assert.equal((await putManifest('del/app', 'v1', m1)).status, 201);
    assert.equal(await used('del'), all);

    // A blob DELETE gives its bytes back at once.
    const loose = randomBytes(2500);
    await pushed('del/app', loose);
    assert.equal(await used('del'), all + loose.length);
    assert.equal((await api(`/v2/del/app/blobs/${sha256(loose)}`, { method: 'DELETE' })).status, 202);
    assert.equal(await used('del'), all);

    // A wrong digest and a cancelled upload: nothing counted.
    const bytes = randomBytes(3000);
    assertOciError(await api(`/v2/del/app/blobs/uploads/?digest=${sha256('not these bytes')}`, { method: 'POST', body: bytes }), 400, 'DIGEST_INVALID');
    const start = await api('/v2/del/app/blobs/uploads/', { method: 'POST' });
    assert.equal((await api(start.headers.location!, { method: 'PATCH', body: bytes, headers: { 'Content-Range': `0-${bytes.length - 1}` } })).status, 202);
    assert.equal(await used('del'), all, 'bytes of an upload in progress do not count');
    assert.equal((await api(start.headers.location!, { method: 'DELETE' })).status, 204);
    assert.equal(await used('del'), all);
    await assertExact('del');
  });
});

type Logged = { type: string; project?: string; usedBytes?: number; limitBytes?: number; repository?: string; actor: { name?: string } };

async function events(type: string, projectName: string): Promise<Logged[]> {
  const text = await readFile(path.join(reg.dataDir, 'events.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Logged)
    .filter((e) => e.type === type && e.project === projectName);
}

describe('events', () => {
  test('quota.warning once per crossing of 85 %, quota.exceeded for a refused push', async () => {
    await project('warn', 10_000);
    await pushed('warn/app', randomBytes(5000));
    const second = randomBytes(4000);
    await pushed('warn/app', second); // 90 %: crosses
    await pushed('warn/app', randomBytes(500)); // 95 %: already above
    assertOciError(await pushBlob('warn/app', randomBytes(1000)), 403, 'DENIED');
    assert.equal((await api(`/v2/warn/app/blobs/${sha256(second)}`, { method: 'DELETE' })).status, 202); // 55 %
    await pushed('warn/app', randomBytes(3500)); // 90 %: crosses again
    const warnings = await waitFor(async () => {
      const seen = await events('quota.warning', 'warn');
      return seen.length >= 2 && (await events('quota.exceeded', 'warn')).length >= 1 ? seen : undefined;
    }, 10_000, 'the quota events in the event log');
    assert.deepEqual(
      warnings.map((e) => [e.usedBytes, e.limitBytes, e.repository, e.actor.name]),
      [
        [9000, 10_000, 'warn/app', 'admin'],
        [9000, 10_000, 'warn/app', 'admin'],
      ],
    );
    const exceeded = await events('quota.exceeded', 'warn');
    assert.deepEqual(exceeded.map((e) => [e.usedBytes, e.limitBytes, e.repository, e.actor.name]), [[9500, 10_000, 'warn/app', 'admin']]);
  });
});

describe('operations (core/quotas.ts)', () => {
  const admin: Principal = { user: 'root' };
  const member: Principal = { user: 'dev' };
  // A stand-in for the access control the project store brings: root is a system administrator,
  // dev a member who may read the quota of `ops`.
  const access: Pick<AccessControl, 'can' | 'canSystem'> = {
    can: (p, projectName, resource, action) => p.user === 'root' || (p.user === 'dev' && projectName === 'ops' && resource === 'quota' && action === 'read'),
    canSystem: (p) => p.user === 'root',
  };
  const as = (principal: Principal): Caller => ({ actor: { kind: 'user', name: principal.user! }, grant: { principal } });

  test('setLimit is for system administrators, takes sizes with units, and applies to the next push', async () => {
    const quotas = new Quotas({ meta: store, access });
    await project('ops', -1);
    await assert.rejects(quotas.setLimit(as(member), 'ops', '10KiB'), /only system administrators may set the storage quota of project ops/);
    await assert.rejects(quotas.setLimit(as(admin), 'ops', 'lots'), (err: Error & { code?: string }) => err.code === 'SIZE_INVALID');
    await assert.rejects(quotas.setLimit(as(admin), 'ops', 2 ** 51), (err: Error & { code?: string }) => err.code === 'SIZE_INVALID');
    await assert.rejects(quotas.setLimit(as(admin), 'nowhere', 1000), (err: Error & { code?: string }) => err.code === 'NAME_UNKNOWN');
    const set = await quotas.setLimit(as(admin), 'ops', '10KiB');
    assert.equal(set.limit, 10_240);
    assert.deepEqual(await quotas.usage(as(member), 'ops'), { project: 'ops', projectId: set.projectId, limit: 10_240, used: 0 });
    await assert.rejects(quotas.usage(as({ user: 'stranger' }), 'ops'), /not allowed to read the quota of project ops/);
    assertOciError(await pushBlob('ops/app', randomBytes(11_000)), 403, 'DENIED');
    await pushed('ops/app', randomBytes(9000));
    // Lowering the limit below usage is allowed; only pushes that add bytes are refused.
    await quotas.setLimit(as(admin), 'ops', 5000);
    assertOciError(await pushBlob('ops/app', randomBytes(10)), 403, 'DENIED');
    await quotas.setLimit(as(admin), 'ops', -1);
    await pushed('ops/app', randomBytes(20_000));
  });

  test('recount reports a drift injected into the kept usage, fixes it, and pushes are decided on the right usage again', async () => {
    const quotas = new Quotas({ meta: store, access });
    await project('drift', 10_000);
    const blobs = [randomBytes(3000), randomBytes(2000)];
    for (const blob of blobs) await pushed('drift/app', blob);
    // Damage: the kept total says 9000 and one counted blob is missing.
    await store.db.updateTable('project_usage').set({ used: 9000 }).where('project', '=', 'drift').execute();
    await store.db.deleteFrom('project_blobs').where('project', '=', 'drift').where('digest', '=', sha256(blobs[1]!)).execute();
    assertOciError(await pushBlob('drift/app', randomBytes(4000)), 403, 'DENIED', 'decided on the drifted usage');
    await assert.rejects(quotas.recount(as(member), 'drift'), /only system administrators may recount storage usage/);
    const [report] = await quotas.recount(as(admin), 'drift');
    assert.deepEqual(report, { project: 'drift', before: 9000, after: 5000, blobsFixed: 1, manifestsFixed: 0, linksFixed: 0 });
    await pushed('drift/app', randomBytes(4000));
    assert.equal(await used('drift'), 9000);
    // Over the whole registry: every project visited, nothing left to fix.
    const all = await quotas.recount(as(admin));
    assert.ok(all.some((r) => r.project === 'drift') && all.some((r) => r.project === 'library'));
    for (const r of all) assert.equal(r.after - r.before, 0, `${r.project} drifted`);
  });
});

describe('concurrency', () => {
  test('parallel pushes into a nearly full project never exceed its limit', async () => {
    await project('crowd', 100_000);
    await pushed('crowd/base', randomBytes(40_000));
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => pushBlob(`crowd/r${i % 4}`, randomBytes(5000))));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [...Array(12).fill(201), ...Array(12).fill(403)]);
    assert.equal(await used('crowd'), 100_000);
    await assertExact('crowd');
  });
});
