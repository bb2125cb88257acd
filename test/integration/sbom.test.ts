// SBOMs through a whole registry: generated from the stored inventory (a small in-memory
// Inventories, the contract the scan reports' owner implements) and attached as an OCI 1.1
// referrer that `/v2/<name>/referrers/<digest>` lists with its artifactType (filtered too), whose
// layer holds the document; read back through the API; an artifact without an inventory gets a
// 404 saying to scan it; a guest (sbom:read only) reads but cannot generate. The quota counts it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { client, request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import type { Inventory } from '../../src/scan/inventory.js';

let reg: TestRegistry;
const inventories = new Map<string, Inventory>();

const api = (path: string, method = 'GET', json?: unknown, authorization = reg.basic) =>
  request(`${reg.url}/api/v2.0${path}`, { method, headers: { Authorization: authorization, ...(json ? { 'Content-Type': 'application/json' } : {}) }, body: json ? JSON.stringify(json) : undefined });

before(async () => {
  reg = await startTestRegistry({}, { scan: { summaries: { get: async () => undefined }, inventories: { get: async (d) => inventories.get(d) } } });
});
after(() => reg.close());

test('CycloneDX and SPDX SBOMs attach as referrers the referrers API lists, and read back', async () => {
  const image = await pushImage(reg.url, reg.basic, 'sbomproj/app', 'v1');
  inventories.set(image.digest, {
    packages: [{ ecosystem: 'Alpine:v3.19', name: 'musl', version: '1.2.4-r2', purl: 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64', licenses: ['MIT'], layerDigest: image.digest, path: 'lib/apk/db/installed' }],
    warnings: [],
  });
  const usedBefore = (await api('/quotas')).json().find((q: { ref: { name: string } }) => q.ref.name === 'sbomproj').used.storage as number;

  const made = await api('/projects/sbomproj/repositories/app/artifacts/v1/sbom?format=cyclonedx', 'POST');
  assert.equal(made.status, 201, made.text);
  const { digest, subject, media_type } = made.json();
  assert.equal(subject, image.digest);
  assert.equal(media_type, 'application/vnd.cyclonedx+json');
  const spdx = await api(`/projects/sbomproj/repositories/app/artifacts/${image.digest}/sbom?format=spdx`, 'POST');
  assert.equal(spdx.status, 201, spdx.text);

  const v2 = client(reg.url, reg.basic);
  const referrers = (await v2(`/v2/sbomproj/app/referrers/${image.digest}`)).json();
  const types = referrers.manifests.map((m: { artifactType: string }) => m.artifactType).sort();
  assert.deepEqual(types, ['application/spdx+json', 'application/vnd.cyclonedx+json']);
  const filtered = (await v2(`/v2/sbomproj/app/referrers/${image.digest}?artifactType=${encodeURIComponent('application/vnd.cyclonedx+json')}`)).json();
  assert.deepEqual(filtered.manifests.map((m: { digest: string }) => m.digest), [digest]);

  // The referrer is a real OCI manifest whose one layer is the document.
  const manifest = (await v2(`/v2/sbomproj/app/manifests/${digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
  assert.equal(manifest.subject.digest, image.digest);
  assert.equal(manifest.artifactType, 'application/vnd.cyclonedx+json');
  assert.equal(manifest.layers.length, 1);
  const layer = await v2(`/v2/sbomproj/app/blobs/${manifest.layers[0].digest}`);
  const doc = layer.json();
  assert.equal(doc.bomFormat, 'CycloneDX');
  assert.equal(doc.components[0].purl, 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64');

  const read = await api('/projects/sbomproj/repositories/app/artifacts/v1/sbom?format=spdx');
  assert.equal(read.status, 200, read.text);
  assert.equal(read.json().spdxVersion, 'SPDX-2.3');
  assert.equal(read.json().packages[1].externalRefs[0].referenceLocator, 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64');

  const usedAfter = (await api('/quotas')).json().find((q: { ref: { name: string } }) => q.ref.name === 'sbomproj').used.storage as number;
  assert.ok(usedAfter > usedBefore, `the SBOMs count in the quota (${usedBefore} -> ${usedAfter})`);
});

test('no inventory: 404 saying to scan; unknown artifact 404; a guest reads but cannot generate', async () => {
  await pushImage(reg.url, reg.basic, 'sbomproj/bare', 'v1');
  const none = await api('/projects/sbomproj/repositories/bare/artifacts/v1/sbom?format=cyclonedx', 'POST');
  assert.equal(none.status, 404, none.text);
  assert.match(none.text, /scan it/);
  assert.equal((await api('/projects/sbomproj/repositories/bare/artifacts/v9/sbom', 'POST')).status, 404);
  assert.equal((await api('/projects/sbomproj/repositories/bare/artifacts/v1/sbom?format=xml', 'POST')).status, 400);
  const noSbom = await api('/projects/sbomproj/repositories/bare/artifacts/v1/sbom');
  assert.equal(noSbom.status, 404);
  assert.match(noSbom.text, /generate one/);

  assert.equal((await api('/users', 'POST', { username: 'guest1', password: 'Guest-pass-123', email: 'g@example.com', realname: 'G' })).status, 201);
  assert.equal((await api('/projects/sbomproj/members', 'POST', { role_id: 3, member_user: { username: 'guest1' } })).status, 201);
  const guest = `Basic ${Buffer.from('guest1:Guest-pass-123').toString('base64')}`;
  assert.equal((await api('/projects/sbomproj/repositories/app/artifacts/v1/sbom', 'GET', undefined, guest)).status, 200);
  assert.equal((await api('/projects/sbomproj/repositories/app/artifacts/v1/sbom', 'POST', undefined, guest)).status, 403);
});
