// Making real signatures for tests: cosign's legacy simple-signing payloads signed with
// node:crypto (ECDSA P-256, RSA, Ed25519) or with Python's `cryptography` (an independent
// signer), sigstore bundles v0.3 (DSSE over an in-toto statement) built with @sigstore/bundle,
// keyless ones from a throw-away Fulcio-like CA with RFC 3161 timestamps from `openssl ts`,
// and pushing either to a registry as cosign does: a `sha256-<hex>.sig` tag, or an OCI 1.1
// referrer with a subject.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { generateP256, parsePrivateKey, signingKey } from '../../src/tls/ca-keys.js';
import * as x509 from '../../src/tls/x509.js';
import { request } from './http.js';
import { sha256 } from './oci.js';
import { makeTestPki, type TestPki } from './tls.js';

const exec = promisify(execFile);

export interface TestKey {
  privateKey: KeyObject;
  pem: string;
}

export function makeKey(kind: 'ec' | 'rsa' | 'ed25519' = 'ec'): TestKey {
  const pair =
    kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  return { privateKey: pair.privateKey, pem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** cosign's simple-signing payload for a digest (containers-signature(5)). */
export function cosignPayload(repository: string, digest: string, extra: { type?: string; key?: string } = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': repository }, image: { [extra.key ?? 'docker-manifest-digest']: digest }, type: extra.type ?? 'cosign container image signature' },
      optional: null,
    }),
  );
}

/** The base64 signature of `data` with the key's scheme (as cosign: ECDSA/RSA over SHA-256, Ed25519 pure). */
export function signWith(key: TestKey, data: Buffer): string {
  return sign(key.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key.privateKey).toString('base64');
}

/** A P-256 key pair made and used by Python's `cryptography` (Debian's, /usr/bin/python3): an independent signer. */
export function pythonSigner(): { pem: string; sign(data: Buffer): string } {
  const script = String.raw`
import sys, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
key = serialization.load_pem_private_key(sys.argv[1].encode(), None) if len(sys.argv) > 1 else ec.generate_private_key(ec.SECP256R1())
if len(sys.argv) > 1:
    print(base64.b64encode(key.sign(sys.stdin.buffer.read(), ec.ECDSA(hashes.SHA256()))).decode())
else:
    print(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())
    print(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
`;
  const out = execFileSync('/usr/bin/python3', ['-c', script]).toString();
  const privatePem = out.slice(0, out.indexOf('-----END PRIVATE KEY-----') + 25);
  const pem = out.slice(out.indexOf('-----BEGIN PUBLIC KEY-----'));
  return { pem, sign: (data) => execFileSync('/usr/bin/python3', ['-c', script, privatePem], { input: data }).toString().trim() };
}

/** An in-toto statement about a digest, as cosign v3 signs. */
export function statement(digest: string): Buffer {
  return Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'image', digest: { sha256: digest.replace('sha256:', '') } }], predicateType: 'https://sigstore.dev/cosign/sign/v1', predicate: {} }));
}

/** A sigstore bundle v0.3 JSON: DSSE over `payload`, signed with `key`. */
export function sigstoreBundle(key: TestKey, payload: Buffer, payloadType = 'application/vnd.in-toto+json'): Buffer {
  const signature = sign(key.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', dsse.preAuthEncoding(payloadType, payload), key.privateKey);
  const hint = createHash('sha256').update(createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' })).digest('base64');
  return Buffer.from(JSON.stringify(bundleToJSON(toDSSEBundle({ artifact: payload, artifactType: payloadType, signature, keyHint: hint }))));
}

/** Uploads a blob to a repository in one POST. */
export async function putBlob(base: string, authorization: string, repository: string, blob: Buffer): Promise<void> {
  const res = await request(`${base}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream' }, body: blob });
  if (res.status !== 201) throw new Error(`blob upload answered ${res.status}: ${res.text}`);
}

async function putManifest(base: string, authorization: string, repository: string, reference: string, manifest: Buffer): Promise<string> {
  const res = await request(`${base}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  if (res.status !== 201) throw new Error(`manifest push ${repository}:${reference} answered ${res.status}: ${res.text}`);
  return sha256(manifest);
}

/**
 * Pushes a cosign signature of `subject` (layers: payload and base64 signature) as cosign does:
 * tagged `sha256-<hex>.sig` (legacy), or as an OCI 1.1 referrer. Returns the signature manifest's digest.
 */
export async function pushCosignSignature(
  base: string,
  authorization: string,
  repository: string,
  subject: { digest: string; size: number },
  layers: Array<{ payload: Buffer; signature: string }>,
  mode: 'tag' | 'referrer' = 'tag',
): Promise<string> {
  const config = Buffer.from('{}');
  await putBlob(base, authorization, repository, config);
  for (const l of layers) await putBlob(base, authorization, repository, l.payload);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...(mode === 'referrer' ? { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' } : {}),
      config: { mediaType: mode === 'referrer' ? 'application/vnd.oci.empty.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: sha256(l.payload),
        size: l.payload.length,
        annotations: { 'dev.cosignproject.cosign/signature': l.signature },
      })),
      ...(mode === 'referrer' ? { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.size } } : {}),
    }),
  );
  return putManifest(base, authorization, repository, mode === 'tag' ? `${subject.digest.replace(':', '-')}.sig` : sha256(manifest), manifest);
}

/** Pushes a sigstore bundle as cosign v3 does: an OCI 1.1 referrer of `subject`, by digest. */
export async function pushBundle(base: string, authorization: string, repository: string, subject: { digest: string; size: number; mediaType?: string }, bundle: Buffer): Promise<string> {
  const empty = Buffer.from('{}');
  await putBlob(base, authorization, repository, empty);
  await putBlob(base, authorization, repository, bundle);
  const type = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: type,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: type, digest: sha256(bundle), size: bundle.length }],
      subject: { mediaType: subject.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.size },
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
    }),
  );
  return putManifest(base, authorization, repository, sha256(manifest), manifest);
}

/** A Fulcio-like CA and a timestamp authority, for keyless sigstore bundles (see makeKeylessPki). */
export interface KeylessPki {
  /** A sigstore trusted_root.json naming the CA and the TSA. */
  trustedRootJson: string;
  /**
   * A keyless bundle: DSSE over `payload`, signed by a fresh key whose certificate (from the CA,
   * or from `otherCa`) names `san` and `issuer` and is valid from `notBefore` to `notAfter`,
   * with an RFC 3161 timestamp of the TSA (now) unless `timestamp` is false.
   */
  bundle(payload: Buffer, opts: KeylessOptions): Promise<Buffer>;
  /** A legacy cosign keyless layer's signature and annotations (certificate, RFC 3161 timestamp) over `payload`. */
  cosign(payload: Buffer, opts: KeylessOptions): Promise<{ signature: string; annotations: Record<string, string> }>;
}

export interface KeylessOptions {
  san: string;
  issuer: string;
  notBefore?: Date;
  notAfter?: Date;
  timestamp?: boolean;
  otherCa?: boolean;
}

/**
 * Made with makeTestPki (openssl: root and intermediate, as Fulcio's chain) plus certificates
 * from @peculiar/x509 (back-dated where a test needs it) and timestamps from `openssl ts`.
 */
export async function makeKeylessPki(dir: string): Promise<KeylessPki> {
  const fulcio = await makeTestPki(dir, ['fulcio.test'], 'fulcio');
  const other = await makeTestPki(dir, ['other.test'], 'other');
  const der = async (file: string) => Buffer.from(new x509.X509Certificate(await readFile(file, 'utf8')).rawData);
  const issue = async (pki: TestPki, o: { notBefore: Date; notAfter: Date; extensions: x509.Extension[]; cn: string }) => {
    const issuer = new x509.X509Certificate(await readFile(pki.intermediateCert, 'utf8'));
    const signer = await signingKey(parsePrivateKey(await readFile(pki.intermediateKey, 'utf8'), pki.intermediateKey), pki.intermediateKey);
    const { keys, pkcs8Pem } = await generateP256();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: `01${randomBytes(8).toString('hex')}`,
      subject: [{ CN: [o.cn] }],
      issuer: issuer.subjectName,
      notBefore: o.notBefore,
      notAfter: o.notAfter,
      publicKey: keys.publicKey,
      signingKey: signer.cryptoKey,
      signingAlgorithm: signer.algorithm,
      extensions: o.extensions,
    });
    return { der: Buffer.from(cert.rawData), pem: cert.toString('pem'), key: createPrivateKey(pkcs8Pem), keyPem: pkcs8Pem };
  };
  const now = Date.now();
  const tsa = await issue(fulcio, {
    cn: 'test tsa',
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000),
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping], true)],
  });
  const p = (f: string) => path.join(dir, f);
  await writeFile(p('tsa.pem'), tsa.pem);
  await writeFile(p('tsa.key'), tsa.keyPem);
  await writeFile(p('tsa.cnf'), `[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\nserial = ${p('tsa.serial')}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n`);
  await writeFile(p('tsa.serial'), '01\n');
  const b64 = (b: Buffer) => b.toString('base64');
  const chain = async (pki: TestPki) => [await der(pki.intermediateCert), await der(pki.caCert)].map((c) => ({ rawBytes: b64(c) }));
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [{ subject: { organization: 'test', commonName: 'fulcio' }, uri: 'https://fulcio.test', certChain: { certificates: await chain(fulcio) }, validFor: { start: new Date(now - 30 * 86_400_000).toISOString() } }],
    timestampAuthorities: [{ subject: { organization: 'test', commonName: 'tsa' }, uri: 'https://tsa.test', certChain: { certificates: [{ rawBytes: b64(tsa.der) }, ...(await chain(fulcio))] }, validFor: { start: new Date(now - 30 * 86_400_000).toISOString() } }],
  };
  // Fulcio's OIDC issuer extension (v2): a DER UTF8String.
  const issuerExtension = (issuer: string) => {
    const value = Buffer.from(issuer, 'utf8');
    return new x509.Extension('1.3.6.1.4.1.57264.1.8', false, Buffer.concat([Buffer.from([0x0c, value.length]), value]));
  };
  let n = 0;
  const leafFor = (o: KeylessOptions) =>
    issue(o.otherCa ? other : fulcio, {
        cn: 'sigstore',
        notBefore: o.notBefore ?? new Date(now - 60_000),
        notAfter: o.notAfter ?? new Date(now + 10 * 60_000),
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3'], false),
          new x509.SubjectAlternativeNameExtension([/@/.test(o.san) ? { type: 'email', value: o.san } : { type: 'url', value: o.san }], true),
          issuerExtension(o.issuer),
        ],
      });
  /** openssl ts: a TimeStampResp over `data`, from the TSA. */
  const timestampOf = async (data: Buffer): Promise<Buffer> => {
    const i = n++;
    await writeFile(p(`sig-${i}`), data);
    await exec('openssl', ['ts', '-query', '-data', p(`sig-${i}`), '-sha256', '-cert', '-no_nonce', '-out', p(`q-${i}.tsq`)]);
    await exec('openssl', ['ts', '-reply', '-config', p('tsa.cnf'), '-section', 'tsa_config', '-queryfile', p(`q-${i}.tsq`), '-inkey', p('tsa.key'), '-signer', p('tsa.pem'), '-out', p(`t-${i}.der`)]);
    return readFile(p(`t-${i}.der`));
  };
  return {
    trustedRootJson: JSON.stringify(trustedRoot),
    async cosign(payload, o) {
      const leaf = await leafFor(o);
      const signature = sign('sha256', payload, leaf.key);
      const annotations: Record<string, string> = { 'dev.sigstore.cosign/certificate': leaf.pem };
      if (o.timestamp !== false) annotations['dev.sigstore.cosign/rfc3161timestamp'] = JSON.stringify({ SignedRFC3161TimestampBytes: b64(await timestampOf(signature)) });
      return { signature: b64(signature), annotations };
    },
    async bundle(payload, o) {
      const leaf = await leafFor(o);
      const payloadType = 'application/vnd.in-toto+json';
      const signature = sign('sha256', dsse.preAuthEncoding(payloadType, payload), leaf.key);
      const json = bundleToJSON(toDSSEBundle({ artifact: payload, artifactType: payloadType, signature, certificate: leaf.der })) as unknown as {
        verificationMaterial: { timestampVerificationData?: { rfc3161Timestamps: Array<{ signedTimestamp: string }> } };
      };
      if (o.timestamp !== false) json.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: b64(await timestampOf(signature)) }] };
      return Buffer.from(JSON.stringify(json));
    },
  };
}
