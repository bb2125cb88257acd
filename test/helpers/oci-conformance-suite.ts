// The checks of the OCI Distribution Spec conformance suite (opencontainers/distribution-spec,
// conformance/), ported to node:test: the Go suite cannot be built here (it needs the Go module
// proxy). Same requests, same accepted answers, in our own words, against a registry given by the
// caller (an in-process one, or a fleet behind a load balancer), with Basic credentials on every
// request (the suite runs authenticated). Sources, by file:
//   - setup.go (test data), 01_pull_test.go, 02_push_test.go, 03_discovery_test.go (tags and
//     referrers), 04_management_test.go: the four Ginkgo workflows, run in order on one repository
//     as the suite runs them (each workflow's teardown shapes the state the next one sees);
//   - 01_base_api_route_test.go, 05_referrers.go, 06_tags_list_test.go, 07_error_codes_test.go:
//     older split files, for what the classic ones lack;
//   - run.go / api.go: the newer conformance runner with its stricter checks (last block).
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { client, type Response } from './http.js';
import { sha256 } from './oci.js';

const MT = { manifest: 'application/vnd.oci.image.manifest.v1+json', index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json', layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json', octet: 'application/octet-stream' };
const ERROR_CODES = ['BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN', 'MANIFEST_UNVERIFIED', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'TAG_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED'];
const OCTET = { 'Content-Type': MT.octet };

/** The registry the suite runs against: its URL, the Authorization header of every request, and how to stop it. */
export interface ConformanceTarget {
  url: string;
  authorization: string;
  close(): Promise<void>;
}

let target: ConformanceTarget;
let api: ReturnType<typeof client>;
let lastRequest = '';

function call(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<Response> {
  lastRequest = `${method} ${path}`;
  return api(path, { method, headers, body });
}
/** The status must be one of `allowed`; '2xx' stands for any success, as the suite's ranges do. */
function expectStatus(res: Response, ...allowed: Array<number | '2xx'>): void {
  const ok = allowed.some((a) => (a === '2xx' ? res.status >= 200 && res.status < 300 : a === res.status));
  assert.ok(ok, `${lastRequest}: got ${res.status}, the suite accepts ${allowed.join(' | ')}\n${res.text.slice(0, 400)}`);
}
function expectErrorCode(res: Response, codes = ERROR_CODES): void {
  const errors = (JSON.parse(res.text || '{}') as { errors?: Array<{ code: string }> }).errors;
  assert.ok(errors && errors.length > 0, `${lastRequest}: no errors in ${res.text}`);
  assert.ok(codes.includes(errors[0]!.code), `${lastRequest}: error code ${errors[0]!.code} is not one of ${codes.join(', ')}`);
}
/** Docker-Content-Digest is optional, but must be right when sent. */
function digestHeaderIs(res: Response, digest: string): void {
  const h = res.headers['docker-content-digest'];
  if (h !== undefined) assert.equal(h, digest, `${lastRequest}: Docker-Content-Digest`);
}
const rel = (location: string | undefined): string => (location ?? '').replace(/^https?:\/\/[^/]+/, '');
const withQuery = (path: string, params: Record<string, string>): string => `${path}${path.includes('?') ? '&' : '?'}${new URLSearchParams(params)}`;
const gotab = (v: unknown): Buffer => Buffer.from(JSON.stringify(v, null, '\t')); // Go's MarshalIndent(v, "", "\t")
const desc = (mediaType: string, content: Buffer, extra: Record<string, unknown> = {}) => ({ mediaType, digest: sha256(content), size: content.length, ...extra });
const tagsOf = (res: Response): string[] => (JSON.parse(res.text) as { tags?: string[] }).tags ?? [];
const putManifest = (repo: string, ref: string, body: Buffer, type = MT.manifest) => call('PUT', `/v2/${repo}/manifests/${ref}`, { 'Content-Type': type }, body);

/** The setup steps' blob push: POST, then PUT the bytes to the Location with ?digest. */
async function seedBlob(repo: string, blob: Buffer): Promise<void> {
  const post = await call('POST', `/v2/${repo}/blobs/uploads/`);
  const put = await call('PUT', withQuery(rel(post.headers.location), { digest: sha256(blob) }), { ...OCTET, 'Content-Length': blob.length }, blob);
  expectStatus(put, '2xx');
}

// ---- setup.go: the test data ---------------------------------------------------------------
const NS = 'oci/conformance';
const CROSS = `conformance-${randomUUID()}`;
const dummyDigest = sha256('hello world');
const configs = Array.from({ length: 5 }, () =>
  gotab({ author: randomBytes(8).toString('hex'), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
const layer = gzipSync('you found the conformance layer\n');
const configDesc = (c: Buffer) => desc(MT.config, c, { data: c.toString('base64'), newUnspecifiedField: Buffer.from('hello world').toString('base64') });
const manifests = configs.map((c) => gotab({ schemaVersion: 2, mediaType: MT.manifest, config: configDesc(c), layers: [desc(MT.layer, layer, { newUnspecifiedField: null })] }));
const emptyLayerManifest = gotab({ schemaVersion: 2, config: configDesc(configs[1]!), layers: [] }); // no mediaType, as in the suite
const blobA = randomBytes(42);
let [blobB, chunk1, chunk2] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)];
function makeChunkedBlob(size: number): void {
  blobB = randomBytes(size);
  [chunk1, chunk2] = [blobB.subarray(0, Math.floor(size / 2) + 1), blobB.subarray(Math.floor(size / 2) + 1)];
}
makeChunkedBlob(42);
const range1 = () => `0-${chunk1.length - 1}`;
const range2 = () => `${chunk1.length}-${blobB.length - 1}`;

// Referrers: artifacts whose subject is manifests[4] (pushed after some of them) or manifests[3] (never pushed there).
const emptyJson = Buffer.from('{}');
const nuf = { newUnspecifiedField: null };
const emptyDesc = desc(MT.empty, emptyJson, nuf);
const [refBlobA, refBlobB] = [Buffer.from('conformance referrer payload A'), Buffer.from('conformance referrer payload B')];
const [TYPE_A, TYPE_B] = ['application/vnd.example.conformance.type-a', 'application/vnd.example.conformance.type-b'];
const NOTE = 'org.opencontainers.conformance.test';
const [m3, m4] = [manifests[3]!, manifests[4]!];
const artifact = (subject: Buffer, config: object, layers: object[], artifactType?: string, note?: string) =>
  gotab({ schemaVersion: 2, mediaType: MT.manifest, artifactType, config, layers, subject: desc(MT.manifest, subject, nuf), annotations: note ? { [NOTE]: note } : undefined });
const refs = {
  aConfig: artifact(m4, desc(TYPE_A, refBlobA, nuf), [emptyDesc], undefined, 'test config a'),
  aLayer: artifact(m4, emptyDesc, [desc(TYPE_A, refBlobA, nuf)], TYPE_A, 'test layer a'),
  bConfig: artifact(m4, desc(TYPE_B, refBlobB, nuf), [emptyDesc], undefined, 'test config b'),
  bLayer: artifact(m4, emptyDesc, [desc(TYPE_B, refBlobB, nuf)], TYPE_B, 'test layer b'),
  cLayer: artifact(m3, emptyDesc, [desc(TYPE_B, refBlobB, nuf)], TYPE_B),
};
const refIndex = gotab({ schemaVersion: 2, mediaType: MT.index, artifactType: 'application/vnd.example.conformance.index',
  manifests: [desc(MT.manifest, refs.aConfig, nuf), desc(MT.manifest, refs.aLayer, nuf)], subject: desc(MT.manifest, m4, nuf), annotations: { [NOTE]: 'test index' } });
const notes = new Map([...Object.values(refs), refIndex].map((b) => [sha256(b), (JSON.parse(b.toString()) as { annotations?: Record<string, string> }).annotations?.[NOTE]]));

/** Registers the suite's workflows against the registry `start` gives (started before, closed after). */
export function ociConformanceSuite(start: () => Promise<ConformanceTarget>): void {
  before(async () => {
    target = await start();
    api = client(target.url, target.authorization);
  });
  after(() => target.close());

  describe('OCI conformance: classic workflows (setup.go, 01..04_*_test.go)', () => {
    describe('Pull (01_pull_test.go)', () => {
      it('Setup: populate registry with config blobs, layer and manifests (tag and digest)', async () => {
        for (const blob of [configs[0]!, configs[1]!, layer]) await seedBlob(NS, blob);
        expectStatus(await putManifest(NS, 'tagtest0', manifests[0]!), '2xx');
        expectStatus(await putManifest(NS, sha256(manifests[1]!), manifests[1]!), '2xx');
      });
      it('Pull blobs: HEAD/GET nonexistent blob is 404, existing blob is 200', async () => {
        expectStatus(await call('HEAD', `/v2/${NS}/blobs/${dummyDigest}`), 404);
        const head = await call('HEAD', `/v2/${NS}/blobs/${sha256(configs[0]!)}`);
        expectStatus(head, 200);
        digestHeaderIs(head, sha256(configs[0]!));
        expectStatus(await call('GET', `/v2/${NS}/blobs/${dummyDigest}`), 404);
        expectStatus(await call('GET', `/v2/${NS}/blobs/${sha256(configs[0]!)}`), 200);
      });
      it('Pull manifests: HEAD request to nonexistent manifest (".INVALID_MANIFEST_NAME") should return 404', async () => {
        expectStatus(await call('HEAD', `/v2/${NS}/manifests/.INVALID_MANIFEST_NAME`), 404);
      });
      it('Pull manifests: GET nonexistent manifest (".INVALID_MANIFEST_NAME") should return 404', async () => {
        expectStatus(await call('GET', `/v2/${NS}/manifests/.INVALID_MANIFEST_NAME`), 404);
      });
      it('Pull manifests: HEAD/GET manifest[0], manifest[1] (digest) and tag yield 200', async () => {
        for (const [ref, digest] of [[sha256(manifests[0]!), sha256(manifests[0]!)], [sha256(manifests[1]!), sha256(manifests[1]!)], ['tagtest0', sha256(manifests[0]!)]]) {
          const head = await call('HEAD', `/v2/${NS}/manifests/${ref}`, { Accept: MT.manifest });
          expectStatus(head, 200);
          digestHeaderIs(head, digest!);
          expectStatus(await call('GET', `/v2/${NS}/manifests/${ref}`, { Accept: MT.manifest }), 200);
        }
      });
      it('Error codes: 400 response body should contain OCI-conforming JSON message (400 or 404)', async () => {
        // A GET with a body, as the suite sends it (Node would not frame it without Content-Length).
        const res = await call('GET', `/v2/${NS}/manifests/sha256:totallywrong`, { 'Content-Type': MT.manifest, 'Content-Length': 9 }, 'blablabla');
        expectStatus(res, 400, 404);
        if (res.status === 400) expectErrorCode(res);
      });
      it('Teardown: delete manifests (2xx or 405), then blobs (2xx, 404 or 405)', async () => {
        for (const m of [manifests[0]!, manifests[1]!]) expectStatus(await call('DELETE', `/v2/${NS}/manifests/${sha256(m)}`), '2xx', 405);
        for (const b of [configs[0]!, configs[1]!, layer]) expectStatus(await call('DELETE', `/v2/${NS}/blobs/${sha256(b)}`), '2xx', 404, 405);
      });
    });

    describe('Push (02_push_test.go)', () => {
      let last: Response;
      let prev: Response;
      let emptyLayerPushed = false;
      it('Blob Upload Streamed: PATCH with blob in body is 202; PUT with digest is 201 with Location', async () => {
        const post = await call('POST', `/v2/${NS}/blobs/uploads/`);
        assert.ok(post.headers.location, 'POST gives a Location');
        last = await call('PATCH', rel(post.headers.location), OCTET, blobA);
        expectStatus(last, 202);
        // The suite sets Content-Length to the blob size but sends no body; Go then writes "Content-Length: 0".
        const put = await call('PUT', withQuery(rel(last.headers.location), { digest: sha256(blobA) }), { ...OCTET, 'Content-Length': 0 });
        expectStatus(put, 201);
        assert.ok(put.headers.location);
      });
      it('Blob Upload Monolithic: POST with digest and blob is 201 or 202; GET follows from it', async () => {
        expectStatus(await call('GET', `/v2/${NS}/blobs/${dummyDigest}`), 404);
        const c1 = configs[1]!;
        const post = await call('POST', withQuery(`/v2/${NS}/blobs/uploads/`, { digest: sha256(c1) }), { ...OCTET, 'Content-Length': c1.length }, c1);
        assert.ok(post.headers.location);
        expectStatus(post, 201, 202);
        expectStatus(await call('GET', `/v2/${NS}/blobs/${sha256(c1)}`), post.status === 202 ? 404 : 200);
      });
      it('Blob Upload Monolithic: POST yields a session; PUT of config and layer blobs is 201; GET is 200', async () => {
        for (const blob of [configs[1]!, layer]) {
          const post = await call('POST', `/v2/${NS}/blobs/uploads/`);
          expectStatus(post, 202);
          const put = await call('PUT', withQuery(rel(post.headers.location), { digest: sha256(blob) }), { ...OCTET, 'Content-Length': blob.length }, blob);
          expectStatus(put, 201);
          assert.ok(put.headers.location);
          expectStatus(await call('GET', `/v2/${NS}/blobs/${sha256(blob)}`), 200);
        }
      });
      it('Blob Upload Chunked: out-of-order blob upload returns 416', async () => {
        const post = await call('POST', `/v2/${NS}/blobs/uploads/`, { 'Content-Length': 0 });
        assert.ok(post.headers.location);
        const min = Number(post.headers['oci-chunk-min-length'] ?? 0);
        if (min > chunk1.length) makeChunkedBlob(min * 2 - 2);
        const res = await call('PATCH', rel(post.headers.location), { ...OCTET, 'Content-Length': chunk2.length, 'Content-Range': range2() }, chunk2);
        expectStatus(res, 416);
      });
      it('Blob Upload Chunked: first chunk 202 with Range; retry is 416; GET of the upload is 204 with Range and Location', async () => {
        prev = await call('POST', `/v2/${NS}/blobs/uploads/`, { 'Content-Length': 0 });
        assert.ok(prev.headers.location);
        const first = await call('PATCH', rel(prev.headers.location), { ...OCTET, 'Content-Length': chunk1.length, 'Content-Range': range1() }, chunk1);
        expectStatus(first, 202);
        assert.equal(first.headers.range, range1());
        const retry = await call('PATCH', rel(prev.headers.location), { ...OCTET, 'Content-Length': chunk1.length, 'Content-Range': range1() }, chunk1);
        expectStatus(retry, 416);
        last = await call('GET', rel(prev.headers.location));
        expectStatus(last, 204);
        assert.ok(last.headers.location);
        assert.equal(last.headers.range, range1());
      });
      it('Blob Upload Chunked: second chunk 202 with Location; PUT with digest is 201', async () => {
        const second = await call('PATCH', rel(last.headers.location), { 'Content-Length': chunk2.length, 'Content-Range': range2(), ...OCTET }, chunk2);
        expectStatus(second, 202);
        assert.ok(second.headers.location);
        const put = await call('PUT', withQuery(rel(second.headers.location), { digest: sha256(blobB) }), { 'Content-Length': 0, ...OCTET });
        expectStatus(put, 201);
        assert.ok(put.headers.location);
      });
      it('Cross-Repository Blob Mount: without from, a missing blob yields a session (202 with Location)', async () => {
        const res = await call('POST', withQuery(`/v2/${CROSS}/blobs/uploads/`, { mount: dummyDigest }));
        expectStatus(res, 202);
        assert.ok(res.headers.location);
      });
      it("Cross-Repository Blob Mount: mounting another repository's blob is 201 (then GET 200) or 202 (a session)", async () => {
        last = await call('POST', withQuery(`/v2/${CROSS}/blobs/uploads/`, { mount: sha256(blobA), from: NS }));
        expectStatus(last, 201, 202);
        if (last.status === 201) {
          assert.equal(rel(last.headers.location), `/v2/${CROSS}/blobs/${sha256(blobA)}`);
          expectStatus(await call('GET', rel(last.headers.location)), 200);
        } else {
          assert.ok(rel(last.headers.location).startsWith(`/v2/${CROSS}/blobs/uploads/`));
        }
      });
      it('Cross-Repository Blob Mount: without from, with automatic mounting (minato has it), is 201', async (t) => {
        if (last.status !== 201) return t.skip('the mount with from was not 201');
        expectStatus(await call('POST', withQuery(`/v2/${CROSS}/blobs/uploads/`, { mount: sha256(blobA) })), 201);
      });
      it('Manifest Upload: GET nonexistent manifest should return 404', async () => {
        expectStatus(await call('GET', `/v2/${NS}/manifests/.INVALID_MANIFEST_NAME`), 404);
      });
      it('Manifest Upload: PUT should accept a manifest upload (tags test0..test3: 201 with Location)', async () => {
        for (let i = 0; i < 4; i++) {
          const res = await putManifest(NS, `test${i}`, manifests[1]!);
          expectStatus(res, 201);
          assert.ok(res.headers.location);
        }
      });
      it('Manifest Upload: registry should accept a manifest with no layers (a warning only in the suite)', async (t) => {
        const res = await putManifest(NS, 'emptylayer', emptyLayerManifest);
        emptyLayerPushed = res.status === 201;
        if (emptyLayerPushed) assert.ok(res.headers.location);
        else t.diagnostic(`WARNING: image manifest with no layers is not supported (${res.status})`);
        expectStatus(await call('GET', `/v2/${NS}/manifests/${sha256(manifests[1]!)}`, { Accept: MT.manifest }), 200);
      });
      it('Teardown: delete manifests (2xx or 405), then config and layer blobs (2xx, 404 or 405)', async () => {
        expectStatus(await call('DELETE', `/v2/${NS}/manifests/${sha256(manifests[1]!)}`), '2xx', 405);
        if (emptyLayerPushed) expectStatus(await call('DELETE', `/v2/${NS}/manifests/${sha256(emptyLayerManifest)}`), '2xx', 405);
        for (const b of [configs[1]!, layer]) expectStatus(await call('DELETE', `/v2/${NS}/blobs/${sha256(b)}`), '2xx', 404, 405);
      });
    });

    describe('Content Discovery (03_discovery_test.go)', () => {
      let numTags = 4;
      it('Setup: populate registry with config, layer and tags test0..test3', async () => {
        await seedBlob(NS, configs[2]!);
        await seedBlob(NS, layer);
        for (let i = 0; i < 4; i++) expectStatus(await putManifest(NS, `test${i}`, manifests[2]!), '2xx');
      });
      it('References setup: referrers pushed before and after their subject answer OCI-Subject', async () => {
        assert.equal(sha256(emptyJson), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
        const pushRef = async (body: Buffer, subject: Buffer, type = MT.manifest) => {
          const res = await putManifest(NS, sha256(body), body, type);
          expectStatus(res, '2xx');
          assert.equal(res.headers['oci-subject'], sha256(subject), `${lastRequest}: OCI-Subject`);
        };
        await seedBlob(NS, emptyJson);
        await seedBlob(NS, refBlobA);
        await pushRef(refs.aConfig, m4);
        await pushRef(refs.aLayer, m4);
        await pushRef(refIndex, m4, MT.index);
        await seedBlob(NS, configs[4]!);
        await seedBlob(NS, layer);
        expectStatus(await putManifest(NS, 'tagtest0', m4), '2xx');
        await seedBlob(NS, refBlobB);
        await pushRef(refs.bConfig, m4);
        await pushRef(refs.bLayer, m4);
        await pushRef(refs.cLayer, m3);
      });
      it('Listing tags: GET tags list is 200; `n` limits the count; `last` sets the start (200)', async () => {
        const all = await call('GET', `/v2/${NS}/tags/list`);
        expectStatus(all, 200);
        numTags = tagsOf(all).length;
        // 06_tags_list_test.go: the first listed tag resolves.
        expectStatus(await call('GET', `/v2/${NS}/manifests/${tagsOf(all)[0]}`, { Accept: MT.manifest }), 200);
        const half = Math.floor(numTags / 2);
        const page = await call('GET', `/v2/${NS}/tags/list?n=${half}`);
        expectStatus(page, 200);
        assert.equal(tagsOf(page).length, half);
        // The suite then only checks the status (its tag assertions re-read the first page).
        expectStatus(await call('GET', withQuery(`/v2/${NS}/tags/list`, { n: String(half), last: tagsOf(page)[half - 1]! })), 200);
      });
      const referrers = async (digest: string, query = '') => {
        const res = await call('GET', `/v2/${NS}/referrers/${digest}${query}`);
        expectStatus(res, 200);
        assert.equal(res.headers['content-type'], MT.index, `${lastRequest}: Content-Type`);
        return { res, list: (JSON.parse(res.text) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> }).manifests };
      };
      const annotationsMatch = (list: Array<{ digest: string; annotations?: Record<string, string> }>) => {
        for (const d of list) {
          assert.equal(Object.keys(d.annotations ?? {}).length, 1, `annotations of ${d.digest}`);
          assert.equal(d.annotations![NOTE], notes.get(d.digest));
        }
      };
      it('Listing referrers: nonexistent subject gives an empty 200 index', async () => {
        assert.equal((await referrers(dummyDigest)).list.length, 0);
      });
      it('Listing referrers: existing subject gives its 5 referrers with their annotations', async () => {
        const { list } = await referrers(sha256(m4));
        assert.equal(list.length, 5);
        assert.notEqual(list[0]!.digest, list[1]!.digest);
        annotationsMatch(list);
      });
      it('Listing referrers: artifactType filter gives 2 with OCI-Filters-Applied, else all 5 (a warning)', async (t) => {
        const { res, list } = await referrers(sha256(m4), `?artifactType=${encodeURIComponent(TYPE_A)}`);
        if (res.headers['oci-filters-applied']) {
          assert.equal(list.length, 2);
          assert.equal(res.headers['oci-filters-applied'], 'artifactType');
        } else {
          assert.equal(list.length, 5);
          t.diagnostic('WARNING: filtering by artifact-type is not implemented');
        }
        annotationsMatch(list);
      });
      it('Listing referrers: a subject that was never pushed still lists its referrer', async () => {
        const { list } = await referrers(sha256(m3));
        assert.deepEqual(list.map((d) => d.digest), [sha256(refs.cLayer)]);
      });
      it('Teardown: delete manifests and tags (2xx, 404, 405), then blobs (config/layer: 2xx or 405; others also 404)', async () => {
        const all = [refIndex, manifests[2]!, m4, refs.aConfig, refs.aLayer, 'tagtest0', refs.bConfig, refs.bLayer, refs.cLayer];
        for (const m of all) expectStatus(await call('DELETE', `/v2/${NS}/manifests/${typeof m === 'string' ? m : sha256(m)}`), '2xx', 405, 404);
        for (const b of [configs[2]!, layer]) expectStatus(await call('DELETE', `/v2/${NS}/blobs/${sha256(b)}`), '2xx', 405);
        for (const m of [refIndex, refs.aConfig, refs.aLayer, m4, refs.bConfig, refs.bLayer]) {
          expectStatus(await call('DELETE', `/v2/${NS}/manifests/${sha256(m)}`), '2xx', 405, 404);
        }
        for (const b of [configs[4]!, refBlobA, refBlobB, emptyJson]) expectStatus(await call('DELETE', `/v2/${NS}/blobs/${sha256(b)}`), '2xx', 405, 404);
      });
    });

    describe('Content Management (04_management_test.go)', () => {
      let numTags = 0;
      let blobDeleteAllowed = true;
      it('Setup: populate registry with config, layer and tag; count the tags', async () => {
        await seedBlob(NS, configs[3]!);
        await seedBlob(NS, layer);
        expectStatus(await putManifest(NS, 'tagtest0', m3), '2xx');
        const list = await call('GET', `/v2/${NS}/tags/list`);
        expectStatus(list, 200);
        numTags = tagsOf(list).length;
      });
      it('Manifest delete: tag is 202 (400 UNSUPPORTED or 405 when disallowed); digest is 202 or 404; GET is 404 or 200', async () => {
        const tag = await call('DELETE', `/v2/${NS}/manifests/tagtest0`);
        expectStatus(tag, 400, 202, 405);
        if (tag.status === 400) expectErrorCode(tag, ['UNSUPPORTED']);
        expectStatus(await call('DELETE', `/v2/${NS}/manifests/${sha256(m3)}`), 202, 404);
        expectStatus(await call('GET', `/v2/${NS}/manifests/${sha256(m3)}`), 404, 200);
      });
      it('Manifest delete: GET tags list reflects the deletion', async () => {
        const list = await call('GET', `/v2/${NS}/tags/list`);
        expectStatus(list, 200);
        assert.ok(tagsOf(list).length < numTags, `${tagsOf(list).length} tags left of ${numTags}`);
      });
      it('Blob delete: DELETE is 202 (404 or 405 accepted); GET of the deleted blob is 404', async () => {
        for (const b of [configs[3]!, layer]) {
          const res = await call('DELETE', `/v2/${NS}/blobs/${sha256(b)}`);
          expectStatus(res, 202, 404, 405);
          blobDeleteAllowed = res.status !== 405;
        }
        if (blobDeleteAllowed) expectStatus(await call('GET', `/v2/${NS}/blobs/${sha256(configs[3]!)}`), 404);
      });
    });
  });

  describe('OCI conformance: the newer runner (run.go, api.go)', () => {
    const [R1, R2] = ['conformance/repo1', 'conformance/repo2'];
    const [EX1, EX2] = ['application/vnd.example.oci.conformance.v1', 'application/vnd.example.oci.conformance.v2'];
    const ACCEPT = { Accept: `${MT.index}, ${MT.manifest}` };
    const dg = (b: Buffer | string, algo = 'sha256') => `${algo}:${createHash(algo).update(b).digest('hex')}`;
    const sized = (n: number) => randomBytes(n);

    async function expectBlob(repo: string, blob: Buffer, digest: string): Promise<void> {
      const head = await call('HEAD', `/v2/${repo}/blobs/${digest}`);
      expectStatus(head, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers['content-length'], String(blob.length), `${lastRequest}: Content-Length`);
      digestHeaderIs(head, digest);
      const get = await call('GET', `/v2/${repo}/blobs/${digest}`);
      expectStatus(get, 200);
      assert.ok(get.body.equals(blob), `${lastRequest}: body`);
      assert.equal(get.headers['content-length'], String(blob.length));
      digestHeaderIs(get, digest);
    }
    /** Delete is 202, 404 or 405; after a 202 or 404 the blob is gone at once (HEAD 404). */
    async function deleteBlob(repo: string, digest: string): Promise<void> {
      const res = await call('DELETE', `/v2/${repo}/blobs/${digest}`);
      expectStatus(res, 202, 404, 405);
      if (res.status !== 405) expectStatus(await call('HEAD', `/v2/${repo}/blobs/${digest}`), 404);
    }
    /** After a successful push: the digest header (if any) and the Location both describe the blob. */
    async function expectPushed(res: Response, blob: Buffer, digest: string): Promise<void> {
      digestHeaderIs(res, digest);
      assert.ok(res.headers.location, `${lastRequest}: Location`);
      const get = await call('GET', rel(res.headers.location));
      expectStatus(get, 200);
      assert.ok(get.body.equals(blob), `GET ${res.headers.location}: body`);
    }

    // The push APIs; `bad` means the bytes do not match the digest and the final answer must be 400.
    type Push = (repo: string, blob: Buffer, digest: string, bad?: boolean) => Promise<Response>;
    const putTo = (loc: string, digest: string, blob?: Buffer, extra: Record<string, string | number> = {}) =>
      call('PUT', withQuery(rel(loc), { digest }), { ...OCTET, 'Content-Length': blob?.length ?? 0, ...extra }, blob);
    const postOnly: Push = async (repo, blob, digest, bad) => {
      const post = await call('POST', withQuery(`/v2/${repo}/blobs/uploads/`, { digest }), { ...OCTET, 'Content-Length': blob.length }, blob);
      expectStatus(post, bad ? 400 : 201, 202);
      if (post.status !== 202) return post;
      const put = await putTo(post.headers.location!, digest, blob); // 202: no content in the POST, the runner falls back to a PUT
      expectStatus(put, bad ? 400 : 201);
      return put;
    };
    const postPut: Push = async (repo, blob, digest, bad) => {
      const post = await call('POST', `/v2/${repo}/blobs/uploads/`);
      expectStatus(post, 202);
      const put = await putTo(post.headers.location!, digest, blob);
      expectStatus(put, bad ? 400 : 201);
      return put;
    };
    const stream: Push = async (repo, blob, digest, bad) => {
      const post = await call('POST', `/v2/${repo}/blobs/uploads/`, { 'Content-Length': 0 });
      expectStatus(post, 202);
      const patch = await call('PATCH', rel(post.headers.location), OCTET, blob);
      expectStatus(patch, 202);
      const put = await putTo(patch.headers.location!, digest);
      expectStatus(put, bad ? 400 : 201);
      return put;
    };
    /** Chunks of max(size/3+1, OCI-Chunk-Min-Length, 1024); optionally a wrong chunk (416, then GET 204 with Range) before each, and the last chunk in the PUT. */
    const chunked = (outOfOrder: boolean, putLast: boolean): Push => async (repo, blob, digest, bad) => {
      const post = await call('POST', `/v2/${repo}/blobs/uploads/`, { 'Content-Length': 0 });
      expectStatus(post, 202);
      const size = Math.min(Math.max(Math.floor(blob.length / 3) + 1, Number(post.headers['oci-chunk-min-length'] ?? 0), 1024), blob.length);
      let loc = post.headers.location!;
      let end = -1;
      let res = post;
      const send = (method: string, from: number, to: number) =>
        call(method, method === 'PUT' ? withQuery(rel(loc), { digest }) : rel(loc),
          { ...OCTET, 'Content-Length': to - from + 1, 'Content-Range': `${from}-${to}` }, blob.subarray(from, to + 1));
      while (end < blob.length - 1) {
        if (outOfOrder) {
          let from = end + 1 + size;
          if (from >= blob.length) from = 0;
          const to = Math.min(from + size - 1, blob.length - 1);
          expectStatus(await send(putLast && to === blob.length - 1 ? 'PUT' : 'PATCH', from, to), 416);
          const status = await call('GET', rel(loc));
          expectStatus(status, 204);
          const m = /^0-(\d+)$/.exec(String(status.headers.range));
          assert.ok(m, `${lastRequest}: Range ${status.headers.range}`);
          if (end >= 0) assert.equal(Number(m[1]), end, `${lastRequest}: Range`);
          loc = status.headers.location!;
        }
        const from = end + 1;
        end = Math.min(from + size - 1, blob.length - 1);
        const last = putLast && end === blob.length - 1;
        res = await send(last ? 'PUT' : 'PATCH', from, end);
        expectStatus(res, last ? (bad ? 400 : 201) : 202);
        if (!last) loc = res.headers.location!;
      }
      if (putLast) return res;
      res = await putTo(loc, digest);
      expectStatus(res, bad ? 400 : 201);
      return res;
    };
    const pushers: Array<[string, Push, number]> = [
      ['post only', postOnly, 512], ['post+put', postPut, 512], ['chunked single', chunked(false, false), 512], ['stream', stream, 512],
      ['chunked multi', chunked(false, false), 3067], ['chunked multi and put chunk', chunked(false, true), 3067],
      ['chunked out-of-order', chunked(true, false), 3067], ['chunked out-of-order and put chunk', chunked(true, true), 3067],
    ];

    it('ping: GET /v2/ is 200 (also 01_base_api_route_test.go)', async () => {
      expectStatus(await call('GET', '/v2/'), 200);
    });
    it('empty repository: tag list is 200 or 404; referrers are an empty OCI index', async () => {
      expectStatus(await call('GET', `/v2/${R1}/tags/list`), 200, 404);
      const res = await call('GET', `/v2/${R1}/referrers/${sha256(randomUUID())}`);
      expectStatus(res, 200);
      assert.equal(res.headers['content-type'], MT.index);
      const index = JSON.parse(res.text) as { mediaType: string; schemaVersion: number; manifests: unknown[] };
      assert.deepEqual([index.mediaType, index.schemaVersion, index.manifests.length], [MT.index, 2, 0]);
    });
    it('blobs: a blob never pushed is 404', async () => {
      expectStatus(await call('GET', `/v2/${R1}/blobs/${sha256(sized(512))}`), 404);
    });
    for (const [name, push, size] of pushers) {
      it(`blobs: push "${name}", then HEAD, GET and delete`, async () => {
        const blob = sized(size);
        await expectPushed(await push(R1, blob, sha256(blob)), blob, sha256(blob));
        await expectBlob(R1, blob, sha256(blob));
        await deleteBlob(R1, sha256(blob));
      });
    }
    it('blobs: mount from another repository (201, or 202 and a fallback PUT), anonymous mount, and a missing blob is not mounted', async () => {
      for (const from of [R2, undefined]) {
        const blob = sized(512);
        await postPut(R2, blob, sha256(blob));
        const res = await call('POST', withQuery(`/v2/${R1}/blobs/uploads/`, from ? { mount: sha256(blob), from } : { mount: sha256(blob) }));
        expectStatus(res, 201, 202);
        if (res.status === 202) expectStatus(await putTo(res.headers.location!, sha256(blob), blob), 201);
        else await expectPushed(res, blob, sha256(blob));
        await expectBlob(R1, blob, sha256(blob));
        await deleteBlob(R1, sha256(blob));
        await deleteBlob(R2, sha256(blob));
      }
      const missing = await call('POST', withQuery(`/v2/${R1}/blobs/uploads/`, { mount: sha256(sized(512)), from: R2 }));
      expectStatus(missing, 202);
    });
    it('blobs: cancelling an upload (DELETE of the session) is 204', async () => {
      const post = await call('POST', `/v2/${R1}/blobs/uploads/`);
      expectStatus(post, 202);
      expectStatus(await call('DELETE', rel(post.headers.location), { 'Content-Length': 0 }), 204);
    });
    it('blobs: range requests are 206 with Content-Range, or 416 when unsatisfiable', async () => {
      const blob = sized(2048);
      await postPut(R1, blob, sha256(blob));
      for (const [spec, from, to] of [['500-1499', 500, 1499], ['500-', 500, 2047], ['-500', 1548, 2047], ['2000-5000', 2000, 2047]] as const) {
        const res = await call('GET', `/v2/${R1}/blobs/${sha256(blob)}`, { Range: `bytes=${spec}` });
        expectStatus(res, 206);
        assert.ok(res.body.equals(blob.subarray(from, to + 1)), `${spec}: body`);
        assert.equal(res.headers['content-length'], String(to - from + 1));
        assert.ok([`bytes ${from}-${to}/2048`, `bytes ${from}-${to}/*`].includes(String(res.headers['content-range'])), `${spec}: ${res.headers['content-range']}`);
      }
      for (const spec of ['500-0', '5000-10000']) expectStatus(await call('GET', `/v2/${R1}/blobs/${sha256(blob)}`, { Range: `bytes=${spec}` }), 416);
      await deleteBlob(R1, sha256(blob));
    });
    it('blobs: well-known contents (empty, "{}") and sha512 digests push, pull and delete', async () => {
      for (const [blob, algo] of [[Buffer.alloc(0), 'sha256'], [emptyJson, 'sha256'], [sized(512), 'sha512'], [emptyJson, 'sha512']] as const) {
        await expectPushed(await postPut(R1, blob, dg(blob, algo)), blob, dg(blob, algo));
        await expectBlob(R1, blob, dg(blob, algo));
        await deleteBlob(R1, dg(blob, algo));
      }
    });
    it('blobs: bytes that do not match the digest are 400 for every push API', async () => {
      for (const [, push] of pushers.filter(([n]) => n !== 'chunked single' && !n.includes('out-of-order'))) {
        const blob = sized(3067);
        await push(R1, Buffer.concat([blob, Buffer.from('oh no')]), sha256(blob), true);
        expectStatus(await call('HEAD', `/v2/${R1}/blobs/${sha256(blob)}`), 404);
      }
    });

    // Test data sets (run.go GenerateData, testdata.go): each is pushed, listed, pulled, its referrers
    // checked, then deleted (tags, manifests newest first, blobs), every delete visible at once.
    interface Desc { mediaType: string; digest: string; size: number; [k: string]: unknown }
    interface Gen {
      tag?: string; layers?: number; uncompressed?: boolean; layerType?: string; layerBody?: Buffer; configType?: string; configBody?: Buffer;
      artifactType?: string; annotations?: Record<string, string>; uniq?: boolean; subject?: Desc; data?: boolean; extra?: boolean;
      platform?: object; platforms?: object[]; ndLayers?: boolean;
    }
    class TestData {
      blobs = new Map<string, Buffer>();
      manifests: Array<Desc & { body: Buffer; subject?: string }> = [];
      tags = new Map<string, string>();
      referrers = new Map<string, Desc[]>();
      constructor(readonly algo = 'sha256') {}
      blob(body: Buffer, mediaType: string, o: Gen): Desc {
        const d = { mediaType, digest: dg(body, this.algo), size: body.length, ...(o.data ? { data: body.toString('base64') } : {}) };
        this.blobs.set(d.digest, body);
        return d;
      }
      add(doc: Record<string, unknown>, o: Gen): Desc {
        if (o.uniq) doc.annotations = { ...o.annotations, [`org.example.${randomUUID()}`]: randomUUID() };
        if (o.extra) doc[`org.${randomUUID()}`] = randomUUID();
        const body = Buffer.from(JSON.stringify(doc));
        const d = { mediaType: doc.mediaType as string, digest: dg(body, this.algo), size: body.length };
        this.manifests.push({ ...d, body, subject: o.subject?.digest });
        if (o.subject) {
          const artifactType = (doc.artifactType as string | undefined) ?? (doc.config as Desc | undefined)?.mediaType;
          this.referrers.set(o.subject.digest, [...(this.referrers.get(o.subject.digest) ?? []), { ...d, artifactType, annotations: doc.annotations }]);
        }
        if (o.tag) this.tags.set(o.tag, d.digest);
        return d;
      }
      image(o: Gen = {}): Desc {
        const layers: Desc[] = [];
        for (let i = 0; i < (o.layers ?? 2); i++) {
          const tar = Buffer.from(`conformance file ${i}: ${randomUUID()}\n`);
          layers.push(o.layerType ? this.blob(o.layerBody ?? sized(2048), o.layerType, o)
            : o.uncompressed ? this.blob(tar, 'application/vnd.oci.image.layer.v1.tar', o) : this.blob(gzipSync(tar), MT.layer, o));
        }
        if (o.ndLayers) { // non-distributable layers: referenced, never pushed
          for (const [mediaType, size] of [['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 123456], ['application/vnd.oci.image.layer.nondistributable.v1.tar', 12345]] as const) {
            const digest = dg(sized(256));
            layers.unshift({ mediaType, digest, size, urls: [`https://store.example.com/blobs/sha256/${digest.slice(7)}`] });
          }
        }
        const configJson = Buffer.from(JSON.stringify({ author: 'OCI Conformance Test', os: 'linux', architecture: 'amd64', ...o.platform, rootfs: { type: 'layers', diff_ids: [] }, ...(o.extra ? { [`org.${randomUUID()}`]: 1 } : {}) }));
        const config = this.blob(o.configType ? (o.configBody ?? emptyJson) : configJson, o.configType ?? MT.config, o);
        return this.add({ schemaVersion: 2, mediaType: MT.manifest, artifactType: o.artifactType, config, layers, subject: o.subject, annotations: o.annotations }, o);
      }
      index(o: Gen = {}, children?: Desc[]): Desc {
        const platforms = o.platforms ?? [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
        const manifests = children ?? platforms.map((platform) => ({ ...this.image({ ...o, tag: undefined, platform }), platform }));
        return this.add({ schemaVersion: 2, mediaType: MT.index, artifactType: o.artifactType, manifests, subject: o.subject, annotations: o.annotations }, o);
      }
    }
    const note = { 'org.opencontainers.conformance': 'hello conformance test' };
    const asArtifact: Gen = { artifactType: EX1, configType: MT.empty, configBody: emptyJson, layers: 1, layerType: EX1 };
    const dataSets: Array<[string, (d: TestData) => unknown, string?]> = [
      ['image', (d) => d.image({ tag: 'image' })],
      ['image-uncompressed', (d) => d.image({ tag: 'image-uncompressed', uncompressed: true })],
      ['large-manifest (390 annotations of 10 kB)', (d) => d.image({ tag: 'large-manifest', annotations: Object.fromEntries(Array.from({ length: 390 }, (_, i) => [`large-annotation-${i}`, 'A'.repeat(10000)])) })],
      ['index', (d) => d.index({ tag: 'index' })],
      ['nested-index', (d) => d.index({ tag: 'index-of-index' }, [d.index(), d.index()])],
      ['empty-index', (d) => d.index({ tag: 'index', platforms: [] })],
      ['artifact', (d) => d.image({ ...asArtifact, tag: 'artifact' })],
      ['artifact-index', (d) => d.index({ ...asArtifact, tag: 'artifact-index' })],
      ['artifact-without-layers', (d) => d.image({ ...asArtifact, layerBody: emptyJson, layerType: MT.empty, tag: 'artifact-without-layers' })],
      ['artifacts-with-subject', (d) => {
        const subject = d.image({ tag: 'image' });
        d.image({ subject });
        d.image({ ...asArtifact, annotations: note, uniq: true, subject, tag: 'tagged-artifact1' });
        d.image({ ...asArtifact, artifactType: EX2, layerType: MT.octet, annotations: note, uniq: true, subject, tag: 'tagged-artifact2' });
      }],
      ['index-with-subject', (d) => d.index({ ...asArtifact, annotations: note, uniq: true, subject: d.index({ tag: 'index' }), tag: 'tagged-artifact' })],
      ['missing-subject', (d) => d.image({ ...asArtifact, annotations: note, uniq: true, subject: { mediaType: MT.manifest, size: 123, digest: sha256('missing content') }, tag: 'tagged-artifact' })],
      ['data-field', (d) => d.image({ tag: 'data-field', data: true })],
      ['non-distributable-layers', (d) => d.image({ tag: 'non-distributable-image', layers: 1, ndLayers: true })],
      ['custom-fields', (d) => d.index({ tag: 'custom-fields', extra: true })],
      ['no-layers', (d) => d.image({ tag: 'no-layers', layers: 0 })],
      ['sha512 (pushed by digest only)', (d) => d.index(), 'sha512'],
    ];

    async function expectManifest(ref: string, m: Desc & { body: Buffer }, method: 'GET' | 'HEAD', path = `/v2/${R1}/manifests/${ref}`): Promise<void> {
      const res = await call(method, path, ACCEPT);
      expectStatus(res, 200);
      assert.equal(res.headers['content-type'], m.mediaType, `${lastRequest}: Content-Type`);
      assert.equal(res.headers['content-length'], String(m.size), `${lastRequest}: Content-Length`);
      assert.ok(res.body.equals(method === 'GET' ? m.body : Buffer.alloc(0)), `${lastRequest}: body`);
      digestHeaderIs(res, m.digest);
    }
    async function pushManifest(ref: string, m: Desc & { body: Buffer; subject?: string }): Promise<void> {
      const res = await putManifest(R1, ref, m.body, m.mediaType);
      expectStatus(res, 201);
      digestHeaderIs(res, m.digest);
      if (m.subject) assert.equal(res.headers['oci-subject'], m.subject, `${lastRequest}: OCI-Subject`);
      assert.ok(res.headers.location, `${lastRequest}: Location`);
      await expectManifest(ref, m, 'GET', rel(res.headers.location));
    }
    async function expectReferrers(subject: string, goals: Desc[]): Promise<void> {
      const same = (a: Desc, g: Desc) => a.digest === g.digest && a.mediaType === g.mediaType && a.size === g.size && a.artifactType === g.artifactType &&
        Object.entries((g.annotations as Record<string, string> | undefined) ?? {}).every(([k, v]) => (a.annotations as Record<string, string> | undefined)?.[k] === v);
      for (const type of [undefined, ...new Set(goals.map((g) => g.artifactType as string))]) {
        const res = await call('GET', `/v2/${R1}/referrers/${subject}${type ? `?artifactType=${encodeURIComponent(type)}` : ''}`);
        expectStatus(res, 200);
        assert.equal(res.headers['content-type'], MT.index);
        const index = JSON.parse(res.text) as { mediaType: string; schemaVersion: number; manifests: Desc[] };
        assert.deepEqual([index.mediaType, index.schemaVersion], [MT.index, 2], `${lastRequest}: an OCI index`);
        const wanted = goals.filter((g) => !type || g.artifactType === type);
        for (const g of wanted) assert.ok(index.manifests.some((a) => same(a, g)), `${lastRequest}: missing ${JSON.stringify({ ...g, annotations: undefined })}`);
        if (type) {
          assert.ok(String(res.headers['oci-filters-applied'] ?? '').split(',').some((f) => f.trim() === 'artifactType'), `${lastRequest}: OCI-Filters-Applied`);
          assert.equal(index.manifests.length, wanted.length, `${lastRequest}: only the filtered type`);
        }
      }
    }

    for (const [name, generate, algo] of dataSets) {
      it(`data "${name}": push, tag list, HEAD and GET, referrers, then delete`, async () => {
        const d = new TestData(algo);
        generate(d);
        for (const [digest, blob] of d.blobs) await postPut(R1, blob, digest);
        for (const m of d.manifests) await pushManifest(m.digest, m);
        for (const [tag, digest] of d.tags) await pushManifest(tag, d.manifests.find((m) => m.digest === digest)!);
        const list = await call('GET', `/v2/${R1}/tags/list`);
        expectStatus(list, 200);
        const sorted = tagsOf(list).sort();
        for (const tag of d.tags.keys()) assert.ok(sorted.includes(tag), `tag ${tag} listed`);
        if (sorted.length >= 2) {
          const half = Math.floor(sorted.length / 2);
          const after = tagsOf(await call('GET', withQuery(`/v2/${R1}/tags/list`, { last: sorted[half - 1]! })));
          assert.deepEqual(after.sort(), sorted.slice(half), `tags after "last=${sorted[half - 1]}"`);
        }
        for (const m of d.manifests) for (const method of ['HEAD', 'GET'] as const) await expectManifest(m.digest, m, method);
        for (const [tag, digest] of d.tags) for (const method of ['HEAD', 'GET'] as const) await expectManifest(tag, d.manifests.find((m) => m.digest === digest)!, method);
        for (const [digest, blob] of d.blobs) await expectBlob(R1, blob, digest);
        for (const [subject, goals] of d.referrers) await expectReferrers(subject, goals);
        for (const ref of [...d.tags.keys(), ...d.manifests.map((m) => m.digest).reverse()]) {
          const del = await call('DELETE', `/v2/${R1}/manifests/${ref}`);
          expectStatus(del, 202, 404, 400, 405);
          if (del.status === 202 || del.status === 404) expectStatus(await call('HEAD', `/v2/${R1}/manifests/${ref}`, ACCEPT), 404);
        }
        for (const digest of d.blobs.keys()) await deleteBlob(R1, digest);
      });
    }

    it('manifest errors: missing by digest or tag is 404; "sha256:baddigeststring" PUT is 400, GET 404 or 400; a body that does not match its digest is 400', async () => {
      expectStatus(await call('GET', `/v2/${R1}/manifests/${sha256(sized(1024))}`, ACCEPT), 404);
      expectStatus(await call('GET', `/v2/${R1}/manifests/missing-${randomUUID().slice(0, 20)}`, ACCEPT), 404);
      const d = new TestData();
      d.image({ layers: 1 });
      for (const [digest, blob] of d.blobs) await postPut(R1, blob, digest);
      const m = d.manifests[0]!;
      expectStatus(await putManifest(R1, 'sha256:baddigeststring', m.body), 400);
      expectStatus(await call('GET', `/v2/${R1}/manifests/sha256:baddigeststring`, ACCEPT), 404, 400);
      expectStatus(await putManifest(R1, m.digest, Buffer.concat([m.body, Buffer.from('  ')])), 400);
      for (const digest of d.blobs.keys()) await deleteBlob(R1, digest);
    });
    it('error codes (07_error_codes_test.go): PUT of an invalid manifest to "sha256:totallywrong" is 400 with an OCI error code', async () => {
      const res = await putManifest(R1, 'sha256:totallywrong', Buffer.from('blablabla'));
      expectStatus(res, 400);
      expectErrorCode(res);
    });
  });
}
