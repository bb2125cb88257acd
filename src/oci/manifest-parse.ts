// Validates a pushed manifest and extracts what the registry indexes: the blobs and manifests it
// references, its subject and artifact type. Accepts the OCI image manifest and index, and Docker
// schema 2 manifests and manifest lists (OCI image-spec v1.1, Docker image manifest v2.2).
import { OciError } from './errors.js';
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

/** A blob or manifest a manifest references, with the size it claims and where it says so. */
export interface Referenced {
  digest: string;
  size: number;
  /** The descriptor's place in the manifest ("layers[2]"), for messages. */
  where: string;
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must already be in the repository with these sizes (config and layers). */
  blobs: Referenced[];
  /** Non-distributable layers with `urls`: referenced, but the repository need not hold them. */
  externalBlobs: string[];
  /** Manifests that must already be in the repository with these sizes (index entries). */
  manifests: Referenced[];
  subject: string | null;
  /** artifactType, else the config media type for image manifests (what the referrers API reports). */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/**
 * `contentType` is the request's Content-Type header, used when the body has no mediaType.
 * Every field the specs define is checked for its type, and a wrong one is MANIFEST_INVALID
 * with a message that starts with the field's path ("layers[0].size must be ..."); fields the
 * specs do not define are left alone, as they require.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw invalid(`schemaVersion must be the number 2 (the only version supported), got ${JSON.stringify(doc.schemaVersion)}`);

  const header = contentType?.split(';')[0]?.trim();
  const declared = optionalString(doc, 'mediaType', '');
  if (declared !== undefined && header && header !== declared && header !== 'application/json') {
    throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${declared}`);
  }
  const mediaType = declared ?? header ?? guessMediaType(doc);
  if (!mediaType) throw invalid('manifest has no mediaType and the request no Content-Type');

  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject').digest;
  const artifactType = optionalString(doc, 'artifactType', '') ?? null;
  const annotations = doc.annotations === undefined ? null : stringMap(doc.annotations, 'annotations');

  if (IMAGE_TYPES.has(mediaType)) {
    const config = descriptor(doc.config, 'config');
    const layers = array(doc.layers, 'layers').map((l, i) => {
      const where = `layers[${i}]`;
      return { ...descriptor(l, where), where, external: isExternal(l as Record<string, unknown>, where) };
    });
    return {
      mediaType,
      blobs: [{ digest: config.digest, size: config.size, where: 'config' }, ...layers.filter((l) => !l.external)],
      externalBlobs: layers.filter((l) => l.external).map((l) => l.digest),
      manifests: [],
      subject,
      artifactType: artifactType ?? config.mediaType,
      annotations,
    };
  }
  if (INDEX_TYPES.has(mediaType)) {
    const children = array(doc.manifests, 'manifests').map((m, i) => {
      const where = `manifests[${i}]`;
      const child = descriptor(m, where);
      if ((m as Record<string, unknown>).platform !== undefined) platform((m as Record<string, unknown>).platform, `${where}.platform`);
      return { digest: child.digest, size: child.size, where };
    });
    return { mediaType, blobs: [], externalBlobs: [], manifests: children, subject, artifactType, annotations };
  }
  throw invalid(`unsupported manifest media type ${mediaType}`);
}

/** OCI allows an index or manifest without mediaType; tell them apart by their fields. */
function guessMediaType(doc: Record<string, unknown>): string | undefined {
  if (Array.isArray(doc.manifests)) return MEDIA.ociIndex;
  if (doc.config !== undefined) return MEDIA.ociManifest;
  return undefined;
}

// Standard base64 with padding (RFC 4648 section 4), what the image-spec requires of `data`.
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A content descriptor (image-spec "Descriptor"): every field it defines, type-checked. */
function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${where}.digest ${JSON.stringify(digest)} is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  if (value.urls !== undefined) stringArray(value.urls, `${where}.urls`);
  if (value.annotations !== undefined) stringMap(value.annotations, `${where}.annotations`);
  optionalString(value, 'artifactType', `${where}.`);
  const data = optionalString(value, 'data', `${where}.`);
  if (data !== undefined && !BASE64_RE.test(data)) throw invalid(`${where}.data must be base64 (RFC 4648, with padding)`);
  return { mediaType, digest, size };
}

/** An index entry's platform (image-spec "Image Index", Docker manifest list): architecture and os required. */
function platform(value: unknown, where: string): void {
  if (!isObject(value)) throw invalid(`${where} must be an object`);
  for (const field of ['architecture', 'os']) {
    if (typeof value[field] !== 'string') throw invalid(`${where}.${field} must be a string`);
  }
  for (const field of ['os.version', 'variant']) optionalString(value, field, `${where}.`);
  for (const field of ['os.features', 'features']) if (value[field] !== undefined) stringArray(value[field], `${where}.${field}`);
}

/**
 * A non-distributable layer that says where clients fetch it. Its URLs must be plain http(s)
 * without a fragment (what Distribution accepts); one without URLs must be pushed like any layer.
 */
function isExternal(layer: Record<string, unknown>, where: string): boolean {
  if (!NON_DISTRIBUTABLE.has(layer.mediaType as string) || layer.urls === undefined) return false;
  const urls = layer.urls as string[];
  if (urls.length === 0) throw invalid(`${where}.urls must be a non-empty array of URLs`);
  for (const u of urls) {
    const url = URL.canParse(u) ? new URL(u) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hash !== '') {
      throw invalid(`${where}.urls: ${JSON.stringify(u)} is not an http(s) URL without a fragment`);
    }
  }
  return true;
}

function optionalString(object: Record<string, unknown>, field: string, prefix: string): string | undefined {
  const value = object[field];
  if (value !== undefined && typeof value !== 'string') throw invalid(`${prefix}${field} must be a string`);
  return value;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`);
  return value;
}

function stringArray(value: unknown, where: string): string[] {
  array(value, where).forEach((v, i) => {
    if (typeof v !== 'string') throw invalid(`${where}[${i}] must be a string`);
  });
  return value as string[];
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

function invalid(message: string): OciError {
  return new OciError('MANIFEST_INVALID', message);
}
