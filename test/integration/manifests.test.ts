// Manifests, tags, catalog, referrers and names over HTTP against a real server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assertOciError, client } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

let reg: TestRegistry;
let api: ReturnType<typeof client>;

before(async () => {
  reg = await startTestRegistry();
  api = client(reg.url, reg.basic);
});
after(() => reg.close());

async function pushBlob(name: string, blob: Buffer): Promise<void> {
  const res = await api(`/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
  assert.equal(res.status, 201, res.text);
}

/** Pushes a config + one layer and returns the manifest bytes (not yet pushed). */
async function prepareImage(name: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(8).toString('hex') }));
  const layer = randomBytes(2000);
  await pushBlob(name, config);
  await pushBlob(name, layer);
  return imageManifest(config, [layer], extra);
}

async function putManifest(name: string, ref: string, body: Buffer, type = OCI_MANIFEST) {
  return api(`/v2/${name}/manifests/${ref}`, { method: 'PUT', body, headers: { 'Content-Type': type } });
}

describe('manifests', () => {
  test('push by tag, pull by tag and digest with exact headers', async () => {
    const m = await prepareImage('man/basic');
    const put = await putManifest('man/basic', 'v1', m);
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers['docker-content-digest'], sha256(m));
    assert.equal(put.headers.location, `/v2/man/basic/manifests/${sha256(m)}`);
    for (const ref of ['v1', sha256(m)]) {
      const get = await api(`/v2/man/basic/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(get.status, 200);
      assert.equal(get.headers['content-type'], OCI_MANIFEST);
      assert.equal(get.headers['content-length'], String(m.length));
      assert.equal(get.headers['docker-content-digest'], sha256(m));
      assert.deepEqual(get.body, m);
      const head = await api(`/v2/man/basic/manifests/${ref}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(m.length));
      assert.equal(head.headers['content-type'], OCI_MANIFEST);
    }
  });

  test('push by digest must match the content', async () => {
    const m = await prepareImage('man/bydigest');
    const wrong = await putManifest('man/bydigest', sha256('other'), m);
    assertOciError(wrong, 400, 'DIGEST_INVALID');
    const ok = await putManifest('man/bydigest', sha256(m), m);
    assert.equal(ok.status, 201);
  });

  test('a manifest referencing a missing blob is MANIFEST_BLOB_UNKNOWN', async () => {
    const config = Buffer.from('{}');
    await pushBlob('man/missing', config);
    const m = imageManifest(config, [randomBytes(10)]);
    const res = await putManifest('man/missing', 'v1', m);
    assertOciError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await api('/v2/man/missing/manifests/v1')).status, 404);
  });

  test('non-distributable layers with urls need not be pushed (Windows base layers)', async () => {
    const config = Buffer.from('{"os":"windows"}');
    await pushBlob('man/foreign', config);
    const foreign = (mediaType: string, urls?: unknown) => ({ mediaType, digest: sha256(`foreign ${mediaType}`), size: 1234, ...(urls ? { urls } : {}) });
    const manifest = (...layers: object[]) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers }));

    const url = ['https://mcr.example/v2/windows/blobs/x'];
    const ok = manifest(foreign('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', url), foreign('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', url));
    assert.equal((await putManifest('man/foreign', 'v1', ok)).status, 201);
    assert.deepEqual((await api('/v2/man/foreign/manifests/v1')).body, ok);

    // Without urls it is a layer like any other, and must be in the repository.
    const noUrls = await putManifest('man/foreign', 'v2', manifest(foreign('application/vnd.oci.image.layer.nondistributable.v1.tar')));
    assertOciError(noUrls, 400, 'MANIFEST_BLOB_UNKNOWN');
    // Only plain http(s) URLs without a fragment are accepted.
    for (const bad of [[], ['file:///etc/passwd'], ['https://x/#frag'], [42]]) {
      const res = await putManifest('man/foreign', 'v3', manifest(foreign('application/vnd.oci.image.layer.nondistributable.v1.tar', bad)));
      assertOciError(res, 400, 'MANIFEST_INVALID', JSON.stringify(bad));
    }
    // A regular layer's urls do not excuse its absence.
    const regular = await putManifest('man/foreign', 'v4', manifest(foreign('application/vnd.oci.image.layer.v1.tar+gzip', url)));
    assertOciError(regular, 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('malformed manifests are MANIFEST_INVALID', async () => {
    const cases: Array<[string | Buffer, string]> = [
      ['{not json', OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 1 }), OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: 'sha256:zz', size: 1, mediaType: 'x' }, layers: [] }), OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }), OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-unknown' }), 'application/x-unknown'],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_MANIFEST],
    ];
    for (const [body, type] of cases) {
      const res = await putManifest('man/invalid', 'v1', Buffer.from(body), type);
      assertOciError(res, 400, 'MANIFEST_INVALID', String(body));
    }
  });

  test('every field the specs define must have its type: MANIFEST_INVALID naming the field, nothing stored', async () => {
    const m = JSON.parse((await prepareImage('man/types')).toString());
    const layer = m.layers[0];
    const index = (entry: Record<string, unknown>) => ({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('x'), size: 1, ...entry }] });
    const cases: Array<[string, unknown, string]> = [
      ['mediaType', { ...m, mediaType: 5 }, OCI_MANIFEST],
      ['schemaVersion', { ...m, schemaVersion: '2' }, OCI_MANIFEST],
      ['artifactType', { ...m, artifactType: ['a'] }, OCI_MANIFEST],
      ['annotations', { ...m, annotations: { a: 1 } }, OCI_MANIFEST],
      ['annotations', { ...m, annotations: ['a'] }, OCI_MANIFEST],
      ['config.mediaType', { ...m, config: { ...m.config, mediaType: 7 } }, OCI_MANIFEST],
      ['config.size', { ...m, config: { ...m.config, size: '12' } }, OCI_MANIFEST],
      ['config.size', { ...m, config: { ...m.config, size: 1.5 } }, OCI_MANIFEST],
      ['config.annotations', { ...m, config: { ...m.config, annotations: { a: true } } }, OCI_MANIFEST],
      ['config.data', { ...m, config: { ...m.config, data: 12 } }, OCI_MANIFEST],
      ['config.data', { ...m, config: { ...m.config, data: 'not base64!' } }, OCI_MANIFEST],
      ['layers[0].urls', { ...m, layers: [{ ...layer, urls: 'http://example.com/l' }] }, OCI_MANIFEST],
      ['layers[0].urls[0]', { ...m, layers: [{ ...layer, urls: [5] }] }, OCI_MANIFEST],
      ['layers[0].artifactType', { ...m, layers: [{ ...layer, artifactType: {} }] }, OCI_MANIFEST],
      ['layers', { ...m, layers: {} }, OCI_MANIFEST],
      ['layers[0]', { ...m, layers: ['sha256:abc'] }, OCI_MANIFEST],
      ['subject', { ...m, subject: 'sha256:abc' }, OCI_MANIFEST],
      ['subject.size', { ...m, subject: { mediaType: OCI_MANIFEST, digest: sha256('s'), size: -1 } }, OCI_MANIFEST],
      ['manifests[0].platform', index({ platform: 'linux/amd64' }), OCI_INDEX],
      ['manifests[0].platform.architecture', index({ platform: { os: 'linux', architecture: 64 } }), OCI_INDEX],
      ['manifests[0].platform.os', index({ platform: { architecture: 'amd64' } }), OCI_INDEX],
      ['manifests[0].platform.os.features', index({ platform: { os: 'linux', architecture: 'amd64', 'os.features': 'x' } }), OCI_INDEX],
      ['manifests[0].platform.variant', index({ platform: { os: 'linux', architecture: 'arm', variant: 7 } }), OCI_INDEX],
      ['manifests[0].platform.features[0]', index({ platform: { os: 'linux', architecture: 'amd64', features: [1] } }), OCI_INDEX],
      ['manifests', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: null }, OCI_INDEX],
    ];
    for (const [field, doc, type] of cases) {
      const res = await putManifest('man/types', 'bad', Buffer.from(JSON.stringify(doc)), type);
      assertOciError(res, 400, 'MANIFEST_INVALID', field);
      assert.ok(res.json().errors[0].message.startsWith(`${field} `), `${field}: ${res.json().errors[0].message}`);
    }
    assertOciError(await api('/v2/man/types/manifests/bad'), 404, 'MANIFEST_UNKNOWN');
    // Well-typed optional fields are accepted.
    const good = { ...m, annotations: { a: 'b' }, config: { ...m.config, data: Buffer.from('{}').toString('base64'), annotations: { c: 'd' } }, layers: [{ ...layer, urls: ['https://example.com/l'] }] };
    assert.equal((await putManifest('man/types', 'good', Buffer.from(JSON.stringify(good)))).status, 201);
  });

  test('a descriptor whose size differs from the stored blob or manifest is refused, naming it; nothing stored', async () => {
    const m = JSON.parse((await prepareImage('man/size')).toString());
    const wrongLayer = { ...m, layers: [{ ...m.layers[0], size: m.layers[0].size + 1 }] };
    const res = await putManifest('man/size', 'v1', Buffer.from(JSON.stringify(wrongLayer)));
    assertOciError(res, 400, 'MANIFEST_INVALID');
    assert.match(res.json().errors[0].message, /^layers\[0\]/);
    assert.match(res.json().errors[0].message, new RegExp(`${m.layers[0].size}`));
    const wrongConfig = { ...m, config: { ...m.config, size: 0 } };
    assert.match((await putManifest('man/size', 'v1', Buffer.from(JSON.stringify(wrongConfig)))).json().errors[0].message, /^config/);
    assertOciError(await api('/v2/man/size/manifests/v1'), 404, 'MANIFEST_UNKNOWN');

    const child = Buffer.from(JSON.stringify(m));
    assert.equal((await putManifest('man/size', sha256(child), child)).status, 201);
    const index = (size: number) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(child), size }] }));
    const badIndex = await putManifest('man/size', 'multi', index(child.length - 1), OCI_INDEX);
    assertOciError(badIndex, 400, 'MANIFEST_INVALID');
    assert.match(badIndex.json().errors[0].message, /^manifests\[0\]/);
    assertOciError(await api('/v2/man/size/manifests/multi'), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await putManifest('man/size', 'multi', index(child.length), OCI_INDEX)).status, 201);
  });

  test('a manifest above the size limit is 413', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const res = await putManifest('man/big', 'v1', big);
    assertOciError(res, 413, 'SIZE_INVALID');
  });

  test('an index needs its child manifests; Docker media types work', async () => {
    const child = await prepareImage('man/index');
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(child), size: child.length, platform: { os: 'linux', architecture: 'amd64' } }] }),
    );
    const early = await putManifest('man/index', 'multi', index, OCI_INDEX);
    assertOciError(early, 400, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await putManifest('man/index', sha256(child), child)).status, 201);
    assert.equal((await putManifest('man/index', 'multi', index, OCI_INDEX)).status, 201);
    const get = await api('/v2/man/index/manifests/multi');
    assert.equal(get.headers['content-type'], OCI_INDEX);

    const docker = JSON.parse((await prepareImage('man/index')).toString());
    docker.mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
    docker.config.mediaType = 'application/vnd.docker.container.image.v1+json';
    const body = Buffer.from(JSON.stringify(docker));
    const put = await putManifest('man/index', 'docker', body, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(put.status, 201, put.text);
    const got = await api('/v2/man/index/manifests/docker');
    assert.equal(got.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json');
  });

  test('unknown manifests and bad references', async () => {
    const unknown = await api('/v2/man/basic/manifests/nope');
    assertOciError(unknown, 404, 'MANIFEST_UNKNOWN');
    // A pull of a name that cannot be a tag finds nothing (404, as the conformance suite checks);
    // a push to it is told why it is refused.
    for (const method of ['GET', 'HEAD']) assert.equal((await api('/v2/man/basic/manifests/-bad', { method })).status, 404);
    const pushBadTag = await putManifest('man/basic', '-bad', await prepareImage('man/basic'));
    assertOciError(pushBadTag, 400, 'TAG_INVALID');
    const badDigest = await api('/v2/man/basic/manifests/sha256:abc');
    assertOciError(badDigest, 400, 'DIGEST_INVALID');
  });

  test('delete by tag removes the tag only; by digest removes manifest and its tags', async () => {
    const m = await prepareImage('man/del');
    await putManifest('man/del', 'a', m);
    await putManifest('man/del', 'b', m);
    assert.equal((await api('/v2/man/del/manifests/a', { method: 'DELETE' })).status, 202);
    assert.equal((await api('/v2/man/del/manifests/a')).status, 404);
    assert.equal((await api('/v2/man/del/manifests/b')).status, 200);
    assert.equal((await api(`/v2/man/del/manifests/${sha256(m)}`, { method: 'DELETE' })).status, 202);
    assert.equal((await api('/v2/man/del/manifests/b')).status, 404);
    assert.equal((await api(`/v2/man/del/manifests/${sha256(m)}`, { method: 'HEAD' })).status, 404);
    const again = await api(`/v2/man/del/manifests/${sha256(m)}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  });
});

describe('tags and catalog', () => {
  const tags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, '0')}`).concat(['Latest', 'v1.0', 'v1_0']);
  before(async () => {
    const m = await prepareImage('list/tags');
    for (const t of tags) assert.equal((await putManifest('list/tags', t, m)).status, 201);
  });

  test('tags are sorted and paginated with n, last and Link', async () => {
    const all: string[] = [];
    let path: string | undefined = '/v2/list/tags/tags/list?n=10';
    let pages = 0;
    while (path) {
      const res = await api(path);
      assert.equal(res.status, 200);
      const body = res.json();
      assert.equal(body.name, 'list/tags');
      assert.ok(body.tags.length <= 10);
      all.push(...body.tags);
      pages++;
      const link = res.headers.link as string | undefined;
      path = link ? /<([^>]+)>;\s*rel="next"/.exec(link)![1] : undefined;
    }
    assert.equal(pages, 3);
    assert.deepEqual(all, [...tags].sort());
    const tail = (await api('/v2/list/tags/tags/list?n=5&last=t20')).json();
    assert.deepEqual(tail.tags, ['t21', 't22', 't23', 't24', 'v1.0']);
    const none = (await api('/v2/list/tags/tags/list?n=0')).json();
    assert.deepEqual(none.tags, []);
    const bad = await api('/v2/list/tags/tags/list?n=-1');
    assertOciError(bad, 400, 'PAGINATION_NUMBER_INVALID');
  });

  test('a listing follows every tag change: new tag, deleted tag, deleted manifest', async () => {
    const list = async () => (await api('/v2/list/churn/tags/list?n=100')).json().tags as string[];
    const m1 = await prepareImage('list/churn');
    for (const t of ['b', 'c']) assert.equal((await putManifest('list/churn', t, m1)).status, 201);
    assert.deepEqual(await list(), ['b', 'c']);
    assert.equal((await putManifest('list/churn', 'a', m1)).status, 201);
    assert.deepEqual(await list(), ['a', 'b', 'c']);
    // Pushing an existing tag again does not list it twice; a new one lands in order.
    assert.equal((await putManifest('list/churn', 'a', m1)).status, 201);
    assert.equal((await putManifest('list/churn', 'bb', m1)).status, 201);
    assert.deepEqual(await list(), ['a', 'b', 'bb', 'c']);
    assert.equal((await api('/v2/list/churn/manifests/bb', { method: 'DELETE' })).status, 202);
    assert.equal((await api('/v2/list/churn/manifests/b', { method: 'DELETE' })).status, 202);
    assert.deepEqual(await list(), ['a', 'c']);
    const m2 = await prepareImage('list/churn');
    assert.equal((await putManifest('list/churn', 'z', m2)).status, 201);
    assert.deepEqual(await list(), ['a', 'c', 'z']);
    assert.equal((await api(`/v2/list/churn/manifests/${sha256(m1)}`, { method: 'DELETE' })).status, 202);
    assert.deepEqual(await list(), ['z']);
  });

  test('tags of an unknown repository is NAME_UNKNOWN', async () => {
    const res = await api('/v2/list/none/tags/list');
    assertOciError(res, 404, 'NAME_UNKNOWN');
  });

  test('the catalog is sorted and paginated', async () => {
    for (const r of ['cat/b', 'cat/a', 'cat/c/d']) await prepareImage(r);
    const first = await api('/v2/_catalog?n=2');
    const body = first.json();
    assert.equal(body.repositories.length, 2);
    assert.match(first.headers.link as string, /^<\/v2\/_catalog\?n=2&last=[^>]+>; rel="next"$/);
    const everything = (await api('/v2/_catalog')).json().repositories as string[];
    assert.deepEqual(everything, [...everything].sort());
    assert.ok(['cat/a', 'cat/b', 'cat/c/d'].every((r) => everything.includes(r)));
    const after = (await api('/v2/_catalog?last=cat/b&n=1')).json().repositories;
    assert.deepEqual(after, ['cat/c/d']);
  });
});

describe('referrers', () => {
  test('artifacts with a subject are listed, filtered by artifactType', async () => {
    const subject = await prepareImage('ref/app');
    assert.equal((await putManifest('ref/app', 'v1', subject)).status, 201);
    const emptyConfig = Buffer.from('{}');
    await pushBlob('ref/app', emptyConfig);
    const subjectDesc = { mediaType: OCI_MANIFEST, digest: sha256(subject), size: subject.length };
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(emptyConfig), size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(emptyConfig), size: 2 }],
        subject: subjectDesc,
        annotations: { 'org.example.kind': 'sig' },
      }),
    );
    const sbomConfig = Buffer.from('{"sbom":true}');
    await pushBlob('ref/app', sbomConfig);
    const sbom = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.example.sbom', digest: sha256(sbomConfig), size: sbomConfig.length },
        layers: [],
        subject: subjectDesc,
      }),
    );
    const put = await putManifest('ref/app', sha256(sig), sig);
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers['oci-subject'], sha256(subject));
    assert.equal((await putManifest('ref/app', sha256(sbom), sbom)).status, 201);

    const all = await api(`/v2/ref/app/referrers/${sha256(subject)}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers['content-type'], OCI_INDEX);
    const index = all.json();
    assert.equal(index.mediaType, OCI_INDEX);
    const byDigest = Object.fromEntries(index.manifests.map((d: any) => [d.digest, d]));
    assert.deepEqual(byDigest[sha256(sig)], {
      mediaType: OCI_MANIFEST,
      digest: sha256(sig),
      size: sig.length,
      artifactType: 'application/vnd.example.signature',
      annotations: { 'org.example.kind': 'sig' },
    });
    assert.equal(byDigest[sha256(sbom)].artifactType, 'application/vnd.example.sbom');
    assert.equal(all.headers['oci-filters-applied'], undefined);

    const filtered = await api(`/v2/ref/app/referrers/${sha256(subject)}?artifactType=application/vnd.example.sbom`);
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(filtered.json().manifests.map((d: any) => d.digest), [sha256(sbom)]);
  });

  test('an unknown digest gives an empty index; a bad digest 400', async () => {
    const res = await api(`/v2/ref/app/referrers/${sha256('unknown')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json().manifests, []);
    assert.equal((await api('/v2/ref/app/referrers/sha256:bad')).status, 400);
  });
});

describe('names and endpoints', () => {
  test('invalid repository names are NAME_INVALID', async () => {
    for (const name of ['UPPER/case', 'a//b', 'a/../b', '..%2Fx', 'a/-b', 'x'.repeat(256), '%2e%2e/x']) {
      const res = await api(`/v2/${name}/tags/list`);
      assertOciError(res, 400, 'NAME_INVALID', name);
    }
    const nested = await prepareImage('a/b/c/d');
    assert.equal((await putManifest('a/b/c/d', 'v1', nested)).status, 201);
    assert.equal((await api('/v2/a/b/c/d/manifests/v1')).status, 200);
  });

  test('the base endpoint and unknown routes', async () => {
    const base = await api('/v2/');
    assert.equal(base.status, 200);
    assert.equal(base.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal((await api('/v2/foo/bar')).status, 404);
    const wrongMethod = await api('/v2/x/tags/list', { method: 'DELETE' });
    assertOciError(wrongMethod, 405, 'UNSUPPORTED');
  });
});

describe('delete disabled', () => {
  test('DELETE is 405 UNSUPPORTED and nothing is removed', async () => {
    const r = await startTestRegistry({ registry: { deleteEnabled: false } });
    try {
      const c = client(r.url, r.basic);
      const blob = randomBytes(10);
      await c(`/v2/nodel/x/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
      const res = await c(`/v2/nodel/x/blobs/${sha256(blob)}`, { method: 'DELETE' });
      assertOciError(res, 405, 'UNSUPPORTED');
      assert.equal((await c(`/v2/nodel/x/blobs/${sha256(blob)}`, { method: 'HEAD' })).status, 200);
      assert.equal((await c('/v2/nodel/x/manifests/v1', { method: 'DELETE' })).status, 405);
    } finally {
      await r.close();
    }
  });
});
