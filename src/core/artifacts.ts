// Manifests, tags, blobs and listings as use cases: resolve and serve (after the pull point),
// store (after the manifest and tag points, in one transaction with its events), delete (after
// the delete point), list. Every front end calls these; the OCI handlers only parse and respond.
import { createHash } from 'node:crypto';
import type { EventBatcher } from '../events/event-batcher.js';
import type { ManifestRecord, MetadataStore, ReferrerDescriptor } from '../metadata/metadata-store.js';
import { OciError } from '../oci/errors.js';
import { parseManifest, type ParsedManifest, type Referenced } from '../oci/manifest-parse.js';
import { digestAlgorithm, parseDigest, parseReference, type Digest, type Reference } from '../oci/names.js';
import { PolicyRefusal, type Caller, type Policies } from '../policy/policy.js';
import type { BlobReader, BlobStore, ByteRange } from '../storage/blob-store.js';
import type { Readable } from 'node:stream';
import { eventActor } from './event-actor.js';
import { eventTime, SYSTEM_ACTOR, type RegistryEvent } from '../events/events.js';
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
    await this.deps.policies.check('pull', caller, { repository, digest: record.digest, kind: 'manifest', tag, mediaType: record.mediaType, artifactType: record.artifactType });
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
    const references = referencesOf(parsed);
    const actor = await eventActor(meta, caller);
    await meta.transaction(async (tx) => {
      const blobs = parsed.blobs.map((b) => ({ digest: b.digest, size: b.size }));
      const context = { repository, digest, mediaType: parsed.mediaType, size: body.length, subject: parsed.subject, tag, blobs };
      await policies.check('manifestPut', { ...caller, actor }, context, tx);
      const previous = tag === undefined ? undefined : await tx.resolveTag(repository, tag);
      if (tag !== undefined) await policies.check('tagMove', caller, { repository, tag, digest, previous }, tx);
      await tx.putManifest(repository, record, references, tag);
      // Checked before the transaction; checked again in it, because garbage collection may have
      // taken a blob or child manifest since: the client then pushes it again (never a manifest
      // pointing at nothing).
      const missing = await tx.missingReferences(repository, parsed.blobs.map((b) => b.digest), parsed.manifests.map((m) => m.digest));
      if (missing.length > 0) throw missingReferences(missing);
      const at = eventTime();
      const events: RegistryEvent[] = [
        { type: 'manifest.pushed', at, actor, repository, digest, mediaType: parsed.mediaType, size: body.length, tag, subject: parsed.subject ?? undefined },
      ];
      if (tag !== undefined && previous !== digest) events.push({ type: 'tag.updated', at, actor, repository, tag, digest, previous });
      await tx.appendEvents(events);
    });
    return { digest, subject: parsed.subject };
  }

  /**
   * Deletes a manifest (by digest, with its tags) or one tag. `onlyIfTags`: delete the manifest
   * only if these are exactly its tags at the moment of the delete (checked in its transaction:
   * a job that planned from a snapshot never deletes a tag pushed since); TagsChanged otherwise.
   */
  async deleteManifest(caller: Caller, repository: string, reference: string, options: { onlyIfTags?: readonly string[] } = {}): Promise<void> {
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
        if (options.onlyIfTags && !sameMembers(gone.tags, options.onlyIfTags)) throw new TagsChanged(gone.tags); // rolls the delete back
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

  /**
   * Garbage collection's delete of untagged manifests (gc/): those of `manifests` that are still
   * garbage inside the transaction (MetadataTx.manifestCollectable: a tag pushed meanwhile wins)
   * are deleted through the delete point as the system, with their events, in one transaction.
   * Returns those deleted.
   */
  async collectManifests(manifests: ReadonlyArray<{ repository: string; digest: string }>, before: number): Promise<Array<{ repository: string; digest: string }>> {
    const { meta, policies } = this.deps;
    const caller: Caller = { actor: SYSTEM_ACTOR };
    return meta.transaction(async (tx) => {
      const at = eventTime();
      const deleted: Array<{ repository: string; digest: string }> = [];
      for (const m of manifests) {
        if (!(await tx.manifestCollectable(m.repository, m.digest, before))) continue;
        try {
          await policies.check('delete', caller, { repository: m.repository, kind: 'manifest', digest: m.digest }, tx);
        } catch (err) {
          if (err instanceof PolicyRefusal) continue; // a rule keeps it (the next run asks again)
          throw err;
        }
        if ((await tx.deleteManifest(m.repository, m.digest)).deleted) deleted.push(m);
      }
      await tx.appendEvents(deleted.map((m): RegistryEvent => ({ type: 'manifest.deleted', at, actor: SYSTEM_ACTOR, repository: m.repository, digest: m.digest, tags: [] })));
      return deleted;
    });
  }

  /**
   * Points `tag` at a manifest the repository holds (a retag: the tag moves if it pointed
   * elsewhere), through the tagMove point. Returns the digest it pointed at before, if any.
   */
  async tag(caller: Caller, repository: string, digest: string, tag: string): Promise<string | undefined> {
    if (parseReference(tag).kind !== 'tag') throw new OciError('TAG_INVALID', `${tag} is not a tag name: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
    const { meta, policies } = this.deps;
    const record = await meta.getManifest(repository, digest);
    if (!record) throw new OciError('MANIFEST_UNKNOWN', `manifest ${digest} is not in repository ${repository}`, { name: repository, reference: digest });
    const actor = await eventActor(meta, caller);
    return meta.transaction(async (tx) => {
      const previous = await tx.resolveTag(repository, tag);
      await policies.check('tagMove', caller, { repository, tag, digest, previous }, tx);
      await tx.putManifest(repository, record, referencesOf(parseManifest(record.content, record.mediaType)), tag);
      if (previous !== digest) await tx.appendEvents([{ type: 'tag.updated', at: eventTime(), actor, repository, tag, digest, previous }]);
      return previous;
    });
  }

  /**
   * Copies a manifest (with the child manifests of an index) from one repository to another,
   * tagged `tag` when given. No bytes move: the blobs are linked to the target (as a mount) and
   * the manifests stored there, in one transaction, through the pull point of the source and the
   * mount, manifest and tag points of the target (so quotas and permissions apply as to a push).
   */
  async copy(caller: Caller, from: string, reference: string, to: string, tag?: string): Promise<string> {
    const { meta, policies } = this.deps;
    const root = await this.manifest(caller, from, reference, false);
    // Every manifest to copy, children first, and every blob they reference.
    const manifests: Array<{ record: ManifestRecord; parsed: ParsedManifest }> = [];
    const visit = async (record: ManifestRecord, depth: number) => {
      const parsed = parseManifest(record.content, record.mediaType);
      for (const child of parsed.manifests) {
        const c = await meta.getManifest(from, child.digest);
        if (!c) throw new OciError('MANIFEST_UNKNOWN', `manifest ${child.digest}, a child of ${record.digest}, is not in repository ${from}`);
        if (depth < 4) await visit(c, depth + 1);
      }
      manifests.push({ record, parsed });
    };
    await visit(root, 0);
    // Sorted: the blobs' GC locks (PostgreSQL, MetadataTx.claimBlob) are taken in this order, the
    // order every other locker of several digests takes them in.
    const digests = [...new Set(manifests.flatMap((m) => m.parsed.blobs.map((b) => b.digest)))].sort();
    const sizes = await meta.blobSizes(from, digests);
    const actor = await eventActor(meta, caller);
    await meta.transaction(async (tx) => {
      const at = eventTime();
      const events: RegistryEvent[] = [];
      for (const digest of digests) {
        const size = sizes.get(digest);
        if (size === undefined) throw new OciError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${from}`, { digest });
        await policies.check('mount', caller, { repository: to, digest, from }, tx);
        // As a mount does: the blob enters the target's project (its quota counts it).
        await policies.check('blobCommit', { ...caller, actor }, { repository: to, digest, size }, tx);
        // No bytes were stored here: a blob garbage collection is deleting or deleted is gone.
        if (!(await tx.claimBlob(to, digest, undefined))) throw new OciError('BLOB_UNKNOWN', `blob ${digest} was removed by garbage collection`, { digest });
        await tx.linkBlob(to, digest, size);
        events.push({ type: 'blob.mounted', at, actor, repository: to, digest, size, from });
      }
      for (const { record, parsed } of manifests) {
        const rootTag = record.digest === root.digest ? tag : undefined;
        const blobs = parsed.blobs.map((b) => ({ digest: b.digest, size: b.size }));
        await policies.check('manifestPut', { ...caller, actor }, { repository: to, digest: record.digest, mediaType: record.mediaType, size: record.size, subject: record.subject, tag: rootTag, blobs }, tx);
        const previous = rootTag === undefined ? undefined : await tx.resolveTag(to, rootTag);
        if (rootTag !== undefined) await policies.check('tagMove', caller, { repository: to, tag: rootTag, digest: record.digest, previous }, tx);
        await tx.putManifest(to, record, referencesOf(parsed), rootTag);
        events.push({ type: 'manifest.pushed', at, actor, repository: to, digest: record.digest, mediaType: record.mediaType, size: record.size, tag: rootTag, subject: record.subject ?? undefined });
        if (rootTag !== undefined && previous !== record.digest) events.push({ type: 'tag.updated', at, actor, repository: to, tag: rootTag, digest: record.digest, previous });
      }
      await tx.appendEvents(events);
    });
    return root.digest;
  }

  /**
   * Deletes a whole repository's content: these manifests (with their tags) and blob links, in
   * one transaction through the delete point (`manifests` and `blobs` as listed just before; what
   * a push adds meanwhile stays). The repository is then empty, which listings take as gone.
   */
  async deleteRepository(caller: Caller, repository: string, manifests: readonly string[], blobs: readonly string[]): Promise<number> {
    this.assertDeleteEnabled();
    const { meta, policies } = this.deps;
    const actor = await eventActor(meta, caller);
    return meta.transaction(async (tx) => {
      const at = eventTime();
      const events: RegistryEvent[] = [];
      let deleted = 0;
      for (const digest of manifests) {
        await policies.check('delete', caller, { repository, kind: 'manifest', digest }, tx);
        const gone = await tx.deleteManifest(repository, digest);
        if (!gone.deleted) continue;
        deleted++;
        events.push({ type: 'manifest.deleted', at, actor, repository, digest, tags: gone.tags });
        for (const t of gone.tags) events.push({ type: 'tag.deleted', at, actor, repository, tag: t, digest });
      }
      for (const digest of blobs) {
        await policies.check('delete', caller, { repository, kind: 'blob', digest }, tx);
        if (await tx.unlinkBlob(repository, digest)) events.push({ type: 'blob.deleted', at, actor, repository, digest });
      }
      await tx.appendEvents(events);
      return deleted;
    });
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
    if (missing.length > 0) throw missingReferences(missing);
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

/** MANIFEST_BLOB_UNKNOWN naming what a manifest references that the repository lacks. */
function missingReferences(missing: readonly string[]): OciError {
  return new OciError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s) or manifest(s), first ${missing[0]}`, {
    digests: missing.slice(0, 20),
  });
}

/** What a manifest references (kept for garbage collection and delete checks). */
function referencesOf(parsed: ParsedManifest): string[] {
  return [...parsed.blobs.map((b) => b.digest), ...parsed.externalBlobs, ...parsed.manifests.map((m) => m.digest)];
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

/** A conditional delete found other tags than expected (Artifacts.deleteManifest's `onlyIfTags`). */
export class TagsChanged extends Error {
  constructor(readonly tags: string[]) {
    super(`its tags changed (now ${tags.join(', ') || 'none'})`);
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(b);
  return a.length === set.size && a.every((x) => set.has(x));
}
