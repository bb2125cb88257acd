// The simple-signing extension over HTTP (what containers/image sends and expects: the header on
// the /v2/ ping, GET of the list, PUT of one signature object answered 201), who may read and
// write, what bad requests get, and that signatures go with their manifest; then the store on
// SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import type { ManifestRecord } from '../../src/metadata/metadata-store.js';
import { SimpleSignatureStore } from '../../src/trust/simple-signing-store.js';
import { SimpleSignatures, SimpleSigningSource } from '../../src/trust/simple-signing.js';
import { metadataDatabases, type OpenedStore } from '../conformance/metadata-databases.js';
import { assertOciError, request } from '../helpers/http.js';
import { pushImage, sha256 } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const PASSWORD = 'Passw0rd-for-tests';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
const signatureObject = (digest: string, content: Buffer, name = `${digest}@${randomBytes(16).toString('hex')}`) => ({ schemaVersion: 2, name, type: 'atomic', content: content.toString('base64') });

describe('the signatures extension over HTTP', () => {
  let reg: TestRegistry;
  let digest: string;
  const path = (d: string, repo = 'team/app') => `/extensions/v2/${repo}/signatures/${d}`;
  const call = (p: string, authorization: string | undefined, method = 'GET', body?: unknown) =>
    request(reg.url + p, {
      method,
      headers: { ...(authorization ? { Authorization: authorization } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });

  before(async () => {
    reg = await startTestRegistry({ auth: { anonymousPull: true }, projects: { autoCreate: false } });
    const team = await reg.projects.create({ name: 'team', public: false }, { user: null }, SYSTEM_ACTOR);
    for (const [user, role] of [
      ['dev', ROLES.developer],
      ['guest', ROLES.guest],
    ] as const) {
      await reg.users!.setPassword(user, PASSWORD);
      await reg.projects.addMember(team, user, role, SYSTEM_ACTOR);
    }
    await reg.users!.setPassword('outsider', PASSWORD);
    ({ digest } = await pushImage(reg.url, reg.basic, 'team/app', 'v1'));
  });
  after(() => reg.close());

  test('the /v2/ ping advertises the extension, also when it asks for credentials', async () => {
    const anonymous = await request(`${reg.url}/v2/`);
    assert.equal(anonymous.headers['x-registry-supports-signatures'], '1');
    const signedIn = await request(`${reg.url}/v2/`, { headers: { Authorization: reg.basic } });
    assert.equal(signedIn.status, 200);
    assert.equal(signedIn.headers['x-registry-supports-signatures'], '1');
  });

  test('PUT adds one signature at a time as containers/image sends it; identical content is kept once; GET lists them', async () => {
    const empty = await call(path(digest), basic('dev'));
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.json(), { signatures: [] });

    const first = randomBytes(300);
    const put = await call(path(digest), basic('dev'), 'PUT', signatureObject(digest, first));
    assert.equal(put.status, 201, put.text);
    const again = await call(path(digest), basic('dev'), 'PUT', signatureObject(digest, first));
    assert.equal(again.status, 201, 'a repeated push is accepted');
    const second = randomBytes(200);
    const list = await call(path(digest), basic('dev'), 'PUT', { signatures: [signatureObject(digest, second), signatureObject(digest, first)] });
    assert.equal(list.status, 201, list.text);

    const got = (await call(path(digest), basic('guest'))).json<{ signatures: Array<{ schemaVersion: number; type: string; name: string; content: string }> }>();
    assert.equal(got.signatures.length, 2);
    assert.deepEqual(
      got.signatures.map((s) => Buffer.from(s.content, 'base64')),
      [first, second],
    );
    for (const s of got.signatures) {
      assert.equal(s.schemaVersion, 2);
      assert.equal(s.type, 'atomic');
      assert.match(s.name, new RegExp(`^${digest}@[0-9a-f]{32}$`));
    }
  });

  test('reading needs pull, writing push: anonymous and guests cannot add, outsiders cannot read a private project', async () => {
    const body = signatureObject(digest, randomBytes(64));
    assertOciError(await call(path(digest), undefined, 'PUT', body), 401, 'UNAUTHORIZED');
    assertOciError(await call(path(digest), basic('guest'), 'PUT', body), 403, 'DENIED');
    assertOciError(await call(path(digest), basic('outsider'), 'PUT', body), 403, 'DENIED');
    const outsider = await call(path(digest), basic('outsider'));
    assert.ok(outsider.status === 401 || outsider.status === 403, `${outsider.status} ${outsider.text}`);
    assert.equal((await call(path(digest), undefined)).status, 401, 'anonymous pull does not reach a private project');
    assertOciError(await call(path(digest), reg.basic, 'DELETE'), 405, 'UNSUPPORTED');
  });

  test('bad requests get a clear 4xx and store nothing', async () => {
    const before = (await call(path(digest), reg.basic)).json<{ signatures: unknown[] }>().signatures.length;
    const cases: Array<[unknown, number, string, RegExp]> = [
      ['{not json', 400, 'UNSUPPORTED', /not JSON/],
      [[1, 2], 400, 'UNSUPPORTED', /JSON object/],
      [{ schemaVersion: 1, type: 'atomic', content: 'AAAA' }, 400, 'UNSUPPORTED', /schemaVersion/],
      [{ schemaVersion: 2, type: 'cosign', content: 'AAAA' }, 400, 'UNSUPPORTED', /type must be "atomic"/],
      [{ schemaVersion: 2, type: 'atomic', content: 'not base64!' }, 400, 'UNSUPPORTED', /base64/],
      [{ schemaVersion: 2, type: 'atomic', content: '' }, 400, 'UNSUPPORTED', /base64/],
      [{ signatures: [] }, 400, 'UNSUPPORTED', /non-empty/],
      [signatureObject(digest, randomBytes(10), `sha256:${'0'.repeat(64)}@abc`), 400, 'DIGEST_INVALID', /name must be/],
      [{ schemaVersion: 2, type: 'atomic', content: randomBytes(300 * 1024).toString('base64') }, 413, 'SIZE_INVALID', /at most/],
      [{ schemaVersion: 2, type: 'atomic', content: randomBytes(65 * 1024).toString('base64') }, 400, 'SIZE_INVALID', /1 to 65536 bytes/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await call(path(digest), reg.basic, 'PUT', body);
      assertOciError(res, status, code, JSON.stringify(body).slice(0, 80));
      assert.match(res.json().errors[0].message, message);
    }
    const unknown = `sha256:${'1'.repeat(64)}`;
    assertOciError(await call(path(unknown), reg.basic, 'PUT', signatureObject(unknown, randomBytes(10))), 404, 'MANIFEST_UNKNOWN');
    assertOciError(await call(path(unknown), reg.basic), 404, 'MANIFEST_UNKNOWN');
    assertOciError(await call(path('sha256:short'), reg.basic), 400, 'DIGEST_INVALID');
    assertOciError(await call(path(digest, 'Team/App'), reg.basic), 400, 'NAME_INVALID');
    assert.equal((await call(path(digest), reg.basic)).json<{ signatures: unknown[] }>().signatures.length, before, 'nothing was stored');
  });

  test('signatures go with their manifest: pushed again, it has none', async () => {
    const { digest: d } = await pushImage(reg.url, reg.basic, 'team/doomed', 'v1');
    assert.equal((await call(path(d, 'team/doomed'), reg.basic, 'PUT', signatureObject(d, randomBytes(99)))).status, 201);
    assert.equal((await call(path(d, 'team/doomed'), reg.basic)).json<{ signatures: unknown[] }>().signatures.length, 1);
    const del = await request(`${reg.url}/v2/team/doomed/manifests/${d}`, { method: 'DELETE', headers: { Authorization: reg.basic } });
    assert.equal(del.status, 202);
    assertOciError(await call(path(d, 'team/doomed'), reg.basic), 404, 'MANIFEST_UNKNOWN');
    await pushImage(reg.url, reg.basic, 'team/doomed', 'v1');
    assert.deepEqual((await call(path(d, 'team/doomed'), reg.basic)).json(), { signatures: [] });
    // Deleting the whole repository (Harbor's API) takes them too.
    assert.equal((await call(path(d, 'team/doomed'), reg.basic, 'PUT', signatureObject(d, randomBytes(99)))).status, 201);
    const gone = await request(`${reg.url}/api/v2.0/projects/team/repositories/doomed`, { method: 'DELETE', headers: { Authorization: reg.basic } });
    assert.equal(gone.status, 200, gone.text);
    assertOciError(await call(path(d, 'team/doomed'), reg.basic), 404, 'MANIFEST_UNKNOWN');
  });
});

test('registry.signatureExtension: false serves no extension and advertises none', async () => {
  const reg = await startTestRegistry({ registry: { signatureExtension: false } });
  try {
    const { digest } = await pushImage(reg.url, reg.basic, 'library/app', 'v1');
    const ping = await request(`${reg.url}/v2/`, { headers: { Authorization: reg.basic } });
    assert.equal(ping.headers['x-registry-supports-signatures'], undefined);
    const res = await request(`${reg.url}/extensions/v2/library/app/signatures/${digest}`, { headers: { Authorization: reg.basic } });
    assert.equal(res.status, 404);
  } finally {
    await reg.close();
  }
});

// --- the store, on both databases

const databases = metadataDatabases();
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
function manifest(seed: string): ManifestRecord {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, seed }));
  return { digest: sha256(content), mediaType: MANIFEST_TYPE, artifactType: null, subject: null, annotations: null, size: content.length, content };
}

for (const [name, open] of [
  ['SQLite', databases.sqlite],
  ['PostgreSQL', databases.postgres],
] as const) {
  describe(`simple signatures stored on ${name}`, () => {
    let store: OpenedStore;
    let signatures: SimpleSignatures;
    let source: SimpleSigningSource;
    before(async () => {
      store = await open();
      const sigStore = new SimpleSignatureStore(store.db, (fn) => store.outsideTransactions(fn));
      signatures = new SimpleSignatures(sigStore, { maxPerManifest: 3 });
      source = new SimpleSigningSource(sigStore);
    });
    after(() => store.close());

    test('added once per content, listed oldest first, offered to the pull decider, bounded per manifest, gone with the manifest', async () => {
      const m = manifest(name);
      const other = manifest(`${name} other`);
      await store.transaction((tx) => tx.putManifest('team/app', m, [], 'v1'));
      await store.transaction((tx) => tx.putManifest('team/app', other, [], 'v2'));
      const [a, b, c, d] = [randomBytes(50), randomBytes(60), randomBytes(70), randomBytes(80)];
      assert.equal(await signatures.add('team/app', m.digest, [{ name: `${m.digest}@one`, content: a }, { content: b }, { content: a }]), 2);
      assert.equal(await signatures.add('team/app', m.digest, [{ content: b }]), 0);
      assert.equal(await signatures.add('team/app', other.digest, [{ content: d }]), 1);
      const listed = await signatures.list('team/app', m.digest);
      assert.deepEqual(listed.map((s) => s.content), [a, b]);
      assert.equal(listed[0]!.name, `${m.digest}@one`);
      assert.match(listed[1]!.name, new RegExp(`^${m.digest}@[0-9a-f]{32}$`));

      const found = await source.list('team/app', m.digest);
      assert.deepEqual(found.map((f) => f.digest), [sha256(a), sha256(b)]);
      assert.equal(found[0]!.format, 'simple-signing');
      assert.equal(found[0]!.subject, m.digest);
      assert.deepEqual((await found[1]!.load()).layers.map((l) => l.bytes), [b]);
      assert.deepEqual(await source.list('team/app', `sha256:${'9'.repeat(64)}`), []);

      await signatures.add('team/app', m.digest, [{ content: c }]);
      await assert.rejects(signatures.add('team/app', m.digest, [{ content: d }]), (err: Error & { code?: string }) => err.code === 'DENIED' && /at most 3/.test(err.message));

      await store.transaction((tx) => tx.deleteManifest('team/app', m.digest));
      await assert.rejects(signatures.list('team/app', m.digest), (err: Error & { code?: string }) => err.code === 'MANIFEST_UNKNOWN');
      await assert.rejects(found[0]!.load(), /is gone/);
      await store.transaction((tx) => tx.putManifest('team/app', m, [], 'v1'));
      assert.deepEqual(await signatures.list('team/app', m.digest), [], 'a manifest pushed again has no signatures of its former life');
      assert.equal((await signatures.list('team/app', other.digest)).length, 1, 'other manifests keep theirs');
    });
  });
}
