// Validates a pushed manifest and extracts what the registry indexes: the blobs and manifests it
// references, its subject and artifact type. Accepts the OCI image manifest and index, and Docker
// schema 2 manifests and manifest lists (OCI image-spec v1.1, Docker image manifest v2.2).
import { RegistryError } from './errors.js';
import { isDigest } from './names.js';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const IMAGE_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);

/**
 * Layers that clients download from the descriptor's `urls` (Windows base layers, licensed
 * content): registries accept manifests whose such layers they do not hold, as Distribution and
 * Docker Hub do, or Windows images could not be pushed.
 */
const NON_DISTRIBUTABLE = new Set<string>([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must already be in the repository (config and layers). */
  blobs: string[];
  /** Non-distributable layers with `urls`: referenced, but the repository need not hold them. */
  externalBlobs: string[];
  /** Manifests that must already be in the repository (index entries). */
  manifests: string[];
  subject: string | null;
  /** artifactType, else the config media type for image manifests (what the referrers API reports). */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/** `contentType` is the request's Content-Type header, used when the body has no mediaType. */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw invalid(`unsupported schemaVersion ${JSON.stringify(doc.schemaVersion)} (only 2 is supported)`);

  const header = contentType?.split(';')[0]?.trim();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (declared !== undefined && header && header !== declared && header !== 'application/json') {
    throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${declared}`);
  }
  const mediaType = declared ?? header ?? guessMediaType(doc);
  if (!mediaType) throw invalid('manifest has no mediaType and the request no Content-Type');

  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject').digest;
  if (doc.artifactType !== undefined && typeof doc.artifactType !== 'string') throw invalid('artifactType must be a string');
  const annotations = doc.annotations === undefined ? null : stringMap(doc.annotations, 'annotations');

  if (IMAGE_TYPES.has(mediaType)) {
    const config = descriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw invalid('layers must be an array');
    const layers = doc.layers.map((l, i) => ({ ...descriptor(l, `layers[${i}]`), external: isExternal(l, `layers[${i}]`) }));
    return {
      mediaType,
      blobs: [config.digest, ...layers.filter((l) => !l.external).map((l) => l.digest)],
      externalBlobs: layers.filter((l) => l.external).map((l) => l.digest),
      manifests: [],
      subject,
      artifactType: (doc.artifactType as string | undefined) ?? config.mediaType,
      annotations,
    };
  }
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('manifests must be an array');
    const children = doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
    return {
      mediaType,
      blobs: [],
      externalBlobs: [],
      manifests: children.map((c) => c.digest),
      subject,
      artifactType: (doc.artifactType as string | undefined) ?? null,
      annotations,
    };
  }
  throw invalid(`unsupported manifest media type ${mediaType}`);
}

/** OCI allows an index or manifest without mediaType; tell them apart by their fields. */
function guessMediaType(doc: Record<string, unknown>): string | undefined {
  if (Array.isArray(doc.manifests)) return MEDIA.ociIndex;
  if (doc.config !== undefined) return MEDIA.ociManifest;
  return undefined;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${where}.digest ${JSON.stringify(digest)} is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  return { mediaType, digest, size };
}

/**
 * A non-distributable layer that says where clients fetch it. Its URLs must be plain http(s)
 * without a fragment (what Distribution accepts); one without URLs must be pushed like any layer.
 */
function isExternal(layer: Record<string, unknown>, where: string): boolean {
  if (!NON_DISTRIBUTABLE.has(layer.mediaType as string) || layer.urls === undefined) return false;
  const urls = layer.urls;
  if (!Array.isArray(urls) || urls.length === 0) throw invalid(`${where}.urls must be a non-empty array of URLs`);
  for (const u of urls) {
    const url = typeof u === 'string' && URL.canParse(u) ? new URL(u) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hash !== '') {
      throw invalid(`${where}.urls: ${JSON.stringify(u)} is not an http(s) URL without a fragment`);
    }
  }
  return true;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalid(`${where} must map strings to strings`);
  }
  return value as Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}
