// Signatures through the real registry: a project's trust policy set over the management API,
// images and their signatures pushed with the OCI API as cosign pushes them (a `sha256-….sig`
// tag, an OCI 1.1 referrer, a sigstore bundle v0.3), and pulls under each level: enforce refuses
// what is unsigned, tampered, signed by a wrong key or for another digest, with a 403 naming the
// policy; warn and audit serve and record it in the audit log. Also: signatures and blobs are
// never gated, an index's signature covers its children, a signature pushed after a refused pull
// counts at once (the cache is invalidated), a policy change re-verifies, Harbor's
// enable_content_trust_cosign flag enforces, and the API's responses match its OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/auth/rbac.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { assertOciError, request, type Response } from '../helpers/http.js';
import { pushImage, pushIndex } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { cosignPayload, makeKey, makeKeylessPki, pushBundle, pushCosignSignature, sigstoreBundle, signWith, statement, type TestKey } from '../helpers/signatures.js';

export function signaturesSuite(label: string, config: () => Promise<Record<string, unknown>> = async () => ({})): void {
describe(`signatures: trust policy and the pull gate (${label})`, () => {
  let reg: TestRegistry;
  let admin: ApiClient;
  let dev: ApiClient;
  let ci: TestKey;
  const PASSWORD = 'Passw0rd-for-tests';
  const devAuth = `Basic ${Buffer.from(`dave:${PASSWORD}`).toString('base64')}`;

  const pull = (repository: string, reference: string, auth = devAuth): Promise<Response> =>
    request(`${reg.url}/v2/${repository}/manifests/${reference}`, { headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
  const setPolicy = async (project: string, level: string, keys: Array<{ name: string; pem: string }>) => {
    const res = await admin('PUT', `/api/v2.0/projects/${project}/trust`, { json: { level, public_keys: keys } });
    assert.equal(res.status, 200, res.text);
    return res.json() as { version: number; effective_level: string };
  };
  const signCosign = (repository: string, subject: { digest: string; size: number }, key: TestKey, mode: 'tag' | 'referrer' = 'tag', payloadDigest = subject.digest) => {
    const payload = cosignPayload(repository, payloadDigest);
    return pushCosignSignature(reg.url, devAuth, repository, subject, [{ payload, signature: signWith(key, payload) }], mode);
  };

  before(async () => {
    reg = await startTestRegistry(await config());
    ci = makeKey();
    for (const name of ['demo', 'loose', 'harbor']) {
      const p = await reg.projects.create({ name, public: false }, { user: null }, SYSTEM_ACTOR);
      if (name === 'demo' || name === 'loose' || name === 'harbor') {
        await reg.users!.setPassword('dave', PASSWORD);
        await reg.projects.addMember(p, 'dave', ROLES.developer, SYSTEM_ACTOR);
      }
    }
    admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    dev = await apiClient(reg.url, { headers: { Authorization: devAuth } });
  });
  after(() => reg.close());

  test('the policy: readers read it, only admins change it, bad keys are 400, keys added and removed, every change a new version', async () => {
    const initial = await dev('GET', '/api/v2.0/projects/demo/trust');
    assert.equal(initial.status, 200, initial.text);
    assert.deepEqual({ level: initial.json().level, version: initial.json().version, keys: initial.json().public_keys }, { level: 'off', version: 0, keys: [] });
    assertApiError(await dev('PUT', '/api/v2.0/projects/demo/trust', { json: { level: 'enforce' } }), 403, 'FORBIDDEN');
    assertApiError(await admin('PUT', '/api/v2.0/projects/demo/trust', { json: { level: 'enforce', public_keys: [{ name: 'junk', pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }] } }), 400, 'BAD_REQUEST');
    assertApiError(await admin('PUT', '/api/v2.0/projects/demo/trust', { json: { level: 'sometimes' } }), 400, 'BAD_REQUEST');
    const v1 = await setPolicy('demo', 'off', []);
    const added = await admin('POST', '/api/v2.0/projects/demo/trust/keys', { json: { name: 'ci', pem: ci.pem } });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.json().version, v1.version + 1);
    assert.deepEqual(added.json().public_keys, [{ name: 'ci', pem: ci.pem }]);
    assertApiError(await admin('POST', '/api/v2.0/projects/demo/trust/keys', { json: { name: 'ci', pem: makeKey().pem } }), 409, 'CONFLICT');
    assertApiError(await admin('DELETE', '/api/v2.0/projects/demo/trust/keys/nope'), 404, 'NOT_FOUND');
    assertApiError(await dev('POST', '/api/v2.0/projects/demo/trust/keys', { json: { name: 'mine', pem: makeKey().pem } }), 403, 'FORBIDDEN');
    assert.equal((await admin('DELETE', '/api/v2.0/projects/demo/trust/keys/ci')).json().public_keys.length, 0);
  });

  test('enforce: unsigned refused with a 403 naming the policy, then served once a valid signature arrives; blobs and signatures never gated', async () => {
    const image = await pushImage(reg.url, devAuth, 'demo/app', 'v1', 'app-v1');
    assert.equal((await pull('demo/app', 'v1')).status, 200, 'off: served');
    await setPolicy('demo', 'enforce', [{ name: 'ci', pem: ci.pem }]);
    const refused = await pull('demo/app', 'v1');
    assertOciError(refused, 403, 'DENIED');
    assert.match(refused.text, /policy of project demo requires a valid signature: no signature found/);
    assertOciError(await pull('demo/app', image.digest), 403, 'DENIED', 'by digest too');
    // The refusal is cached; the signature pushed now must count at once.
    const sig = await signCosign('demo/app', image, ci);
    const served = await pull('demo/app', 'v1');
    assert.equal(served.status, 200, served.text);
    // Signatures are pulled to verify anything: by their tag and by digest.
    assert.equal((await pull('demo/app', `${image.digest.replace(':', '-')}.sig`)).status, 200);
    assert.equal((await pull('demo/app', sig)).status, 200);
    // Blobs are not gated (their manifest is).
    const unsigned = await pushImage(reg.url, devAuth, 'demo/app', 'v2', 'app-v2');
    assertOciError(await pull('demo/app', 'v2'), 403, 'DENIED');
    const manifest = JSON.parse((await request(`${reg.url}/v2/demo/app/manifests/${sig}`, { headers: { Authorization: devAuth } })).text) as { layers: Array<{ digest: string }> };
    assert.equal((await request(`${reg.url}/v2/demo/app/blobs/${manifest.layers[0]!.digest}`, { headers: { Authorization: devAuth } })).status, 200);
    assert.ok(unsigned.digest);
  });

  test('enforce: wrong key, tampered payload, another digest are refused, each saying why; referrer and sigstore bundle signatures count', async () => {
    const wrong = await pushImage(reg.url, devAuth, 'demo/bad', 'wrong-key', 'bad-1');
    await signCosign('demo/bad', wrong, makeKey());
    const r1 = await pull('demo/bad', 'wrong-key');
    assertOciError(r1, 403, 'DENIED');
    assert.match(r1.text, /1 signature found, cosign — wrong key/);

    const tampered = await pushImage(reg.url, devAuth, 'demo/bad', 'tampered', 'bad-2');
    const payload = cosignPayload('demo/bad', tampered.digest);
    const signature = signWith(ci, payload);
    await pushCosignSignature(reg.url, devAuth, 'demo/bad', tampered, [{ payload: Buffer.from(payload.toString().replace('demo/bad', 'demo/evil')), signature }]);
    assert.match((await pull('demo/bad', 'tampered')).text, /wrong key: no trusted key verifies it \(or the payload was altered\)/);

    const other = await pushImage(reg.url, devAuth, 'demo/bad', 'other', 'bad-3');
    const elsewhere = await pushImage(reg.url, devAuth, 'demo/bad', 'elsewhere', 'bad-4');
    await signCosign('demo/bad', other, ci, 'tag', elsewhere.digest);
    const r3 = await pull('demo/bad', 'other');
    assertOciError(r3, 403, 'DENIED');
    assert.match(r3.text, new RegExp(`by key 'ci' for another digest \\(${elsewhere.digest}\\)`));

    const referred = await pushImage(reg.url, devAuth, 'demo/good', 'referrer', 'good-1');
    await signCosign('demo/good', referred, ci, 'referrer');
    assert.equal((await pull('demo/good', 'referrer')).status, 200);

    const bundled = await pushImage(reg.url, devAuth, 'demo/good', 'bundle', 'good-2');
    assertOciError(await pull('demo/good', 'bundle'), 403, 'DENIED');
    const bundleDigest = await pushBundle(reg.url, devAuth, 'demo/good', bundled, sigstoreBundle(ci, statement(bundled.digest)));
    assert.equal((await pull('demo/good', 'bundle')).status, 200);
    assert.equal((await pull('demo/good', bundleDigest)).status, 200, 'the bundle referrer itself is never gated');
    const badBundle = await pushImage(reg.url, devAuth, 'demo/good', 'bundle-other', 'good-3');
    await pushBundle(reg.url, devAuth, 'demo/good', badBundle, sigstoreBundle(ci, statement(bundled.digest)));
    assert.match((await pull('demo/good', 'bundle-other')).text, /sigstore-bundle — signed by key 'ci' for another digest/);
  });

  test("an index's signature covers its children pulled by digest; an unsigned index's children are refused", async () => {
    const signed = await pushIndex(reg.url, devAuth, 'demo/multi', 'signed');
    const unsigned = await pushIndex(reg.url, devAuth, 'demo/multi2', 'unsigned');
    const index = await request(`${reg.url}/v2/demo/multi/manifests/${signed.digest}`, { method: 'HEAD', headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.index.v1+json' } });
    assertOciError(await pull('demo/multi', signed.children[0]!), 403, 'DENIED');
    await signCosign('demo/multi', { digest: signed.digest, size: Number(index.headers['content-length']) }, ci);
    assert.equal((await pull('demo/multi', 'signed')).status, 200);
    for (const child of signed.children) assert.equal((await pull('demo/multi', child)).status, 200, 'a child of the signed index');
    const refused = await pull('demo/multi2', unsigned.children[0]!);
    assertOciError(refused, 403, 'DENIED');
  });

  test('a policy change re-verifies: the key removed refuses what it signed, added back serves it', async () => {
    assert.equal((await pull('demo/app', 'v1')).status, 200);
    const other = makeKey();
    await setPolicy('demo', 'enforce', [{ name: 'other', pem: other.pem }]);
    assert.match((await pull('demo/app', 'v1')).text, /1 signature found, cosign — wrong key/);
    await setPolicy('demo', 'enforce', [{ name: 'other', pem: other.pem }, { name: 'ci', pem: ci.pem }]);
    assert.equal((await pull('demo/app', 'v1')).status, 200);
  });

  test('keyless: a bundle whose certificate chains to the trusted root with a trusted identity is served; another identity is refused', async () => {
    const pki = await makeKeylessPki(await tempDir());
    const identity = { issuer: 'https://issuer.example', subject: 'release@example.com' };
    const put = await admin('PUT', '/api/v2.0/projects/demo/trust', { json: { level: 'enforce', public_keys: [{ name: 'ci', pem: ci.pem }], keyless: { trusted_root_json: pki.trustedRootJson, identities: [identity] } } });
    assert.equal(put.status, 200, put.text);
    assertApiError(await admin('PUT', '/api/v2.0/projects/demo/trust', { json: { level: 'enforce', keyless: { trusted_root_json: '{"certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}', identities: [] } } }), 400, 'BAD_REQUEST');
    const good = await pushImage(reg.url, devAuth, 'demo/keyless', 'good', 'kl-1');
    const bad = await pushImage(reg.url, devAuth, 'demo/keyless', 'bad', 'kl-2');
    await pushBundle(reg.url, devAuth, 'demo/keyless', good, await pki.bundle(statement(good.digest), { san: identity.subject, issuer: identity.issuer }));
    await pushBundle(reg.url, devAuth, 'demo/keyless', bad, await pki.bundle(statement(bad.digest), { san: 'mallory@example.com', issuer: identity.issuer }));
    assert.equal((await pull('demo/keyless', 'good')).status, 200);
    const refused = await pull('demo/keyless', 'bad');
    assertOciError(refused, 403, 'DENIED');
    assert.match(refused.text, /keyless: signed by mallory@example\.com \(issuer https:\/\/issuer\.example\), an identity the policy does not trust/);
    const sigs = (await dev('GET', '/api/v2.0/projects/demo/repositories/keyless/artifacts/good/additions/signatures')).json();
    assert.equal(sigs.signatures[0].signer, 'release@example.com (issuer https://issuer.example)');
    assert.ok(sigs.signatures[0].expires_at);
    await setPolicy('demo', 'enforce', [{ name: 'ci', pem: ci.pem }]);
  });

  test('warn and audit: served, and recorded in the audit log', async () => {
    for (const level of ['warn', 'audit'] as const) {
      const repo = `loose/${level}`;
      await setPolicy('loose', level, [{ name: 'ci', pem: ci.pem }]);
      const image = await pushImage(reg.url, devAuth, repo, 'v1', `loose-${level}`);
      assert.equal((await pull(repo, 'v1')).status, 200, `${level}: served`);
      let found: { operation_description: string } | undefined;
      for (let i = 0; i < 50 && !found; i++) {
        const logs = await admin('GET', '/api/v2.0/projects/loose/auditlog-exts?page_size=100');
        found = (logs.json() as Array<{ operation_description: string; resource: string }>).find((e) => e.resource === `${repo}:v1` && /without a valid signature/.test(e.operation_description));
        if (!found) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(found, `${level}: the unsigned pull is in the audit log`);
      assert.match(found.operation_description, level === 'warn' ? /^served without a valid signature: policy of project loose/ : /^served \(audit only\)/);
      assert.ok(image.digest);
    }
  });

  test("Harbor's enable_content_trust_cosign enforces with verification; the accessories and the signatures addition", async () => {
    const signed = await pushImage(reg.url, devAuth, 'harbor/app', 'signed', 'h-1');
    const fake = await pushImage(reg.url, devAuth, 'harbor/app', 'fake', 'h-2');
    await signCosign('harbor/app', signed, ci);
    await signCosign('harbor/app', fake, makeKey());
    await setPolicy('harbor', 'off', [{ name: 'ci', pem: ci.pem }]);
    assert.equal((await pull('harbor/app', 'fake')).status, 200, 'off: served');
    const res = await admin('PUT', '/api/v2.0/projects/harbor', { json: { metadata: { enable_content_trust_cosign: 'true' } } });
    assert.equal(res.status, 200, res.text);
    const view = (await dev('GET', '/api/v2.0/projects/harbor/trust')).json();
    assert.equal(view.effective_level, 'enforce');
    assert.equal((await pull('harbor/app', 'signed')).status, 200);
    const refused = await pull('harbor/app', 'fake');
    assertOciError(refused, 403, 'DENIED');
    assert.match(refused.text, /requires a valid cosign signature \(enable_content_trust_cosign\): 1 signature found, cosign — wrong key/, 'Harbor would serve it: a signature exists');

    const accessories = await dev('GET', '/api/v2.0/projects/harbor/repositories/app/artifacts/signed/accessories');
    assert.equal(accessories.status, 200, accessories.text);
    const list = accessories.json() as Array<{ type: string; subject_artifact_digest: string; digest: string; size: number }>;
    assert.equal(list.length, 1);
    assert.equal(list[0]!.type, 'signature.cosign');
    assert.equal(list[0]!.subject_artifact_digest, signed.digest);
    const sigs = await dev('GET', '/api/v2.0/projects/harbor/repositories/app/artifacts/fake/additions/signatures');
    assert.equal(sigs.status, 200, sigs.text);
    const body = sigs.json() as { level: string; satisfied: boolean; message: string; signatures: Array<{ format: string; verified: boolean; reason: string; location: string }> };
    assert.equal(body.level, 'enforce');
    assert.equal(body.satisfied, false);
    assert.equal(body.signatures[0]!.format, 'cosign');
    assert.equal(body.signatures[0]!.verified, false);
    assert.match(body.signatures[0]!.location, /^tag sha256-[a-f0-9]{64}\.sig$/);
    const good = (await dev('GET', '/api/v2.0/projects/harbor/repositories/app/artifacts/signed/additions/signatures')).json();
    assert.deepEqual([good.satisfied, good.signatures[0].verified, good.signatures[0].signer], [true, true, 'ci']);
    assertApiError(await dev('GET', '/api/v2.0/projects/harbor/repositories/app/artifacts/nope/additions/signatures'), 404, 'NOT_FOUND');
  });
});
}
