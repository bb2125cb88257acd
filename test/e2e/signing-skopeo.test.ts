// GPG simple signing with real clients and no lookaside: minato's /v2/ ping advertises
// X-Registry-Supports-Signatures, so `skopeo copy --sign-by` (and `podman push --sign-by`) store
// the signature in minato through /extensions/v2/, and a `signedBy` policy reads it back from
// there. Checked: the stored signature (extension GET), a signed pull accepted, an unsigned one
// and one verified against another key refused by skopeo, and minato's own GPG verifier agreeing
// on the stored bytes; and minato itself enforcing them at pull under a project trust policy that
// trusts the signer's GPG key. HTTPS with the test PKI, on 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { GpgVerifier } from '../../src/trust/gpg-verifier.js';
import type { FoundSignature, TrustMaterial } from '../../src/trust/signatures.js';
import { request } from '../helpers/http.js';
import { makeOciLayout, sha256, type OciLayout } from '../helpers/oci.js';
import { caCertDir, concatPem, run, runOk } from '../helpers/peers.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { makeTestPki } from '../helpers/tls.js';

let tmp: string;
let reg: TestRegistry;
let host: string;
let certs: string;
let caPem: Buffer;
let gnupg: string;
let signerFpr: string;
let signerPub: string;
let otherPub: string;
let image: OciLayout;
let unsigned: OciLayout;
let registriesD: string;

const env = () => ({ GNUPGHOME: gnupg, REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') });
// An empty registries.d: no lookaside anywhere, so signatures can only go through minato's extension.
const skopeo = (...args: string[]) => run('skopeo', ['--registries.d', registriesD, ...args], { env: env(), timeoutMs: 60_000 });
const creds = () => `admin:${reg.password}`;
const api = (p: string) => request(`https://${host}${p}`, { ca: caPem, headers: { Authorization: reg.basic } });

async function gpgKey(name: string, email: string): Promise<{ fpr: string; pub: string }> {
  const params = path.join(tmp, `${email}.params`);
  await writeFile(params, `%no-protection\nKey-Type: EdDSA\nKey-Curve: ed25519\nName-Real: ${name}\nName-Email: ${email}\nExpire-Date: 0\n%commit\n`);
  await runOk('gpg', ['--batch', '--gen-key', params], { env: env() });
  const listed = await runOk('gpg', ['--list-keys', '--with-colons', email], { env: env() });
  const fpr = /^fpr:+([0-9A-F]+):/m.exec(listed.stdout)![1]!;
  return { fpr, pub: (await runOk('gpg', ['--armor', '--export', fpr], { env: env() })).stdout };
}

async function policy(file: string, keyPath: string): Promise<string> {
  const p = path.join(tmp, file);
  await writeFile(
    p,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { docker: { [host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath }] }, oci: { '': [{ type: 'insecureAcceptAnything' }] } },
    }),
  );
  return p;
}

before(async () => {
  tmp = await tempDir('minato-e2e-signing-');
  const pki = await makeTestPki(tmp, ['localhost', '127.0.0.1']);
  const chain = await concatPem(path.join(tmp, 'chain.pem'), [pki.leafCert, pki.intermediateCert]);
  certs = await caCertDir(path.join(tmp, 'certs.d'), pki.caCert);
  caPem = await readFile(pki.caCert);
  reg = await startTestRegistry({ tls: { cert: chain, key: pki.leafKey } });
  host = new URL(reg.url).host;
  await reg.projects.create({ name: 'signed' }, { user: null }, SYSTEM_ACTOR);
  registriesD = path.join(tmp, 'registries.d');
  await mkdir(registriesD);
  gnupg = path.join(tmp, 'gnupg');
  await mkdir(gnupg, { mode: 0o700 });
  ({ fpr: signerFpr, pub: signerPub } = await gpgKey('Test Signer', 'signer@example.test'));
  otherPub = (await gpgKey('Someone Else', 'other@example.test')).pub;
  await writeFile(path.join(tmp, 'signer.pub.asc'), signerPub);
  await writeFile(path.join(tmp, 'other.pub.asc'), otherPub);
  image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 4096);
  unsigned = await makeOciLayout(path.join(tmp, 'unsigned'), 'v1', 4096);
});

after(async () => {
  if (gnupg) await run('gpgconf', ['--kill', 'all'], { env: { GNUPGHOME: gnupg } });
  await reg?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('skopeo --sign-by stores the signature in minato; a signedBy policy accepts the signed image and refuses the unsigned one and another key', async (t) => {
  const pushed = await skopeo('copy', '--dest-cert-dir', certs, '--dest-creds', creds(), '--sign-by', signerFpr, image.ref, `docker://${host}/signed/app:v1`);
  assert.equal(pushed.code, 0, pushed.stderr);
  const digest = (await api('/v2/signed/app/manifests/v1')).headers['docker-content-digest'] as string;
  assert.match(digest, /^sha256:/);

  // minato holds it: one atomic signature, named by the digest.
  const listed = await api(`/extensions/v2/signed/app/signatures/${digest}`);
  assert.equal(listed.status, 200, listed.text);
  const signatures = listed.json<{ signatures: Array<{ schemaVersion: number; type: string; name: string; content: string }> }>().signatures;
  assert.equal(signatures.length, 1);
  assert.equal(signatures[0]!.type, 'atomic');
  assert.ok(signatures[0]!.name.startsWith(`${digest}@`), signatures[0]!.name);
  const bytes = Buffer.from(signatures[0]!.content, 'base64');

  const keyPolicy = await policy('policy-signer.json', path.join(tmp, 'signer.pub.asc'));
  const accepted = await skopeo('--policy', keyPolicy, 'copy', '--remove-signatures', '--src-cert-dir', certs, '--src-creds', creds(), `docker://${host}/signed/app:v1`, `oci:${path.join(tmp, 'out')}:v1`);
  assert.equal(accepted.code, 0, `the signed image must be accepted: ${accepted.stderr}`);

  const plain = await skopeo('copy', '--dest-cert-dir', certs, '--dest-creds', creds(), unsigned.ref, `docker://${host}/signed/plain:v1`);
  assert.equal(plain.code, 0, plain.stderr);
  const refused = await skopeo('--policy', keyPolicy, 'copy', '--remove-signatures', '--src-cert-dir', certs, '--src-creds', creds(), `docker://${host}/signed/plain:v1`, `oci:${path.join(tmp, 'out2')}:v1`);
  assert.notEqual(refused.code, 0, 'an unsigned image must be refused');
  t.diagnostic(`skopeo, unsigned: ${refused.stderr.trim()}`);
  assert.match(refused.stderr, /A signature was required, but no signature exists/);

  const otherPolicy = await policy('policy-other.json', path.join(tmp, 'other.pub.asc'));
  const wrongKey = await skopeo('--policy', otherPolicy, 'copy', '--remove-signatures', '--src-cert-dir', certs, '--src-creds', creds(), `docker://${host}/signed/app:v1`, `oci:${path.join(tmp, 'out3')}:v1`);
  assert.notEqual(wrongKey.code, 0, 'a signature by another key must be refused');
  t.diagnostic(`skopeo, other key: ${wrongKey.stderr.trim()}`);
  assert.match(wrongKey.stderr, /Invalid GPG signature/);

  // Signing the same image again stores nothing new (identical content is kept once; GnuPG's
  // signatures carry a time, so a second signature is new content: two signatures then).
  const again = await skopeo('copy', '--dest-cert-dir', certs, '--dest-creds', creds(), '--sign-by', signerFpr, image.ref, `docker://${host}/signed/app:v1`);
  assert.equal(again.code, 0, again.stderr);
  const after = (await api(`/extensions/v2/signed/app/signatures/${digest}`)).json<{ signatures: unknown[] }>().signatures.length;
  assert.ok(after >= 1 && after <= 2, `${after} signatures`);

  // minato's verifier agrees with skopeo on the stored bytes.
  const verifier = new GpgVerifier();
  const found: FoundSignature = { format: 'simple-signing', subject: digest, repository: 'signed/app', digest: sha256(bytes), location: 'extension', load: async () => ({ layers: [] }) };
  const parts = { layers: [{ mediaType: 'application/vnd.containers.signature.v1', digest: sha256(bytes), annotations: {}, bytes }] };
  const material = (armored: string): TrustMaterial => ({ version: 1, publicKeys: [], notation: { certificates: [], trustedIdentities: [] }, gpgKeys: [{ name: 'k', armored }], keyless: { identities: [] } });
  const ok = await verifier.verify(found, parts, digest, material(signerPub));
  assert.equal(ok.verified, true, ok.reason);
  assert.equal(ok.signer, `Test Signer <signer@example.test> (${signerFpr})`);
  const no = await verifier.verify(found, parts, digest, material(otherPub));
  assert.equal(no.verified, false);
  assert.match(no.reason!, /not one of the project's GPG keys/);
  const elsewhere = await verifier.verify({ ...found, repository: 'signed/plain' }, parts, digest, material(signerPub));
  assert.match(elsewhere.reason!, /for repository signed\/app, not signed\/plain/);
});

test('podman push --sign-by stores its signature in minato too', async () => {
  const root = path.join(tmp, 'podman');
  const authfile = path.join(root, 'auth.json');
  await mkdir(root, { recursive: true });
  const podman = (...args: string[]) =>
    run('podman', ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {
      env: { ...env(), REGISTRY_AUTH_FILE: authfile, CONTAINERS_REGISTRIES_CONF: path.join(tmp, 'no-registries.conf') },
      timeoutMs: 60_000,
    });
  await writeFile(path.join(tmp, 'no-registries.conf'), '');
  const login = await podman('login', '--cert-dir', certs, '-u', 'admin', '-p', reg.password, host);
  assert.equal(login.code, 0, login.stderr);
  const pulled = await podman('pull', '--cert-dir', certs, `${host}/signed/plain:v1`);
  assert.equal(pulled.code, 0, pulled.stderr);
  const pushed = await podman('push', '--cert-dir', certs, '--sign-by', signerFpr, `${host}/signed/plain:v1`, `docker://${host}/signed/podman:v1`);
  assert.equal(pushed.code, 0, pushed.stderr);
  const digest = (await api('/v2/signed/podman/manifests/v1')).headers['docker-content-digest'] as string;
  const listed = await api(`/extensions/v2/signed/podman/signatures/${digest}`);
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.json<{ signatures: unknown[] }>().signatures.length, 1);
});

test("minato enforces the signatures skopeo stored: with the signer's GPG key trusted at enforce, the signed image pulls, an unsigned one is refused by minato, and another key refuses both", async () => {
  const setPolicy = async (armored: string) => {
    const res = await request(`https://${host}/api/v2.0/projects/signed/trust`, {
      method: 'PUT',
      ca: caPem,
      headers: { Authorization: reg.basic, 'Content-Type': 'application/json' },
      body: JSON.stringify({ level: 'enforce', gpg_keys: [{ name: 'release', armored }] }),
    });
    assert.equal(res.status, 200, res.text);
  };
  await setPolicy(signerPub);
  // No client policy here: what refuses is minato's pull point.
  const signed = await skopeo('copy', '--remove-signatures', '--src-cert-dir', certs, '--src-creds', creds(), `docker://${host}/signed/app:v1`, `oci:${path.join(tmp, 'enforced')}:v1`);
  assert.equal(signed.code, 0, `the signed image must pull: ${signed.stderr}`);
  const plain = await api('/v2/signed/plain/manifests/v1');
  assert.equal(plain.status, 403, plain.text);
  assert.match(plain.text, /DENIED/);
  assert.match(plain.text, /policy of project signed requires a valid signature/);
  const refused = await skopeo('copy', '--remove-signatures', '--src-cert-dir', certs, '--src-creds', creds(), `docker://${host}/signed/plain:v1`, `oci:${path.join(tmp, 'enforced2')}:v1`);
  assert.notEqual(refused.code, 0, 'skopeo must be refused the unsigned image');
  // The signature's own extension stays readable (signatures are never gated).
  const digest = (await api('/v2/signed/app/manifests/v1')).headers['docker-content-digest'] as string;
  assert.equal((await api(`/extensions/v2/signed/app/signatures/${digest}`)).status, 200);
  // Trusting another key instead: the signed image is refused too, with the reason.
  await setPolicy(otherPub);
  const other = await api('/v2/signed/app/manifests/v1');
  assert.equal(other.status, 403, other.text);
  assert.match(other.text, /simple-signing/);
  // Off again for the tests that follow.
  const off = await request(`https://${host}/api/v2.0/projects/signed/trust`, { method: 'PUT', ca: caPem, headers: { Authorization: reg.basic, 'Content-Type': 'application/json' }, body: JSON.stringify({ level: 'off' }) });
  assert.equal(off.status, 200, off.text);
});
