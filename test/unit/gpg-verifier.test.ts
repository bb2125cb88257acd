// Simple signatures (containers-signature(5) in an OpenPGP signed message): made by GnuPG itself
// (what skopeo's --sign-by runs) and by openpgp; every way one must not count is tried against a
// signature that otherwise verifies.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as openpgp from 'openpgp';
import { GpgVerifier, parseDockerReference } from '../../src/trust/gpg-verifier.js';
import type { FoundSignature, SignatureParts, TrustMaterial } from '../../src/trust/signatures.js';
import { run, runOk } from '../helpers/peers.js';
import { tempDir } from '../helpers/registry.js';

const SUBJECT = 'sha256:' + 'ab'.repeat(32);
const REPO = 'team/app';

const doc = (o: { digest?: string; reference?: string; type?: string } = {}) =>
  Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': o.reference ?? `registry.example.test:5443/${REPO}:v1` }, image: { 'docker-manifest-digest': o.digest ?? SUBJECT }, type: o.type ?? 'atomic container signature' },
      optional: { creator: 'test', timestamp: 1700000000 },
    }),
  );

let tmp: string;
let gpgPub: string;
let gpgFpr: string;
let gnupg: string;
let key: { privateKey: openpgp.PrivateKey; publicKey: string };
let otherKey: { privateKey: openpgp.PrivateKey; publicKey: string };

async function pgpKey(name: string) {
  const k = await openpgp.generateKey({ userIDs: [{ name, email: `${name.toLowerCase()}@example.test` }], format: 'object' });
  return { privateKey: k.privateKey, publicKey: k.publicKey.armor() };
}

async function pgpSign(data: Buffer, signingKeys: openpgp.PrivateKey | openpgp.PrivateKey[]): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: data });
  return Buffer.from(await openpgp.sign({ message, signingKeys, format: 'binary' }));
}

async function gpgSign(data: Buffer): Promise<Buffer> {
  const file = path.join(tmp, `doc-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, data);
  await runOk('gpg', ['--batch', '--yes', '--local-user', gpgFpr, '--output', `${file}.sig`, '--sign', file], { env: { ...process.env, GNUPGHOME: gnupg } });
  const { readFile } = await import('node:fs/promises');
  return readFile(`${file}.sig`);
}

before(async () => {
  tmp = await tempDir('minato-gpg-unit-');
  gnupg = path.join(tmp, 'gnupg');
  await mkdir(gnupg, { mode: 0o700 });
  const params = path.join(tmp, 'keyparams');
  await writeFile(params, '%no-protection\nKey-Type: EdDSA\nKey-Curve: ed25519\nName-Real: Test Signer\nName-Email: signer@example.test\nExpire-Date: 0\n%commit\n');
  const env = { ...process.env, GNUPGHOME: gnupg };
  await runOk('gpg', ['--batch', '--gen-key', params], { env });
  const listed = await runOk('gpg', ['--list-keys', '--with-colons', 'signer@example.test'], { env });
  gpgFpr = /^fpr:+([0-9A-F]+):/m.exec(listed.stdout)![1]!;
  gpgPub = (await runOk('gpg', ['--armor', '--export', gpgFpr], { env })).stdout;
  key = await pgpKey('Alice');
  otherKey = await pgpKey('Mallory');
});
after(async () => {
  await run('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: gnupg } });
  await rm(tmp, { recursive: true, force: true });
});

function found(bytes: Buffer, repository: string | undefined): { sig: FoundSignature; parts: SignatureParts } {
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  const parts: SignatureParts = { layers: [{ mediaType: 'application/vnd.containers.signature.v1', digest, annotations: {}, bytes }] };
  return { sig: { format: 'simple-signing', subject: SUBJECT, digest, location: 'extension signature 1', repository, load: async () => parts }, parts };
}

const material = (...armored: string[]): TrustMaterial => ({
  version: 1,
  publicKeys: [],
  notation: { certificates: [], trustedIdentities: [] },
  gpgKeys: armored.map((a, i) => ({ name: `key-${i}`, armored: a })),
  keyless: { identities: [] },
});

async function verify(bytes: Buffer, m: TrustMaterial, opts: { repository?: string; verifier?: GpgVerifier } = {}) {
  const { sig, parts } = found(bytes, 'repository' in opts ? opts.repository : REPO);
  return (opts.verifier ?? new GpgVerifier()).verify(sig, parts, SUBJECT, m);
}

test('a GnuPG signature (as skopeo --sign-by makes) verifies with its key; the signer is the user id and fingerprint', async () => {
  const r = await verify(await gpgSign(doc()), material(key.publicKey, gpgPub));
  assert.equal(r.verified, true, r.reason);
  assert.equal(r.signer, `Test Signer <signer@example.test> (${gpgFpr})`);
  assert.equal(r.expiresAt, undefined, 'a key without expiry gives none');
});

test('with another key trusted it does not verify, and says which key signed', async () => {
  const r = await verify(await gpgSign(doc()), material(otherKey.publicKey));
  assert.equal(r.verified, false);
  assert.match(r.reason!, /made by key [0-9A-F]{16}, which is not one of the project's GPG keys/);
  assert.equal((await verify(await gpgSign(doc()), material())).reason, "the project's trust policy has no GPG keys");
});

test('an altered signature does not verify', async () => {
  const good = await pgpSign(doc(), key.privateKey);
  assert.equal((await verify(good, material(key.publicKey))).verified, true);
  // Flip a byte of the signed literal data (the digest in the JSON).
  const i = good.indexOf(Buffer.from('abab'));
  assert.ok(i > 0, 'the literal data is stored uncompressed by openpgp');
  const bad = Buffer.from(good);
  bad[i] = 0x63; // "c"
  const r = await verify(bad, material(key.publicKey));
  assert.equal(r.verified, false);
  assert.match(r.reason!, /does not verify/);
});

test('the signed document must be the atomic type for this digest', async () => {
  const other = 'sha256:' + 'cd'.repeat(32);
  const r1 = await verify(await pgpSign(doc({ digest: other }), key.privateKey), material(key.publicKey));
  assert.equal(r1.verified, false);
  assert.match(r1.reason!, new RegExp(`for ${other}, not for ${SUBJECT}`));
  const r2 = await verify(await pgpSign(doc({ type: 'cosign container image signature' }), key.privateKey), material(key.publicKey));
  assert.equal(r2.verified, false);
  assert.match(r2.reason!, /type/);
  const r3 = await verify(await pgpSign(Buffer.from('not json'), key.privateKey), material(key.publicKey));
  assert.match(r3.reason!, /not a containers-signature JSON document/);
});

test('the docker-reference must name this repository; its host is ignored unless registryHosts is given', async () => {
  const m = material(key.publicKey);
  for (const reference of [`127.0.0.1:40000/${REPO}`, `localhost/${REPO}:latest`, `${REPO}`, `registry.example.test/${REPO}@${SUBJECT}`]) {
    const r = await verify(await pgpSign(doc({ reference }), key.privateKey), m);
    assert.equal(r.verified, true, `${reference}: ${r.reason}`);
  }
  const wrongRepo = await verify(await pgpSign(doc({ reference: 'registry.example.test:5443/team/other:v1' }), key.privateKey), m);
  assert.match(wrongRepo.reason!, /for repository team\/other, not team\/app/);
  const wrongDigest = await verify(await pgpSign(doc({ reference: `registry.example.test/${REPO}@sha256:${'cd'.repeat(32)}` }), key.privateKey), m);
  assert.match(wrongDigest.reason!, /names digest/);
  const noRepo = await verify(await pgpSign(doc(), key.privateKey), m, { repository: undefined });
  assert.match(noRepo.reason!, /repository the signature was found in is unknown/);

  const strict = new GpgVerifier({ registryHosts: ['Registry.Example.Test:5443'] });
  assert.equal((await verify(await pgpSign(doc(), key.privateKey), m, { verifier: strict })).verified, true);
  const elsewhere = await verify(await pgpSign(doc({ reference: `evil.example:5443/${REPO}` }), key.privateKey), m, { verifier: strict });
  assert.match(elsewhere.reason!, /names registry evil\.example:5443/);
});

test('docker references split as Docker splits them', () => {
  assert.deepEqual(parseDockerReference('a.b:5000/x/y:t@sha256:' + 'a'.repeat(64)), { host: 'a.b:5000', path: 'x/y', tag: 't', digest: 'sha256:' + 'a'.repeat(64) });
  assert.deepEqual(parseDockerReference('team/app:v1'), { host: undefined, path: 'team/app', tag: 'v1', digest: undefined });
  assert.deepEqual(parseDockerReference('localhost/app'), { host: 'localhost', path: 'app', tag: undefined, digest: undefined });
  assert.equal(parseDockerReference('Team/App'), undefined);
  assert.equal(parseDockerReference(''), undefined);
});

test('a compression bomb (10 MB of zeros signed by GnuPG with bzip2, a few hundred bytes) is refused without inflating it', async () => {
  const file = path.join(tmp, 'zeros');
  await writeFile(file, Buffer.alloc(10_000_000));
  await runOk('gpg', ['--batch', '--yes', '--local-user', gpgFpr, '--compress-algo', 'bzip2', '-z', '9', '--output', `${file}.sig`, '--sign', file], { env: { ...process.env, GNUPGHOME: gnupg } });
  const { readFile } = await import('node:fs/promises');
  const bomb = await readFile(`${file}.sig`);
  assert.ok(bomb.length < 2048, `${bomb.length} bytes`);
  const before = process.memoryUsage().rss;
  const r = await verify(bomb, material(gpgPub));
  assert.equal(r.verified, false);
  assert.match(r.reason!, /decompress|too large|exceed/i, r.reason);
  assert.ok(process.memoryUsage().rss - before < 5_000_000, 'the 10 MB were not inflated');
});

test('malformed input, two signatures, or a detached signature: invalid with a reason, never a throw', async () => {
  const m = material(key.publicKey, otherKey.publicKey);
  const two = await pgpSign(doc(), [key.privateKey, otherKey.privateKey]);
  assert.match((await verify(two, m)).reason!, /has 2 signatures/);
  const detached = Buffer.from(await openpgp.sign({ message: await openpgp.createMessage({ binary: doc() }), signingKeys: key.privateKey, detached: true, format: 'binary' }));
  const rd = await verify(detached, m);
  assert.equal(rd.verified, false);
  for (const bytes of [Buffer.alloc(0), Buffer.from('garbage'), Buffer.from([0xa3, 0x01, 0x02]), Buffer.alloc(70 * 1024, 1)]) {
    const r = await verify(bytes, m);
    assert.equal(r.verified, false);
    assert.ok(r.reason && r.reason.length > 10, r.reason);
  }
  const bad = await new GpgVerifier().verify(found(doc(), REPO).sig, { layers: [] }, SUBJECT, m);
  assert.match(bad.reason!, /one part/);
  assert.equal((await verify(await pgpSign(doc(), key.privateKey), material('not a key', key.publicKey))).verified, true, 'a broken key does not stop the others');
});
