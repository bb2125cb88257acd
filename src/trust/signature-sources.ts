// Where signatures of a manifest are found (SignatureSource, trust/signatures.ts):
//  - OCI 1.1 referrers: manifests whose `subject` is the digest, classified by artifactType (or
//    the config media type) as Harbor and zot do (harbor-layer.md §1.13, §2.2): cosign's
//    `application/vnd.dev.cosign.artifact.sig.v1+json`, a sigstore bundle
//    `application/vnd.dev.sigstore.bundle.v0.3+json`, a Notary signature
//    `application/vnd.cncf.notary.signature` (JWS or COSE by its layer's media type);
//  - cosign's tag scheme: the tag `sha256-<hex>.sig` in the subject's repository.
// `list` reads metadata only (manifests live in the metadata store); `load` reads the layers
// through the BlobStore, each checked against its digest and bounded in size.
import { createHash } from 'node:crypto';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { FoundSignature, SignatureFormat, SignatureParts, SignatureSource } from './signatures.js';

export const COSIGN_SIGNATURE_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const SIGSTORE_BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const NOTATION_SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
export const COSIGN_SIMPLESIGNING_LAYER = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';

/** Artifact types that are signatures: a manifest of one with a subject is never gated itself. */
export const SIGNATURE_ARTIFACT_TYPES: ReadonlySet<string> = new Set([COSIGN_SIGNATURE_TYPE, SIGSTORE_BUNDLE_TYPE, NOTATION_SIGNATURE_TYPE]);

/** cosign's tags for a digest's signatures, attestations and SBOMs: `sha256-<hex>.sig|.att|.sbom`. */
export const COSIGN_TAG = /^(sha256|sha384|sha512)-([a-f0-9]{64,128})\.(sig|att|sbom)$/;

/** The tag cosign signs a digest under. */
export function cosignSignatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The subject a cosign tag names, if it is one (`sha256-<hex>.sig` → `sha256:<hex>`). */
export function cosignTagSubject(tag: string): string | undefined {
  const m = COSIGN_TAG.exec(tag);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** Bounds on what a signature may make the registry read: a hostile pusher controls it. */
export const MAX_SIGNATURE_LAYERS = 32;
export const MAX_SIGNATURE_LAYER_BYTES = 1024 * 1024;
/** Signatures of one subject considered (oldest first, then the tag's): each costs a verification. */
export const MAX_SIGNATURES = 32;

interface ManifestDoc {
  artifactType?: unknown;
  config?: { mediaType?: unknown };
  layers?: Array<{ mediaType?: unknown; digest?: unknown; size?: unknown; annotations?: unknown }>;
  annotations?: unknown;
}

export interface SourceDeps {
  meta: Pick<MetadataStore, 'listReferrers' | 'getManifest' | 'resolveTag'>;
  blobs: Pick<BlobStore, 'open'>;
}

/** Both of minato's sources, referrers then the cosign tag, as one. */
export class StoredSignatures implements SignatureSource {
  constructor(private readonly deps: SourceDeps) {}

  async list(repository: string, subjectDigest: string): Promise<FoundSignature[]> {
    const { meta } = this.deps;
    const found: FoundSignature[] = [];
    for (const r of await meta.listReferrers(repository, subjectDigest)) {
      if (!r.artifactType || !SIGNATURE_ARTIFACT_TYPES.has(r.artifactType)) continue;
      if (found.length >= MAX_SIGNATURES - 1) break; // room for the tag's
      const record = await meta.getManifest(repository, r.digest);
      if (!record) continue;
      const format = formatOf(r.artifactType, parseDoc(record.content));
      if (format) found.push(this.signature(repository, subjectDigest, r.digest, format, 'referrer'));
    }
    const tag = cosignSignatureTag(subjectDigest);
    const tagged = await meta.resolveTag(repository, tag);
    if (tagged !== undefined && !found.some((f) => f.digest === tagged)) found.push(this.signature(repository, subjectDigest, tagged, 'cosign', `tag ${tag}`));
    return found;
  }

  private signature(repository: string, subject: string, digest: string, format: SignatureFormat, location: string): FoundSignature {
    return { format, subject, digest, location, load: () => this.load(repository, digest) };
  }

  /** The signature manifest and its layers, each checked against its digest. */
  private async load(repository: string, digest: string): Promise<SignatureParts> {
    const record = await this.deps.meta.getManifest(repository, digest);
    if (!record) throw new Error(`signature manifest ${digest} is no longer in ${repository}`);
    const doc = parseDoc(record.content);
    const layers = Array.isArray(doc.layers) ? doc.layers : [];
    if (layers.length > MAX_SIGNATURE_LAYERS) throw new Error(`signature manifest ${digest} has ${layers.length} layers, more than the ${MAX_SIGNATURE_LAYERS} minato reads`);
    const parts: SignatureParts = {
      manifest: { mediaType: record.mediaType, bytes: record.content, annotations: record.annotations ?? {} },
      layers: [],
    };
    for (const layer of layers) {
      const mediaType = typeof layer.mediaType === 'string' ? layer.mediaType : '';
      const layerDigest = typeof layer.digest === 'string' ? layer.digest : '';
      const size = typeof layer.size === 'number' ? layer.size : -1;
      if (size < 0 || size > MAX_SIGNATURE_LAYER_BYTES) throw new Error(`layer ${layerDigest} of signature ${digest} is ${size} bytes, more than the ${MAX_SIGNATURE_LAYER_BYTES} minato reads`);
      const bytes = await this.read(layerDigest, size);
      parts.layers.push({ mediaType, digest: layerDigest, annotations: stringRecord(layer.annotations), bytes });
    }
    return parts;
  }

  private async read(digest: string, size: number): Promise<Buffer> {
    const [algorithm, hex] = digest.split(':');
    if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new Error(`layer digest ${digest} is not sha256 or sha512`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.deps.blobs.open(digest as never)) {
      total += (chunk as Buffer).length;
      if (total > size) throw new Error(`layer ${digest} holds more than the ${size} bytes its descriptor says`);
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    if (createHash(algorithm).update(bytes).digest('hex') !== hex) throw new Error(`layer ${digest} does not hash to its digest`);
    return bytes;
  }
}

/** The format of a signature manifest of this artifact type (a Notary one: by its layer's media type). */
function formatOf(artifactType: string, doc: ManifestDoc): SignatureFormat | undefined {
  if (artifactType === COSIGN_SIGNATURE_TYPE) return 'cosign';
  if (artifactType === SIGSTORE_BUNDLE_TYPE) return 'sigstore-bundle';
  if (artifactType === NOTATION_SIGNATURE_TYPE) {
    const mediaType = doc.layers?.[0]?.mediaType;
    if (mediaType === JWS_MEDIA_TYPE) return 'notation-jws';
    if (mediaType === COSE_MEDIA_TYPE) return 'notation-cose';
  }
  return undefined;
}

function parseDoc(content: Buffer): ManifestDoc {
  try {
    const doc = JSON.parse(content.toString('utf8')) as unknown;
    return doc !== null && typeof doc === 'object' ? (doc as ManifestDoc) : {};
  } catch {
    return {};
  }
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
