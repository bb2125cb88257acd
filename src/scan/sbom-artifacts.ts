// SBOMs as OCI 1.1 referrers of the artifact they describe: generated from its stored inventory
// (scan/sbom.ts) and pushed through the registry's use cases (blobs through the upload sessions,
// the manifest through Artifacts.putManifest), so quotas, events, the audit log and the
// referrers API (`/v2/<name>/referrers/<digest>?artifactType=...`) see them as any push. The
// manifest: `artifactType` the SBOM's media type, the empty config, one layer holding the
// document, `subject` the artifact, and Harbor's created/created-by annotations
// (harbor-layer.md §1.12, with the SBOM's own media type as artifactType, as OCI 1.1 intends).
//
// Reading one takes the newest referrer of that artifactType. Generating again pushes a new one
// (older ones stay, as with Harbor, until the subject goes: the referrers go with it in GC).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Artifacts } from '../core/artifacts.js';
import type { UploadSessions } from '../core/upload-sessions.js';
import type { ManifestRecord } from '../metadata/metadata-store.js';
import { parseDigest } from '../oci/names.js';
import type { Caller } from '../policy/policy.js';
import { notFound } from '../util/domain-error.js';
import type { Inventories } from './inventory.js';
import { SBOM_MEDIA_TYPES, sbomDocument, type SbomFormat, type SbomTool } from './sbom.js';

const EMPTY = Buffer.from('{}');
const EMPTY_TYPE = 'application/vnd.oci.empty.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** The most an SBOM document read back may weigh (a large image's SPDX is a few MB). */
const READ_LIMIT = 64 * 1024 * 1024;

export interface SbomArtifactsDeps {
  inventories: Inventories;
  uploads: Pick<UploadSessions, 'push'>;
  artifacts: Pick<Artifacts, 'putManifest' | 'referrers'>;
  /** The manifest a tag or digest names in a repository (committed state; no pull point: the API's rule decided). */
  resolve(repository: string, reference: string): Promise<ManifestRecord | undefined>;
  /** A blob the repository holds. */
  openBlob(repository: string, digest: string): Promise<Readable>;
  /** Scans the artifact now, when no inventory is stored yet (absent: the caller is told to scan). */
  scanNow?(target: { repository: string; digest: string; mediaType: string; tag?: string }, signal: AbortSignal): Promise<void>;
  tool: SbomTool;
  scanTimeoutMs: number;
}

export interface StoredSbom {
  /** The SBOM manifest's digest (the referrer). */
  digest: string;
  subject: string;
  mediaType: string;
  document: Buffer;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class SbomArtifacts {
  constructor(private readonly deps: SbomArtifactsDeps) {}

  private async subject(repository: string, reference: string): Promise<ManifestRecord> {
    const record = await this.deps.resolve(repository, reference);
    if (!record) throw notFound(`artifact ${reference} is not in repository ${repository}`);
    return record;
  }

  /**
   * Generates the SBOM of an artifact from its inventory and pushes it as a referrer. `caller`
   * must be allowed to push to the repository. Throws NOT_FOUND for an unknown artifact, or one
   * with no inventory (not scanned by the built-in scanner) when no scan can run.
   */
  async generate(caller: Caller, repository: string, reference: string, format: SbomFormat, host: string): Promise<StoredSbom> {
    const subject = await this.subject(repository, reference);
    let inventory = await this.deps.inventories.get(subject.digest);
    if (!inventory && this.deps.scanNow) {
      await this.deps.scanNow({ repository, digest: subject.digest, mediaType: subject.mediaType, tag: reference.includes(':') ? undefined : reference }, AbortSignal.timeout(this.deps.scanTimeoutMs));
      inventory = await this.deps.inventories.get(subject.digest);
    }
    if (!inventory) throw notFound(`artifact ${repository}@${subject.digest} has no package inventory: scan it with the built-in scanner first (POST .../artifacts/{reference}/scan)`);
    const tag = /^sha256:/.test(reference) ? undefined : reference;
    const document = Buffer.from(sbomDocument(format, inventory, { host, repository, digest: subject.digest, tag }, this.deps.tool));
    const mediaType = SBOM_MEDIA_TYPES[format];
    for (const blob of [EMPTY, document]) {
      await this.deps.uploads.push(caller, repository, parseDigest(sha256(blob)), { body: Readable.from([blob]), length: blob.length, aborted: () => false });
    }
    const created = new Date().toISOString();
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: mediaType,
        config: { mediaType: EMPTY_TYPE, digest: sha256(EMPTY), size: EMPTY.length, data: EMPTY.toString('base64') },
        layers: [{ mediaType, digest: sha256(document), size: document.length }],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        annotations: {
          created,
          'created-by': this.deps.tool.name,
          'org.opencontainers.image.created': created,
          'org.opencontainers.artifact.description': `${format === 'spdx' ? 'SPDX 2.3' : 'CycloneDX 1.6'} JSON SBOM`,
        },
      }),
    );
    const stored = await this.deps.artifacts.putManifest(caller, repository, sha256(manifest), manifest, OCI_MANIFEST);
    return { digest: stored.digest, subject: subject.digest, mediaType, document };
  }

  /** The newest SBOM of that format attached to the artifact; NOT_FOUND when there is none. */
  async read(repository: string, reference: string, format: SbomFormat): Promise<StoredSbom> {
    const subject = await this.subject(repository, reference);
    const mediaType = SBOM_MEDIA_TYPES[format];
    const referrers = await this.deps.artifacts.referrers(repository, subject.digest, mediaType);
    const newest = referrers.at(-1);
    if (!newest) throw notFound(`artifact ${repository}@${subject.digest} has no ${format} SBOM: generate one (POST .../artifacts/{reference}/sbom?format=${format})`);
    const record = await this.subject(repository, newest.digest);
    const layers = (JSON.parse(record.content.toString('utf8')) as { layers?: Array<{ digest?: unknown; mediaType?: unknown }> }).layers ?? [];
    const layer = layers.find((l) => l.mediaType === mediaType && typeof l.digest === 'string');
    if (!layer) throw notFound(`the SBOM ${newest.digest} of ${repository} holds no ${mediaType} layer`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of (await this.deps.openBlob(repository, layer.digest as string)) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > READ_LIMIT) throw notFound(`the SBOM ${newest.digest} is larger than ${READ_LIMIT} bytes: pull it with oras or skopeo`);
      chunks.push(chunk);
    }
    return { digest: newest.digest, subject: subject.digest, mediaType, document: Buffer.concat(chunks) };
  }
}
