// Notary Project v1 verification: envelopes built here as the specification describes them (JWS
// with jose, COSE_Sign1 with cbor-x), certificates with @peculiar/x509; each way a signature
// must fail is tried against a signature that otherwise verifies.
import assert from 'node:assert/strict';
import { createHash, KeyObject, sign as cryptoSign, constants, webcrypto } from 'node:crypto';
import { before, test } from 'node:test';
import * as x509 from '../../src/tls/x509.js';
import { Encoder, Tag } from 'cbor-x';
import { FlattenedSign } from 'jose';
import { NotationVerifier } from '../../src/trust/notation-verifier.js';
import type { FoundSignature, SignatureFormat, SignatureParts, TrustMaterial } from '../../src/trust/signatures.js';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const DAY = 86_400_000;
const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA: RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

async function makeCa(name: string): Promise<Issued> {
  const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name,
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() + 365 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

async function makeIntermediate(ca: Issued, name: string): Promise<Issued> {
  const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '04',
    subject: name,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 100 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

async function makeLeaf(
  ca: Issued,
  name: string,
  opts: { rsa?: boolean; notBefore?: Date; notAfter?: Date; eku?: string[] | null; keyUsage?: number; issuerHash?: string } = {},
): Promise<Issued> {
  const keys = (await subtle.generateKey(opts.rsa ? RSA : EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: name,
    issuer: ca.cert.subject,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { ...EC, hash: opts.issuerHash ?? 'SHA-256' },
    extensions: [
      new x509.KeyUsagesExtension(opts.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true),
      ...(opts.eku === null ? [] : [new x509.ExtendedKeyUsageExtension(opts.eku ?? [x509.ExtendedKeyUsage.codeSigning])]),
    ],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

const SUBJECT = 'sha256:' + 'ab'.repeat(32);
const PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
const payloadFor = (digest: string) => Buffer.from(JSON.stringify({ targetArtifact: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1234 } }));

interface EnvelopeOptions {
  /** notary.x509.signingAuthority: the signing time is sent as io.cncf.notary.authenticSigningTime. */
  signingAuthority?: boolean;
  digest?: string;
  signingTime?: Date;
  expiry?: Date;
  extraCrit?: string[];
  alg?: string;
}

async function privateKeyObject(keys: CryptoKeyPair): Promise<KeyObject> {
  return KeyObject.from(keys.privateKey);
}

async function jwsEnvelope(leaf: Issued, chain: Issued[], o: EnvelopeOptions = {}): Promise<Buffer> {
  const timeHeader = o.signingAuthority ? 'io.cncf.notary.authenticSigningTime' : 'io.cncf.notary.signingTime';
  const crit = ['io.cncf.notary.signingScheme', ...(o.signingAuthority ? [timeHeader] : []), ...(o.expiry ? ['io.cncf.notary.expiry'] : []), ...(o.extraCrit ?? [])];
  const header: Record<string, unknown> = {
    alg: o.alg ?? 'ES256',
    cty: PAYLOAD_TYPE,
    crit,
    'io.cncf.notary.signingScheme': o.signingAuthority ? 'notary.x509.signingAuthority' : 'notary.x509',
    [timeHeader]: (o.signingTime ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  if (o.expiry) header['io.cncf.notary.expiry'] = o.expiry.toISOString().replace(/\.\d+Z$/, 'Z');
  for (const c of o.extraCrit ?? []) header[c] = 'x';
  const jws = await new FlattenedSign(payloadFor(o.digest ?? SUBJECT))
    .setProtectedHeader(header as never)
    .setUnprotectedHeader({ x5c: chain.map((c) => Buffer.from(c.cert.rawData).toString('base64')), 'io.cncf.notary.signingAgent': 'minato-test/1' })
    .sign(await privateKeyObject(leaf.keys), { crit: Object.fromEntries(crit.map((c) => [c, true])) });
  return Buffer.from(JSON.stringify(jws));
}

const cbor = new Encoder({ mapsAsObjects: false, useRecords: false });

/** A CBOR byte string (major type 2) of up to 65535 bytes. */
function bstr(bytes: Buffer): Buffer {
  const head = bytes.length < 24 ? Buffer.from([0x40 + bytes.length]) : bytes.length < 256 ? Buffer.from([0x58, bytes.length]) : Buffer.from([0x59, bytes.length >> 8, bytes.length & 0xff]);
  return Buffer.concat([head, bytes]);
}

async function coseEnvelope(leaf: Issued, chain: Issued[], o: EnvelopeOptions & { rsa?: boolean; algId?: number } = {}): Promise<Buffer> {
  const crit = ['io.cncf.notary.signingScheme', ...(o.expiry ? ['io.cncf.notary.expiry'] : []), ...(o.extraCrit ?? [])];
  const protectedHeader = new Map<unknown, unknown>([
    [1, o.algId ?? (o.rsa ? -37 : -7)],
    [2, crit],
    [3, PAYLOAD_TYPE],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ['io.cncf.notary.signingTime', new Date(Math.floor((o.signingTime ?? new Date()).getTime() / 1000) * 1000)],
  ]);
  if (o.expiry) protectedHeader.set('io.cncf.notary.expiry', new Date(Math.floor(o.expiry.getTime() / 1000) * 1000));
  for (const c of o.extraCrit ?? []) protectedHeader.set(c, 'x');
  const protectedBytes = Buffer.from(cbor.encode(protectedHeader));
  const payload = payloadFor(o.digest ?? SUBJECT);
  // RFC 9052 §4.4 Sig_structure, written out byte by byte (not with cbor-x, which the verifier
  // uses): array(4), text "Signature1", bstr protected, bstr external_aad (empty), bstr payload.
  const toSign = Buffer.concat([Buffer.from([0x84, 0x6a]), Buffer.from('Signature1'), bstr(protectedBytes), Buffer.from([0x40]), bstr(payload)]);
  const key = await privateKeyObject(leaf.keys);
  const signature = o.rsa
    ? cryptoSign('sha256', toSign, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    : cryptoSign('sha256', toSign, { key, dsaEncoding: 'ieee-p1363' });
  const unprotected = new Map<unknown, unknown>([[33, chain.map((c) => Buffer.from(c.cert.rawData))]]);
  return Buffer.from(cbor.encode(new Tag([protectedBytes, unprotected, payload, signature], 18)));
}

function found(format: SignatureFormat, envelope: Buffer): { sig: FoundSignature; parts: SignatureParts } {
  const mediaType = format === 'notation-cose' ? 'application/cose' : 'application/jose+json';
  const digest = 'sha256:' + createHash('sha256').update(envelope).digest('hex');
  const parts: SignatureParts = { layers: [{ mediaType, digest, annotations: {}, bytes: envelope }] };
  return { sig: { format, subject: SUBJECT, digest, location: 'referrer', load: async () => parts }, parts };
}

function material(roots: Issued[], identities = ['x509.subject: C=US, ST=WA, O=Acme Rockets']): TrustMaterial {
  return {
    version: 1,
    publicKeys: [],
    notation: { certificates: roots.map((r, i) => ({ name: `root-${i}`, pem: r.pem, kind: 'ca' as const })), trustedIdentities: identities },
    gpgKeys: [],
    keyless: { identities: [] },
  };
}

const verifier = new NotationVerifier();
let root: Issued, otherRoot: Issued, leaf: Issued, rsaLeaf: Issued, expiredLeaf: Issued, serverLeaf: Issued;
const LEAF_DN = 'CN=signer.acme.example, O=Acme Rockets, ST=WA, C=US';

before(async () => {
  root = await makeCa('CN=Acme Root, O=Acme Rockets, C=US');
  otherRoot = await makeCa('CN=Other Root, O=Other, C=US');
  leaf = await makeLeaf(root, LEAF_DN);
  rsaLeaf = await makeLeaf(root, LEAF_DN, { rsa: true });
  expiredLeaf = await makeLeaf(root, LEAF_DN, { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
  serverLeaf = await makeLeaf(root, LEAF_DN, { eku: [x509.ExtendedKeyUsage.serverAuth] });
});

async function verify(format: SignatureFormat, envelope: Buffer, m: TrustMaterial = material([root]), subject = SUBJECT) {
  const { sig, parts } = found(format, envelope);
  return verifier.verify(sig, parts, subject, m);
}

test('a JWS signature by a trusted identity, chained to a trusted root, verifies; signer and expiry are the leaf', async () => {
  const r = await verify('notation-jws', await jwsEnvelope(leaf, [leaf, root]));
  assert.equal(r.verified, true, r.reason);
  assert.match(r.signer!, /CN=signer\.acme\.example/);
  assert.equal(r.expiresAt, leaf.cert.notAfter.toISOString());
});

test('a root-only chain (a self-signed signing certificate, as `notation cert generate-test` makes) verifies when the trust store holds it', async () => {
  const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '03',
    name: LEAF_DN,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])],
  });
  const self: Issued = { cert, keys, pem: cert.toString('pem') };
  const r = await verify('notation-jws', await jwsEnvelope(self, [self]), material([self]));
  assert.equal(r.verified, true, r.reason);
  const untrusted = await verify('notation-cose', await coseEnvelope(self, [self]), material([root]));
  assert.match(untrusted.reason!, /no certificate of the chain .* is in the project's trust store/);
});

test('a chain through an intermediate CA verifies with the root in the store, or the intermediate alone', async () => {
  const intermediate = await makeIntermediate(root, 'CN=Acme Signing CA, O=Acme Rockets, C=US');
  const signer = await makeLeaf(intermediate, LEAF_DN);
  const env = await jwsEnvelope(signer, [signer, intermediate, root]);
  assert.equal((await verify('notation-jws', env)).verified, true);
  assert.equal((await verify('notation-jws', env, material([intermediate]))).verified, true);
  const incomplete = await verify('notation-jws', await jwsEnvelope(signer, [signer, intermediate]), material([intermediate]));
  assert.match(incomplete.reason!, /does not end in a root/);
});

test('notary.x509.signingAuthority: the authentic signing time decides, against the signingAuthority store', async () => {
  const signingTime = new Date(Date.now() - 5 * DAY);
  const env = await jwsEnvelope(expiredLeaf, [expiredLeaf, root], { signingAuthority: true, signingTime });
  const authority = material([root]);
  authority.notation.certificates = authority.notation.certificates.map((c) => ({ ...c, kind: 'signingAuthority' as const }));
  const r = await verify('notation-jws', env, authority);
  assert.equal(r.verified, true, `an expired certificate, used while valid per the authority: ${r.reason}`);
  const asCa = await verify('notation-jws', env, material([root]));
  assert.match(asCa.reason!, /no signingAuthority certificates/);
  const late = await verify('notation-jws', await jwsEnvelope(expiredLeaf, [expiredLeaf, root], { signingAuthority: true }), authority);
  assert.match(late.reason!, /not valid at the authentic signing time/);
});

test('COSE signatures verify, ECDSA (ES256) and RSA-PSS (PS256); an expiry earlier than the leaf is the expiresAt', async () => {
  const ec = await verify('notation-cose', await coseEnvelope(leaf, [leaf, root]));
  assert.equal(ec.verified, true, ec.reason);
  const expiry = new Date(Date.now() + 2 * DAY);
  const rsa = await verify('notation-cose', await coseEnvelope(rsaLeaf, [rsaLeaf, root], { rsa: true, expiry }));
  assert.equal(rsa.verified, true, rsa.reason);
  assert.equal(rsa.expiresAt, new Date(Math.floor(expiry.getTime() / 1000) * 1000).toISOString());
});

test('a tampered payload fails the integrity check, in JWS and in COSE', async () => {
  const jws = JSON.parse((await jwsEnvelope(leaf, [leaf, root])).toString()) as { payload: string };
  const r1 = await verify('notation-jws', Buffer.from(JSON.stringify({ ...jws, payload: Buffer.from(payloadFor(SUBJECT).toString().replace('1234', '1235')).toString('base64url') })));
  assert.equal(r1.verified, false);
  assert.match(r1.reason!, /integrity/);
  const cose = await coseEnvelope(leaf, [leaf, root]);
  const i = cose.indexOf(Buffer.from('1234'));
  cose[i + 3] = 0x35; // "1235"
  const r2 = await verify('notation-cose', cose);
  assert.equal(r2.verified, false);
  assert.match(r2.reason!, /integrity/);
});

test('a chain to a root the trust store does not hold is refused', async () => {
  const r = await verify('notation-jws', await jwsEnvelope(leaf, [leaf, root]), material([otherRoot]));
  assert.equal(r.verified, false);
  assert.match(r.reason!, /is in the project's trust store/);
  // A leaf whose chain claims a trusted root it was not signed by.
  const stranger = await makeLeaf(otherRoot, LEAF_DN);
  const r2 = await verify('notation-jws', await jwsEnvelope(stranger, [stranger, root]));
  assert.equal(r2.verified, false);
  assert.match(r2.reason!, /not signed by the next certificate/);
});

test('trusted identities: a subset of the subject matches, another organisation does not, * matches anyone', async () => {
  const env = await jwsEnvelope(leaf, [leaf, root]);
  assert.equal((await verify('notation-jws', env, material([root], ['x509.subject: O=Acme Rockets, ST=WA, C=US']))).verified, true, 'order and CN do not matter');
  assert.equal((await verify('notation-jws', env, material([root], [`x509.subject: ${LEAF_DN}`]))).verified, true, 'the full subject');
  const partial = await verify('notation-jws', env, material([root], ['x509.subject: O=Acme Rockets, C=US']));
  assert.equal(partial.verified, false, 'an identity without ST is invalid and matches nothing');
  const other = await verify('notation-jws', env, material([root], ['x509.subject: C=US, ST=WA, O=Wabbit Networks']));
  assert.equal(other.verified, false);
  assert.match(other.reason!, /not one of the trusted identities/);
  assert.equal((await verify('notation-jws', env, material([root], []))).verified, false, 'no identity trusts nobody');
  assert.equal((await verify('notation-jws', env, material([root], ['*']))).verified, true);
});

test('an expired signing certificate is refused even when the signing time was within its validity', async () => {
  const env = await jwsEnvelope(expiredLeaf, [expiredLeaf, root], { signingTime: new Date(Date.now() - 5 * DAY) });
  const r = await verify('notation-jws', env);
  assert.equal(r.verified, false);
  assert.match(r.reason!, /is not valid now/);
  const before = await verify('notation-jws', await jwsEnvelope(leaf, [leaf, root], { signingTime: new Date(Date.now() - 3 * DAY) }));
  assert.equal(before.verified, false, 'signed before the certificate was valid');
  assert.match(before.reason!, /not valid at signing time/);
});

test('an expired signature is refused', async () => {
  for (const format of ['notation-jws', 'notation-cose'] as const) {
    const expiry = new Date(Date.now() - 60_000);
    const env = format === 'notation-jws' ? await jwsEnvelope(leaf, [leaf, root], { expiry }) : await coseEnvelope(leaf, [leaf, root], { expiry });
    const r = await verify(format, env);
    assert.equal(r.verified, false, format);
    assert.match(r.reason!, /expired/);
  }
});

test('a signature of another digest does not count for this subject', async () => {
  const other = 'sha256:' + 'cd'.repeat(32);
  for (const format of ['notation-jws', 'notation-cose'] as const) {
    const env = format === 'notation-jws' ? await jwsEnvelope(leaf, [leaf, root], { digest: other }) : await coseEnvelope(leaf, [leaf, root], { digest: other });
    const r = await verify(format, env);
    assert.equal(r.verified, false);
    assert.match(r.reason!, new RegExp(`for ${other}, not for ${SUBJECT}`));
  }
});

test('an unknown critical header makes the signature invalid', async () => {
  for (const format of ['notation-jws', 'notation-cose'] as const) {
    const o = { extraCrit: ['io.cncf.notary.verificationPlugin'] };
    const env = format === 'notation-jws' ? await jwsEnvelope(leaf, [leaf, root], o) : await coseEnvelope(leaf, [leaf, root], o);
    const r = await verify(format, env);
    assert.equal(r.verified, false);
    assert.match(r.reason!, /critical headers .* not understand: io\.cncf\.notary\.verificationPlugin/);
  }
});

test('certificate rules: no extended key usage is fine; key encipherment and SHA-1 are not', async () => {
  const plain = await makeLeaf(root, LEAF_DN, { eku: null });
  assert.equal((await verify('notation-jws', await jwsEnvelope(plain, [plain, root]))).verified, true);
  const encipher = await makeLeaf(root, LEAF_DN, { keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment });
  assert.match((await verify('notation-jws', await jwsEnvelope(encipher, [encipher, root]))).reason!, /keyUsage beyond digitalSignature/);
  const sha1 = await makeLeaf(root, LEAF_DN, { issuerHash: 'SHA-1' });
  assert.match((await verify('notation-jws', await jwsEnvelope(sha1, [sha1, root]))).reason!, /SHA-1/);
});

test('a certificate for TLS servers may not sign; the algorithm must fit the key', async () => {
  const r = await verify('notation-jws', await jwsEnvelope(serverLeaf, [serverLeaf, root]));
  assert.equal(r.verified, false);
  assert.match(r.reason!, /serverAuth/);
  // ES384 named for a P-256 key (signature-specification.md: the key decides the algorithm).
  const cose = await verify('notation-cose', await coseEnvelope(leaf, [leaf, root], { algId: -35 }));
  assert.equal(cose.verified, false);
  assert.match(cose.reason!, /alg ES384, but the signing certificate's key requires ES256/);
});

test('malformed input is an invalid signature with a reason, never a throw', async () => {
  const good = await jwsEnvelope(leaf, [leaf, root]);
  const cases: Array<[SignatureFormat, Buffer | SignatureParts]> = [
    ['notation-jws', Buffer.from('not json')],
    ['notation-jws', Buffer.from('{"protected":"!!","payload":"","signature":""}')],
    ['notation-jws', Buffer.from(JSON.stringify({ ...JSON.parse(good.toString()), header: { x5c: ['bm90IGEgY2VydA=='] } }))],
    ['notation-jws', Buffer.from(JSON.stringify({ ...JSON.parse(good.toString()), header: {} }))],
    ['notation-jws', Buffer.from(JSON.stringify({ ...JSON.parse(good.toString()), signatures: [] }))],
    ['notation-cose', Buffer.from([0xd2, 0x84, 0x40])],
    ['notation-cose', Buffer.from(cbor.encode(new Tag([1, 2, 3, 4], 18)))],
    ['notation-cose', Buffer.from(cbor.encode({ a: 1 }))],
    ['notation-cose', good],
    // Framing cbor-x would spend a minute on (an unclosed indefinite-length array), deep nesting,
    // a map that declares more entries than there are bytes, trailing data.
    ['notation-cose', Buffer.from([0xd2, 0x9f, 0x00, 0x00])],
    ['notation-cose', Buffer.concat([Buffer.from([0xd2]), Buffer.alloc(100_000, 0x81), Buffer.from([0x00])])],
    ['notation-cose', Buffer.from([0xd2, 0xba, 0x7f, 0xff, 0xff, 0xff, 0x00])],
    ['notation-cose', Buffer.concat([await coseEnvelope(leaf, [leaf, root]), Buffer.from([0x00])])],
    ['notation-jws', Buffer.from(JSON.stringify({ ...JSON.parse(good.toString()), header: { x5c: Array(11).fill(Buffer.from(leaf.cert.rawData).toString('base64')) } }))],
    ['notation-jws', { layers: [] }],
    ['notation-jws', { layers: [{ mediaType: 'application/cose', digest: 'sha256:0', annotations: {}, bytes: good }] }],
  ];
  for (const [format, input] of cases) {
    const parts = Buffer.isBuffer(input) ? found(format, input).parts : input;
    const started = performance.now();
    const r = await verifier.verify(found(format, Buffer.alloc(0)).sig, parts, SUBJECT, material([root]));
    assert.equal(r.verified, false);
    assert.ok(r.reason && r.reason.length > 10, `a reason for ${format}: ${r.reason}`);
    assert.ok(performance.now() - started < 1000, `refused quickly: ${r.reason}`);
  }
});
