// Manifests, tags, blobs and listings as use cases: resolve and serve (after the pull point),
// store (after the manifest and tag points, in one transaction with its events), delete (after
// the delete point), list. Every front end calls these; the OCI handlers only parse and respond.
import { createHash } from 'node:crypto';
import type { EventBatcher } from '../events/event-batcher.js';
import type { ManifestRecord, MetadataStore, ReferrerDescriptor } from '../metadata/metadata-store.js';
import { OciError } from '../oci/errors.js';
import { parseManifest, type ParsedManifest, type Referenced } from '../oci/manifest-parse.js';
import { digestAlgorithm, parseDigest, parseReference, type Digest, type Reference } from '../oci/names.js';
import type { Caller, Policies } from '../policy/policy.js';
import type { BlobReader, BlobStore, ByteRange } from '../storage/blob-store.js';
import type { Readable } from 'node:stream';
import { eventActor } from './event-actor.js';
import { eventTime, type RegistryEvent } from '../events/events.js';
import { missingBlob } from './upload-sessions.js';

export interface ArtifactsDeps {
  meta: MetadataStore;
  blobs: BlobStore;
  policies: Policies;
  /** Where pull events go (batched: a pull costs no write transaction). */
  events: EventBatcher;
  deleteEnabled: boolean;
  /** Whether the caller may see a repository in the catalog (it may pull from it). */
  listable(caller: Caller, repository: string): boolean;
}

/** What a blob GET sends: bytes read here (positional reader or stream), or a URL to fetch them from. */
export type BlobBody = { kind: 'reader'; reader: BlobReader } | { kind: 'stream'; stream: Readable } | { kind: 'redirect'; url: string };

export interface StoredManifest {
  digest: string;
  subject: string | null;
}

export class Artifacts {
  constructor(private readonly deps: ArtifactsDeps) {}

  /**
   * The manifest a tag or digest names, once the pull point allowed it. `pulled` records an
   * `artifact.pulled` event (a GET; a HEAD only asks).
   */
  async manifest(caller: Caller, repository: string, reference: string, pulled: boolean): Promise<ManifestRecord> {
    const ref = lookupReference(reference);
    const { meta } = this.deps;
    const digest = ref === undefined ? undefined : ref.kind === 'digest' ? ref.digest : await meta.resolveTag(repository, ref.tag);
    const record = digest === undefined ? undefined : await meta.getManifest(repository, digest);
    if (!record) throw new OciError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repository}`, { name: repository, reference });
    const tag = ref?.kind === 'tag' ? ref.tag : undefined;
    await this.deps.policies.check('pull', caller, { repository, digest: record.digest, kind: 'manifest', tag });
    if (pulled) this.deps.events.pulled(repository, record.digest, tag, caller.actor);
    return record;
  }

  /** Verifies and stores a manifest pushed by tag or digest; points the tag at it. */
  async putManifest(caller: Caller, repository: string, reference: string, body: Buffer, contentType: string | undefined): Promise<StoredManifest> {
    const ref = parseReference(reference);
    const algorithm = ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
    if (ref.kind === 'digest' && ref.digest !== digest) {
      throw new OciError('DIGEST_INVALID', `manifest hashes to ${digest}, not ${ref.digest}`, { expected: ref.digest, actual: digest });
    }
    const parsed = parseManifest(body, contentType);
    await this.assertReferences(repository, parsed);
    const tag = ref.kind === 'tag' ? ref.tag : undefined;
    const { meta, policies } = this.deps;
    const record: ManifestRecord = {
      digest,
      mediaType: parsed.mediaType,
      artifactType: parsed.artifactType,
      subject: parsed.subject,
      annotations: parsed.annotations,
      size: body.length,
      content: body,
    };
    const references = [...parsed.blobs.map((b) => b.digest), ...parsed.externalBlobs, ...parsed.manifests.map((m) => m.digest)];
    const actor = await eventActor(meta, caller);
    await meta.transaction(async (tx) => {
      const blobs = parsed.blobs.map((b) => ({ digest: b.digest, size: b.size }));
      const context = { repository, digest, mediaType: parsed.mediaType, size: body.length, subject: parsed.subject, tag, blobs };
      await policies.check('manifestPut', { ...caller, actor }, context, tx);
      const previous = tag === undefined ? undefined : await tx.resolveTag(repository, tag);
      if (tag !== undefined) await policies.check('tagMove', caller, { repository, tag, digest, previous }, tx);
      await tx.putManifest(repository, record, references, tag);
      const at = eventTime();
      const events: RegistryEvent[] = [
        { type: 'manifest.pushed', at, actor, repository, digest, mediaType: parsed.mediaType, size: body.length, tag, subject: parsed.subject ?? undefined },
      ];
      if (tag !== undefined && previous !== digest) events.push({ type: 'tag.updated', at, actor, repository, tag, digest, previous });
      await tx.appendEvents(events);
    });
    return { digest, subject: parsed.subject };
  }

  /** Deletes a manifest (by digest, with its tags) or one tag. */
  async deleteManifest(caller: Caller, repository: string, reference: string): Promise<void> {
    this.assertDeleteEnabled();
    const ref = parseReference(reference);
    const { meta, policies } = this.deps;
    const actor = await eventActor(meta, caller);
    const deleted = await meta.transaction(async (tx) => {
      const at = eventTime();
      if (ref.kind === 'digest') {
        await policies.check('delete', caller, { repository, kind: 'manifest', digest: ref.digest }, tx);
        const gone = await tx.deleteManifest(repository, ref.digest);
        if (!gone.deleted) return false;
        await tx.appendEvents([
          { type: 'manifest.deleted', at, actor, repository, digest: ref.digest, tags: gone.tags },
          ...gone.tags.map((tag): RegistryEvent => ({ type: 'tag.deleted', at, actor, repository, tag, digest: ref.digest })),
        ]);
        return true;
      }
      const digest = await tx.resolveTag(repository, ref.tag);
      await policies.check('delete', caller, { repository, kind: 'tag', tag: ref.tag, digest }, tx);
      if (digest === undefined || (await tx.deleteTag(repository, ref.tag)) === undefined) return false;
      await tx.appendEvents([{ type: 'tag.deleted', at, actor, repository, tag: ref.tag, digest }]);
      return true;
    });
    if (!deleted) throw new OciError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repository}`);
  }

  /** Size of a blob the repository holds, once the pull point allowed it; BLOB_UNKNOWN otherwise. */
  async blobSize(caller: Caller, repository: string, digestText: string): Promise<{ digest: Digest; size: number }> {
    const digest = parseDigest(digestText);
    const size = await this.deps.meta.repositoryBlobSize(repository, digest);
    if (size === undefined) throw new OciError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repository}`, { digest });
    await this.deps.policies.check('pull', caller, { repository, digest, kind: 'blob' });
    return { digest, size };
  }

  /** The bytes of a blob (its size known from blobSize): how the store serves them best. */
  async blobBody(digest: Digest, range: ByteRange, redirectTtlSeconds?: number): Promise<BlobBody> {
    const { blobs } = this.deps;
    try {
      if (redirectTtlSeconds !== undefined && blobs.redirectUrl) {
        const url = await blobs.redirectUrl(digest, redirectTtlSeconds);
        if (url !== undefined) return { kind: 'redirect', url };
      }
      // A local file is sent with reused buffers; other stores stream. The explicit end lets a
      // stream finish with its last chunk instead of one more read to find EOF.
      if (blobs.openReader) return { kind: 'reader', reader: await blobs.openReader(digest) };
      return { kind: 'stream', stream: await blobs.open(digest, range) };
    } catch (err) {
      return missingBlob(err, digest);
    }
  }

  /** Removes a blob from a repository (the bytes stay until garbage collection). */
  async deleteBlob(caller: Caller, repository: string, digestText: string): Promise<void> {
    this.assertDeleteEnabled();
    const digest = parseDigest(digestText);
    const { meta, policies } = this.deps;
    const actor = await eventActor(meta, caller);
    const deleted = await meta.transaction(async (tx) => {
      await policies.check('delete', caller, { repository, kind: 'blob', digest }, tx);
      if (!(await tx.unlinkBlob(repository, digest))) return false;
      await tx.appendEvents([{ type: 'blob.deleted', at: eventTime(), actor, repository, digest }]);
      return true;
    });
    if (!deleted) throw new OciError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repository}`, { digest });
  }

  /** Tags after `last`, at most `limit`; NAME_UNKNOWN for a repository that does not exist. */
  async tags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    const { meta } = this.deps;
    if (!(await meta.repositoryExists(repository))) throw new OciError('NAME_UNKNOWN', `repository ${repository} is not known`, { name: repository });
    return limit === 0 ? [] : meta.listTags(repository, last, limit);
  }

  /** Repository names after `last` that the caller may pull from, at most `limit`. */
  async repositories(caller: Caller, last: string | undefined, limit: number): Promise<string[]> {
    if (limit === 0) return [];
    const { meta, listable } = this.deps;
    const out: string[] = [];
    // Read ahead in batches and keep what the caller may see, until the page is full.
    const batch = Math.max(limit, 100);
    for (let after = last; ; ) {
      const names = await meta.listRepositories(after, batch);
      for (const name of names) if (listable(caller, name) && out.push(name) === limit) return out;
      if (names.length < batch) return out;
      after = names[names.length - 1];
    }
  }

  referrers(repository: string, subject: string, artifactType: string | undefined): Promise<ReferrerDescriptor[]> {
    return this.deps.meta.listReferrers(repository, parseDigest(subject), artifactType);
  }

  private assertDeleteEnabled(): void {
    if (!this.deps.deleteEnabled) throw new OciError('UNSUPPORTED', 'deletes are disabled on this registry (registry.deleteEnabled)');
  }

  /**
   * Every blob and child manifest a manifest references must be in the repository, with the size
   * its descriptor gives (a blob's stored size, a child manifest's length): clients pulling it
   * would otherwise fail on a size mismatch. Checked before anything is stored.
   */
  private async assertReferences(repository: string, parsed: ParsedManifest): Promise<void> {
    const { meta } = this.deps;
    const blobSizes = await meta.blobSizes(repository, parsed.blobs.map((b) => b.digest));
    const manifestSizes = await meta.manifestSizes(repository, parsed.manifests.map((m) => m.digest));
    const checked: Array<[Referenced, number | undefined]> = [
      ...parsed.blobs.map((b): [Referenced, number | undefined] => [b, blobSizes.get(b.digest)]),
      ...parsed.manifests.map((m): [Referenced, number | undefined] => [m, manifestSizes.get(m.digest)]),
    ];
    const missing = [...new Set(checked.filter(([, size]) => size === undefined).map(([r]) => r.digest))];
    if (missing.length > 0) {
      throw new OciError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s) or manifest(s), first ${missing[0]}`, {
        digests: missing.slice(0, 20),
      });
    }
    const wrong = checked.find(([r, size]) => r.size !== size);
    if (wrong) {
      const [r, size] = wrong;
      throw new OciError('MANIFEST_INVALID', `${r.where} gives size ${r.size} for ${r.digest}, but the repository holds it with ${size} bytes`, {
        descriptor: r.where,
        digest: r.digest,
        size: r.size,
        stored: size,
      });
    }
  }
}

/**
 * A pull of something that cannot be a tag names no manifest: 404 MANIFEST_UNKNOWN, as the spec
 * says for a manifest that is not found (and the conformance suite checks). A malformed digest is
 * still DIGEST_INVALID, and a push of a bad tag still TAG_INVALID, so the pusher learns why.
 */
function lookupReference(reference: string): Reference | undefined {
  try {
    return parseReference(reference);
  } catch (err) {
    if (err instanceof OciError && err.code === 'TAG_INVALID') return undefined;
    throw err;
  }
}
