// Verifies simple signatures (format `simple-signing`): what `skopeo copy --sign-by` and
// `podman push --sign-by` make. A signature is an OpenPGP signed message (RFC 9580; `gpg --sign`,
// not detached, not cleartext) whose literal data is a containers-signature(5) JSON document:
//   {"critical": {"type": "atomic container signature",
//                 "image": {"docker-manifest-digest": "sha256:…"},
//                 "identity": {"docker-reference": "host[:port]/repo[:tag]"}},
//    "optional": {"creator": …, "timestamp": …}}
// It counts when exactly one signature in the message verifies with one of the project's armored
// public keys (openpgp checks the key's validity and expiry at the signature's time), the type is
// the atomic one, the digest is the subject's, and the identity names the repository.
//
// How the identity is compared (a registry is reached under several names: a DNS name, an IP,
// a port, a proxy's name): the docker-reference's host part (the first component, when it has a
// "." or ":" or is "localhost") is ignored unless the verifier was given `registryHosts`, in
// which case it must be one of them (case-insensitive, port included as written). The path must
// be the repository's name exactly; a tag is ignored (the signature signs the digest, and a pull
// by digest has no tag); a digest in the reference must be the subject's. A reference without a
// host names the path as is (no "docker.io/library/" expansion: minato's names are its own).
import * as openpgp from 'openpgp';
import type { FoundSignature, SignatureParts, SignatureVerifier, TrustMaterial, VerificationResult } from './signatures.js';
import { SIMPLE_SIGNATURE_MAX_BYTES } from './simple-signing.js';

export const SIGNATURE_TYPE_ATOMIC = 'atomic container signature';
/** A signature larger than this is refused unread (as the extension refuses to store it). */
const MAX_SIGNATURE_BYTES = SIMPLE_SIGNATURE_MAX_BYTES;
/**
 * The most the signed data may decompress to. GnuPG compresses what it signs, and a few hundred
 * bytes of bzip2 inflate to gigabytes: without a bound, one pushed signature costs seconds and
 * hundreds of megabytes at every verification. A containers-signature document is under 1 KiB.
 */
const MAX_SIGNED_DATA_BYTES = 64 * 1024;
const PGP_CONFIG = { maxDecompressedMessageSize: MAX_SIGNED_DATA_BYTES };

export interface GpgVerifierOptions {
  /** Host names (with port where not 443) a docker-reference may name; any host when absent. */
  registryHosts?: readonly string[];
}

export class GpgVerifier implements SignatureVerifier {
  readonly formats = ['simple-signing'] as const;
  private readonly hosts: Set<string> | undefined;
  private readonly keyCache = new KeyCache();

  constructor(options: GpgVerifierOptions = {}) {
    this.hosts = options.registryHosts && new Set(options.registryHosts.map((h) => h.toLowerCase()));
  }

  async verify(signature: FoundSignature, parts: SignatureParts, subjectDigest: string, material: TrustMaterial): Promise<VerificationResult> {
    const refuse = (reason: string, signer?: string): VerificationResult => ({ format: 'simple-signing', signatureDigest: signature.digest, verified: false, reason, signer });
    try {
      if (parts.layers.length !== 1) return refuse(`a simple signature is one part, this one has ${parts.layers.length}`);
      const bytes = parts.layers[0]!.bytes;
      if (bytes.length > MAX_SIGNATURE_BYTES) return refuse(`the signature is ${bytes.length} bytes, more than the ${MAX_SIGNATURE_BYTES} accepted`);
      const keys = await this.keyCache.keys(material.gpgKeys);
      if (keys.length === 0) return refuse("the project's trust policy has no GPG keys");

      let message: openpgp.Message<Uint8Array>;
      try {
        message = await openpgp.readMessage({ binaryMessage: bytes, config: PGP_CONFIG });
      } catch (err) {
        return refuse(`the signature is not a readable OpenPGP message: ${(err as Error).message}`);
      }
      let result: openpgp.VerifyMessageResult<Uint8Array>;
      try {
        result = await openpgp.verify({ message, verificationKeys: keys, format: 'binary', config: PGP_CONFIG });
      } catch (err) {
        return refuse(`the OpenPGP message cannot be read: ${(err as Error).message}`);
      }
      if (result.signatures.length !== 1) return refuse(`the OpenPGP message has ${result.signatures.length} signatures; a simple signature has exactly one`);
      const sig = result.signatures[0]!;
      const key = keys.find((k) => k.getKeyIDs().some((id) => id.equals(sig.keyID)));
      if (!key) return refuse(`the signature was made by key ${sig.keyID.toHex().toUpperCase()}, which is not one of the project's GPG keys`);
      const signer = signerOf(key);
      try {
        await sig.verified; // rejects when the signature or the key does not hold
      } catch (err) {
        return refuse(`the GPG signature does not verify with ${signer}: ${(err as Error).message}`, signer);
      }
      // Only now is the literal data trusted (openpgp reads it while verifying).
      const problem = this.documentProblem(Buffer.from(result.data as Uint8Array), subjectDigest, signature.repository);
      if (problem) return refuse(problem, signer);
      const expiresAt = await keyExpiry(key);
      return { format: 'simple-signing', signatureDigest: signature.digest, verified: true, signer, ...(expiresAt ? { expiresAt } : {}) };
    } catch (err) {
      return refuse(`the signature could not be verified: ${(err as Error).message}`);
    }
  }

  /** Why the signed containers-signature document does not cover this subject in this repository. */
  private documentProblem(data: Buffer, subjectDigest: string, repository: string | undefined): string | undefined {
    let doc: unknown;
    try {
      doc = JSON.parse(data.toString('utf8'));
    } catch {
      return 'the signed data is not a containers-signature JSON document';
    }
    const critical = (doc as { critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown }; identity?: { 'docker-reference'?: unknown } } })?.critical;
    if (!critical || typeof critical !== 'object') return 'the signed document has no "critical" section';
    if (critical.type !== SIGNATURE_TYPE_ATOMIC) return `the signed document's type is ${JSON.stringify(critical.type)}, not "${SIGNATURE_TYPE_ATOMIC}"`;
    const digest = critical.image?.['docker-manifest-digest'];
    if (digest !== subjectDigest) return `the signature is for ${typeof digest === 'string' ? digest : 'no digest'}, not for ${subjectDigest}`;
    const reference = critical.identity?.['docker-reference'];
    if (typeof reference !== 'string') return 'the signed document names no docker-reference';
    if (repository === undefined) return 'the repository the signature was found in is unknown, so its docker-reference cannot be checked';
    return this.referenceProblem(reference, repository, subjectDigest);
  }

  private referenceProblem(reference: string, repository: string, subjectDigest: string): string | undefined {
    const parsed = parseDockerReference(reference);
    if (!parsed) return `the signed docker-reference "${reference.slice(0, 200)}" is not an image reference`;
    if (parsed.digest !== undefined && parsed.digest !== subjectDigest) return `the signed docker-reference names digest ${parsed.digest}, not ${subjectDigest}`;
    if (parsed.path !== repository) return `the signature is for repository ${parsed.path}, not ${repository}`;
    if (this.hosts && (parsed.host === undefined || !this.hosts.has(parsed.host.toLowerCase()))) {
      return `the signed docker-reference names registry ${parsed.host ?? '(none)'}, not one of ${[...this.hosts].join(', ')}`;
    }
    return undefined;
  }
}

/** `host[:port]/path[:tag][@digest]` split as Docker splits it; undefined if it is not one. */
export function parseDockerReference(reference: string): { host?: string; path: string; tag?: string; digest?: string } | undefined {
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let host: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      host = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(rest)) return undefined;
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) return undefined;
  if (digest !== undefined && !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) return undefined;
  return { host, path: rest, tag, digest };
}

/**
 * The trust policy's keys, parsed once per armored text (a key's text never changes meaning;
 * parsing costs more than verifying). An armored block may hold several keys; a broken one trusts
 * nothing. Bounded: the oldest entry goes first.
 */
class KeyCache {
  private readonly entries = new Map<string, Promise<openpgp.Key[]>>();

  constructor(private readonly max = 256) {}

  async keys(armored: TrustMaterial['gpgKeys']): Promise<openpgp.Key[]> {
    const out: openpgp.Key[] = [];
    for (const k of armored) out.push(...(await this.read(k.armored)));
    return out;
  }

  private read(text: string): Promise<openpgp.Key[]> {
    let keys = this.entries.get(text);
    if (!keys) {
      // The trust policy's own validation names a key that does not parse.
      keys = openpgp.readKeys({ armoredKeys: text }).catch(() => []);
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(text, keys);
    }
    return keys;
  }
}

/** For people: the key's first user id and its fingerprint. */
function signerOf(key: openpgp.Key): string {
  const uid = key.getUserIDs()[0];
  const fingerprint = key.getFingerprint().toUpperCase();
  return uid ? `${uid} (${fingerprint})` : fingerprint;
}

async function keyExpiry(key: openpgp.Key): Promise<string | undefined> {
  try {
    const t = await key.getExpirationTime();
    return t instanceof Date && Number.isFinite(t.getTime()) ? t.toISOString() : undefined;
  } catch {
    return undefined;
  }
}
