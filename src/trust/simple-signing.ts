// The simple-signing use cases: list and add the signatures of a manifest, as containers/image's
// "X-Registry-Supports-Signatures" extension stores them (skopeo and podman `--sign-by`, when no
// lookaside is configured for the registry), and the SignatureSource that offers them to the
// pull decider as `simple-signing` signatures.
//
// A signature is opaque here: bytes a client claims are an OpenPGP-signed containers-signature(5)
// document. Whether one counts is for the verifier (gpg-verifier.ts) against a project's keys;
// storing one needs push on the repository (asked by the registry plugin for every request), so
// a stored signature proves nothing by itself.
import { createHash } from 'node:crypto';
import { OciError } from '../oci/errors.js';
import { parseDigest } from '../oci/names.js';
import type { FoundSignature, SignatureParts, SignatureSource } from './signatures.js';
import type { SimpleSignatureStore } from './simple-signing-store.js';

/** The media type a simple signature's one part is given (containers/image's own name for the format). */
export const SIMPLE_SIGNATURE_MEDIA_TYPE = 'application/vnd.containers.signature.v1';

/** The largest signature stored (and verified, gpg-verifier.ts): a GPG signature of the document is under 4 KiB. */
export const SIMPLE_SIGNATURE_MAX_BYTES = 64 * 1024;

/** What a client names a signature: `<manifest digest>@<suffix>` (containers/image: 32 random hex digits). */
const NAME_SUFFIX = /^[A-Za-z0-9._-]{1,128}$/;

export interface SimpleSignature {
  name: string;
  content: Buffer;
}

export interface SimpleSignaturesOptions {
  /** Most signatures one manifest may hold; a push beyond it is refused (DENIED). */
  maxPerManifest: number;
  /** Called after new signatures were stored (the signature gate decides the manifest again). */
  onAdded?(repository: string, manifestDigest: string): void;
}

export class SimpleSignatures {
  constructor(
    private readonly store: SimpleSignatureStore,
    private readonly options: SimpleSignaturesOptions = { maxPerManifest: 64 },
  ) {}

  /** The manifest's signatures, oldest first; MANIFEST_UNKNOWN if the repository does not hold it. */
  async list(repository: string, manifestDigest: string): Promise<SimpleSignature[]> {
    parseDigest(manifestDigest);
    const rows = await this.store.listWithContent(repository, manifestDigest);
    if (rows.length === 0 && !(await this.store.hasManifest(repository, manifestDigest))) throw unknownManifest(repository, manifestDigest);
    return rows.map((r) => ({ name: r.name, content: r.content }));
  }

  /**
   * Adds signatures to a manifest the repository holds; identical content is stored once (a
   * repeated push adds nothing). A signature without a name gets `<digest>@<its own digest's hex>`.
   * Returns how many were new.
   */
  async add(repository: string, manifestDigest: string, signatures: ReadonlyArray<{ name?: string; content: Buffer }>): Promise<number> {
    parseDigest(manifestDigest);
    const named = signatures.map((s) => ({ name: s.name ?? '', content: s.content }));
    for (const s of named) {
      if (s.content.length === 0 || s.content.length > SIMPLE_SIGNATURE_MAX_BYTES) {
        throw new OciError('SIZE_INVALID', `a signature must be 1 to ${SIMPLE_SIGNATURE_MAX_BYTES} bytes, this one is ${s.content.length}`);
      }
      if (s.name === '') continue;
      const at = s.name.indexOf('@');
      if (at < 0 || s.name.slice(0, at) !== manifestDigest || !NAME_SUFFIX.test(s.name.slice(at + 1))) {
        throw new OciError('DIGEST_INVALID', `a signature's name must be "${manifestDigest}@<id>" (the manifest's digest, "@", up to 128 of [A-Za-z0-9._-]), not "${s.name.slice(0, 200)}"`);
      }
    }
    const outcome = await this.store.add(repository, manifestDigest, named.map((s) => ({ ...s, name: s.name || `${manifestDigest}@${suffixFor(s.content)}` })), this.options.maxPerManifest);
    if (outcome.kind === 'manifest-unknown') throw unknownManifest(repository, manifestDigest);
    if (outcome.kind === 'too-many') {
      throw new OciError('DENIED', `manifest ${manifestDigest} already has ${outcome.total} signatures; at most ${this.options.maxPerManifest} are kept per manifest`);
    }
    if (outcome.added > 0) this.options.onAdded?.(repository, manifestDigest);
    return outcome.added;
  }
}

/**
 * Offers the stored simple signatures of a subject to the pull decider. Listing reads names and
 * digests only; the bytes are read when the decider loads one (its result is cached per digest).
 */
export class SimpleSigningSource implements SignatureSource {
  constructor(private readonly store: SimpleSignatureStore) {}

  async list(repository: string, subjectDigest: string): Promise<FoundSignature[]> {
    const entries = await this.store.list(repository, subjectDigest);
    return entries.map((e) => ({
      format: 'simple-signing',
      subject: subjectDigest,
      repository,
      digest: e.digest,
      location: `extension signature ${e.name.slice(e.name.indexOf('@') + 1)}`,
      load: async (): Promise<SignatureParts> => {
        const bytes = await this.store.content(repository, subjectDigest, e.digest);
        if (!bytes) throw new OciError('MANIFEST_UNKNOWN', `signature ${e.digest} of ${repository}@${subjectDigest} is gone (its manifest was deleted)`);
        return { layers: [{ mediaType: SIMPLE_SIGNATURE_MEDIA_TYPE, digest: e.digest, annotations: {}, bytes }] };
      },
    }));
  }
}

function unknownManifest(repository: string, digest: string): OciError {
  return new OciError('MANIFEST_UNKNOWN', `manifest ${digest} is not in repository ${repository}`, { name: repository, reference: digest });
}

/** Stable for identical content, so a retried push names it the same. */
function suffixFor(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}
