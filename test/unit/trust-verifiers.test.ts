// The cosign (legacy, key-based) and sigstore-bundle verifiers on real signatures: made with
// node:crypto for each key type cosign uses and with Python's `cryptography` as an independent
// signer; and every way one must fail: an altered payload, a wrong key, a signature for another
// digest, a payload of another type, missing annotations, malformed bundles, keyless bundles,
// a statement about another digest, no trusted key at all. Also: bad keys refused by the policy check.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { CosignVerifier } from '../../src/trust/cosign-verifier.js';
import { SigstoreBundleVerifier } from '../../src/trust/sigstore-bundle-verifier.js';
import { checkMaterial } from '../../src/trust/trust-material.js';
import { emptyMaterial } from '../../src/trust/trust-policy-store.js';
import type { FoundSignature, SignatureParts, TrustMaterial } from '../../src/trust/signatures.js';
import { cosignPayload, makeKey, makeKeylessPki, pythonSigner, sigstoreBundle, signWith, statement, type KeylessPki, type TestKey } from '../helpers/signatures.js';
import { tempDir } from '../helpers/registry.js';
import { sha256 } from '../helpers/oci.js';

const SUBJECT = sha256('the subject manifest');
const OTHER = sha256('another manifest');

const found = (format: FoundSignature['format']): FoundSignature => ({ format, subject: SUBJECT, digest: sha256('sig manifest'), location: 'referrer', load: async () => ({ layers: [] }) });
const material = (...keys: Array<{ name: string; pem: string }>): TrustMaterial => ({ ...emptyMaterial(), version: 1, publicKeys: keys });

function cosignParts(payload: Buffer, signature: string | undefined): SignatureParts {
  return {
    layers: [
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(payload), bytes: payload, annotations: signature === undefined ? {} : { 'dev.cosignproject.cosign/signature': signature } },
    ],
  };
}

function bundleParts(bundle: Buffer): SignatureParts {
  return { layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: sha256(bundle), bytes: bundle, annotations: {} }] };
}

describe('cosign verifier (key-based)', () => {
  const cosign = new CosignVerifier();
  const verify = (parts: SignatureParts, m: TrustMaterial, subject = SUBJECT) => cosign.verify(found('cosign'), parts, subject, m);

  for (const kind of ['ec', 'rsa', 'ed25519'] as const) {
    test(`a ${kind} signature verifies with its key, and names the key`, async () => {
      const key = makeKey(kind);
      const payload = cosignPayload('demo/app', SUBJECT);
      const r = await verify(cosignParts(payload, signWith(key, payload)), material({ name: 'other', pem: makeKey().pem }, { name: 'ci', pem: key.pem }));
      assert.equal(r.verified, true, r.reason);
      assert.equal(r.signer, 'ci');
    });
  }

  test('a signature made by Python cryptography verifies (an independent signer)', async () => {
    const py = pythonSigner();
    const payload = cosignPayload('demo/app', SUBJECT);
    const r = await verify(cosignParts(payload, py.sign(payload)), material({ name: 'py', pem: py.pem }));
    assert.equal(r.verified, true, r.reason);
    assert.equal(r.signer, 'py');
  });

  test('keys of the payload are matched case-insensitively (cosign spec: Docker-manifest-digest)', async () => {
    const key = makeKey();
    const payload = cosignPayload('demo/app', SUBJECT, { key: 'Docker-manifest-digest' });
    assert.equal((await verify(cosignParts(payload, signWith(key, payload)), material({ name: 'ci', pem: key.pem }))).verified, true);
  });

  test('every failure says why', async () => {
    const key = makeKey();
    const m = material({ name: 'ci', pem: key.pem });
    const payload = cosignPayload('demo/app', SUBJECT);
    const good = signWith(key, payload);
    const tampered = Buffer.from(payload.toString().replace('demo/app', 'evil/app'));
    const cases: Array<[string, SignatureParts, TrustMaterial, RegExp]> = [
      ['altered payload', cosignParts(tampered, good), m, /wrong key|altered/],
      ['wrong key', cosignParts(payload, signWith(makeKey(), payload)), m, /wrong key/],
      ['garbage signature', cosignParts(payload, 'bm90IGEgc2lnbmF0dXJl'), m, /wrong key/],
      ['no signature annotation', cosignParts(payload, undefined), m, /no dev\.cosignproject\.cosign\/signature/],
      ['no trusted key', cosignParts(payload, good), material(), /trusts no public key/],
      ['no simple-signing layer', { layers: [] }, m, /no application\/vnd\.dev\.cosign\.simplesigning/],
    ];
    const other = cosignPayload('demo/app', OTHER);
    cases.push(['another digest', cosignParts(other, signWith(key, other)), m, /another digest \(sha256:/]);
    const wrongType = cosignPayload('demo/app', SUBJECT, { type: 'something else' });
    cases.push(['another type', cosignParts(wrongType, signWith(key, wrongType)), m, /its type is "something else"/]);
    const notJson = Buffer.from('not json');
    cases.push(['payload not JSON', cosignParts(notJson, signWith(key, notJson)), m, /not JSON/]);
    for (const [what, parts, mat, reason] of cases) {
      const r = await verify(parts, mat);
      assert.equal(r.verified, false, what);
      assert.match(r.reason ?? '', reason, what);
    }
  });
});

describe('sigstore bundle verifier (key-based, offline)', () => {
  const verifier = new SigstoreBundleVerifier();
  const verify = (bundle: Buffer, m: TrustMaterial, subject = SUBJECT) => verifier.verify(found('sigstore-bundle'), bundleParts(bundle), subject, m);
  let key: TestKey;

  test('a DSSE bundle over an in-toto statement of the subject verifies', async () => {
    key = makeKey();
    for (const k of [key, makeKey('ed25519')]) {
      const r = await verify(sigstoreBundle(k, statement(SUBJECT)), material({ name: 'release', pem: k.pem }));
      assert.equal(r.verified, true, r.reason);
      assert.equal(r.signer, 'release');
    }
  });

  test('every failure says why', async () => {
    const m = material({ name: 'release', pem: key.pem });
    const good = JSON.parse(sigstoreBundle(key, statement(SUBJECT)).toString());
    const altered = structuredClone(good);
    altered.dsseEnvelope.payload = statement(OTHER).toString('base64');
    const keyless = structuredClone(good);
    keyless.verificationMaterial = { certificate: { rawBytes: Buffer.from('not a certificate').toString('base64') }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } };
    const cases: Array<[string, Buffer, TrustMaterial, RegExp]> = [
      ['wrong key', sigstoreBundle(makeKey(), statement(SUBJECT)), m, /wrong key/],
      ['altered envelope', Buffer.from(JSON.stringify(altered)), m, /wrong key|altered/],
      ['another digest', sigstoreBundle(key, statement(OTHER)), m, /another digest \(sha256:/],
      ['not an in-toto payload type', sigstoreBundle(key, statement(SUBJECT), 'text/plain'), m, /payload type is text\/plain/],
      ['a statement without subjects', sigstoreBundle(key, Buffer.from('{"_type":"x"}')), m, /not an in-toto statement/],
      ['not JSON', Buffer.from('{{{'), m, /malformed bundle/],
      ['not a bundle', Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'), m, /malformed bundle/],
      ['a certificate that does not parse', Buffer.from(JSON.stringify(keyless)), m, /malformed bundle/],
      ['no trusted key', sigstoreBundle(key, statement(SUBJECT)), material(), /trusts no public key/],
    ];
    for (const [what, bundle, mat, reason] of cases) {
      const r = await verify(bundle, mat);
      assert.equal(r.verified, false, what);
      assert.match(r.reason ?? '', reason, what);
    }
  });
});

describe('trust material checks', () => {
  test('bad keys are refused with a reason naming them; good ones pass', () => {
    const ok = { ...emptyMaterial(), publicKeys: [{ name: 'ci', pem: makeKey().pem }, { name: 'rsa', pem: makeKey('rsa').pem }, { name: 'ed', pem: makeKey('ed25519').pem }] };
    checkMaterial('demo', ok);
    const bad = (publicKeys: Array<{ name: string; pem: string }>) => () => checkMaterial('demo', { ...emptyMaterial(), publicKeys });
    assert.throws(bad([{ name: 'junk', pem: 'not a key' }]), (e: Error & { code?: string }) => e.code === 'INVALID' && /key "junk" is not a PEM public key/.test(e.message));
    assert.throws(bad([{ name: 'a', pem: makeKey().pem }, { name: 'a', pem: makeKey().pem }]), /names key "a" twice/);
    assert.throws(bad([{ name: 'bad name!', pem: makeKey().pem }]), /name "bad name!" is not valid/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(bad([{ name: 'small', pem: small }]), /shorter than 2048 bits/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(bad([{ name: 'k1', pem: k1 }]), /secp256k1/);
    assert.throws(() => checkMaterial('demo', { ...emptyMaterial(), keyless: { trustedRootJson: '{}', identities: [] } }), /no certificateAuthorities/);
  });
});

describe('sigstore bundle verifier (keyless, offline against a trusted root)', () => {
  const verifier = new SigstoreBundleVerifier();
  const ISSUER = 'https://token.actions.example';
  const SAN = 'https://github.example/org/repo/.github/workflows/release.yml@refs/heads/main';
  let pki: KeylessPki;
  let keyless: (identities: Array<{ issuer: string; subject: string }>) => TrustMaterial;

  test('a certificate from the trusted CA, valid at its RFC 3161 time, with a trusted identity, verifies', async () => {
    pki = await makeKeylessPki(await tempDir());
    keyless = (identities) => ({ ...emptyMaterial(), version: 1, keyless: { trustedRootJson: pki.trustedRootJson, identities } });
    const bundle = await pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER });
    for (const subject of [SAN, '/https://github\\.example/org/repo/.*/'])  {
      const r = await verifier.verify(found('sigstore-bundle'), bundleParts(bundle), SUBJECT, keyless([{ issuer: ISSUER, subject }]));
      assert.equal(r.verified, true, r.reason);
      assert.equal(r.signer, `${SAN} (issuer ${ISSUER})`);
      assert.ok(r.expiresAt);
    }
  });

  test('every failure says why: expired or not yet valid, another CA, no timestamp, other identity or issuer, other digest, no root', async () => {
    const m = keyless([{ issuer: ISSUER, subject: SAN }]);
    const day = 86_400_000;
    const cases: Array<[string, () => Promise<Buffer>, TrustMaterial, RegExp]> = [
      ['expired', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER, notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) }), m, /keyless: .*(expired|not valid)/],
      ['not yet valid', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER, notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 2 * day) }), m, /keyless: .*(expired|not valid)/],
      ['untrusted CA', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER, otherCa: true }), m, /keyless: .*certificate/i],
      ['no timestamp', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER, timestamp: false }), m, /keyless: expected 1 timestamps/],
      ['other identity', () => pki.bundle(statement(SUBJECT), { san: 'mallory@evil.example', issuer: ISSUER }), m, /signed by mallory@evil\.example .*does not trust/],
      ['other issuer', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: 'https://evil.example' }), m, /issuer https:\/\/evil\.example\), an identity the policy does not trust/],
      ['regex is anchored', () => pki.bundle(statement(SUBJECT), { san: `${SAN}-evil`, issuer: ISSUER }), keyless([{ issuer: ISSUER, subject: `/${SAN.replace(/[.?]/g, '\\$&')}/` }]), /does not trust/],
      ['other digest', () => pki.bundle(statement(OTHER), { san: SAN, issuer: ISSUER }), m, /for another digest/],
      ['no trusted root', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER }), { ...m, keyless: { identities: m.keyless.identities } }, /no keyless trusted root/],
      ['no identities', () => pki.bundle(statement(SUBJECT), { san: SAN, issuer: ISSUER }), keyless([]), /trusts no keyless identity/],
    ];
    for (const [what, bundle, mat, reason] of cases) {
      const r = await verifier.verify(found('sigstore-bundle'), bundleParts(await bundle()), SUBJECT, mat);
      assert.equal(r.verified, false, what);
      assert.match(r.reason ?? '', reason, what);
    }
  });

  test('legacy cosign keyless layers (certificate and RFC 3161 annotations) verify the same way', async () => {
    const cosign = new CosignVerifier();
    const m = keyless([{ issuer: ISSUER, subject: SAN }]);
    const layer = async (o: Parameters<KeylessPki['cosign']>[1], digest = SUBJECT): Promise<SignatureParts> => {
      const payload = cosignPayload('demo/app', digest);
      const { signature, annotations } = await pki.cosign(payload, o);
      return { layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(payload), bytes: payload, annotations: { 'dev.cosignproject.cosign/signature': signature, ...annotations } }] };
    };
    const ok = await cosign.verify(found('cosign'), await layer({ san: SAN, issuer: ISSUER }), SUBJECT, m);
    assert.equal(ok.verified, true, ok.reason);
    assert.equal(ok.signer, `${SAN} (issuer ${ISSUER})`);
    const day = 86_400_000;
    const cases: Array<[string, () => Promise<SignatureParts>, RegExp]> = [
      ['expired', () => layer({ san: SAN, issuer: ISSUER, notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) }), /keyless: .*(expired|not valid)/],
      ['untrusted CA', () => layer({ san: SAN, issuer: ISSUER, otherCa: true }), /keyless: .*certificate/i],
      ['no timestamp', () => layer({ san: SAN, issuer: ISSUER, timestamp: false }), /keyless: expected 1 timestamps/],
      ['other identity', () => layer({ san: 'mallory@evil.example', issuer: ISSUER }), /does not trust/],
      ['other digest', () => layer({ san: SAN, issuer: ISSUER }, OTHER), /signed by https:\/\/github\.example.* for another digest/],
    ];
    for (const [what, parts, reason] of cases) {
      const r = await cosign.verify(found('cosign'), await parts(), SUBJECT, m);
      assert.equal(r.verified, false, what);
      assert.match(r.reason ?? '', reason, what);
    }
  });
});
