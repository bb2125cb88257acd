// Caches in front of a MetadataStore: recently served manifests (by repository and digest) and
// the sorted tag names of recently listed repositories. A paginated tag listing is then a binary
// search and a slice instead of a query per page (~60 us each with 100 rows), and a hot manifest
// costs no query at all.
//
// Correctness: the caches follow every change made through this decorator's own transactions,
// applied once they commit. That is all there is when one process writes the database (the
// embedded store), so the decorator is used only then. Replicas sharing a database run without it:
// another replica's change would reach these caches only with its event, a moment after that
// replica acknowledged it, and read-your-writes across replicas (a tag pushed on A is served by
// B at once, a deleted manifest is gone everywhere at once) forbids that moment. Measured cost of
// going without, on PostgreSQL: docs/benchmarks.md.
import type { RegistryEvent } from '../events/events.js';
import type { UploadState } from '../storage/blob-store.js';
import type { BlobDeletion, CollectedBlob, DeletedManifest, ManifestRecord, MetadataStore, MetadataTx, PrincipalRecord, StoredContent, UploadRecord } from './metadata-store.js';

/**
 * Tag names kept in memory for listings, over all repositories: ~50 bytes each, so ~12 MiB at
 * most. With 50,000 a repository of 100,000 tags and one of 5,000, listed in turn, pushed each
 * other out, and every listing of the large one began by reading all its tags again.
 */
const MAX_CACHED_TAGS = 250_000;
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

type Change =
  | { kind: 'tag-set'; repository: string; tag: string }
  | { kind: 'tag-gone'; repository: string; tag: string }
  | { kind: 'manifest-gone'; repository: string; digest: string };

export class CachedMetadataStore implements MetadataStore {
  private readonly manifests = new ManifestCache(MAX_MANIFEST_BYTES);
  private readonly tagLists = new TagLists(MAX_CACHED_TAGS);

  /** `inner` must have no other writer (see above). */
  constructor(private readonly inner: MetadataStore) {}

  async transaction<T>(fn: (tx: MetadataTx) => Promise<T>): Promise<T> {
    const changes: Change[] = [];
    const result = await this.inner.transaction((tx) => fn(new ObservedTx(tx, changes)));
    for (const change of changes) this.applyChange(change);
    return result;
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const hit = this.manifests.get(repository, digest);
    if (hit) return hit;
    const record = await this.inner.getManifest(repository, digest);
    if (record) this.manifests.set(repository, record);
    return record;
  }

  async listTags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    let names = this.tagLists.get(repository);
    if (!names) {
      names = await this.inner.listTags(repository, undefined, Number.MAX_SAFE_INTEGER);
      this.tagLists.remember(repository, names);
    }
    const start = last === undefined ? 0 : firstAfter(names, last);
    return names.slice(start, start + limit);
  }

  private applyChange(change: Change): void {
    if (change.kind === 'manifest-gone') {
      this.manifests.delete(change.repository, change.digest);
      this.tagLists.forget(change.repository);
    } else if (change.kind === 'tag-set') this.tagLists.add(change.repository, change.tag);
    else this.tagLists.remove(change.repository, change.tag);
  }

  // Everything else goes to the store as is.
  repositoryExists(name: string) {
    return this.inner.repositoryExists(name);
  }
  repositoryBlobSize(repository: string, digest: string) {
    return this.inner.repositoryBlobSize(repository, digest);
  }
  blobDeletion(digest: string) {
    return this.inner.blobDeletion(digest);
  }
  repositoriesWithBlob(digest: string, limit: number) {
    return this.inner.repositoriesWithBlob(digest, limit);
  }
  blobSizes(repository: string, digests: string[]) {
    return this.inner.blobSizes(repository, digests);
  }
  manifestSizes(repository: string, digests: string[]) {
    return this.inner.manifestSizes(repository, digests);
  }
  resolveTag(repository: string, tag: string) {
    return this.inner.resolveTag(repository, tag);
  }
  listRepositories(last: string | undefined, limit: number) {
    return this.inner.listRepositories(last, limit);
  }
  listReferrers(repository: string, subject: string, artifactType?: string) {
    return this.inner.listReferrers(repository, subject, artifactType);
  }
  createUpload(record: Omit<UploadRecord, 'updatedAt' | 'durable'>) {
    return this.inner.createUpload(record);
  }
  getUpload(id: string) {
    return this.inner.getUpload(id);
  }
  uploadsIdleSince(time: number) {
    return this.inner.uploadsIdleSince(time);
  }
  projectQuota(project: string) {
    return this.inner.projectQuota(project);
  }
  unheldBytes(project: string, content: StoredContent) {
    return this.inner.unheldBytes(project, content);
  }
  usageProjects() {
    return this.inner.usageProjects();
  }
  principal(kind: PrincipalRecord['kind'], name: string) {
    return this.inner.principal(kind, name);
  }
  eventsAfter(after: number, limit: number) {
    return this.inner.eventsAfter(after, limit);
  }
  lastEventId() {
    return this.inner.lastEventId();
  }
  eventCursor(sink: string) {
    return this.inner.eventCursor(sink);
  }
  saveEventCursor(sink: string, lastId: number) {
    return this.inner.saveEventCursor(sink, lastId);
  }
  pruneEvents(before: number) {
    return this.inner.pruneEvents(before);
  }
  outsideTransactions<T>(fn: () => Promise<T>): Promise<T> {
    return this.inner.outsideTransactions(fn);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}

/** The transaction, with the changes that matter to the caches noted as they are made. */
class ObservedTx implements MetadataTx {
  constructor(
    private readonly tx: MetadataTx,
    private readonly changes: Change[],
  ) {}

  async putManifest(repository: string, manifest: ManifestRecord, references: string[], tag?: string): Promise<void> {
    await this.tx.putManifest(repository, manifest, references, tag);
    if (tag !== undefined) this.changes.push({ kind: 'tag-set', repository, tag });
  }
  async deleteManifest(repository: string, digest: string): Promise<DeletedManifest> {
    const result = await this.tx.deleteManifest(repository, digest);
    if (result.deleted) this.changes.push({ kind: 'manifest-gone', repository, digest });
    return result;
  }
  async deleteTag(repository: string, tag: string): Promise<string | undefined> {
    const digest = await this.tx.deleteTag(repository, tag);
    if (digest !== undefined) this.changes.push({ kind: 'tag-gone', repository, tag });
    return digest;
  }
  linkBlob(repository: string, digest: string, size: number) {
    return this.tx.linkBlob(repository, digest, size);
  }
  unlinkBlob(repository: string, digest: string) {
    return this.tx.unlinkBlob(repository, digest);
  }
  resolveTag(repository: string, tag: string) {
    return this.tx.resolveTag(repository, tag);
  }
  updateUpload(id: string, state: UploadState, expectedOffset: number) {
    return this.tx.updateUpload(id, state, expectedOffset);
  }
  deleteUpload(id: string) {
    return this.tx.deleteUpload(id);
  }
  appendEvents(events: RegistryEvent[]) {
    return this.tx.appendEvents(events);
  }
  projectQuota(project: string) {
    return this.tx.projectQuota(project);
  }
  unheldBytes(project: string, content: StoredContent) {
    return this.tx.unheldBytes(project, content);
  }
  setStorageLimit(project: string, limit: number) {
    return this.tx.setStorageLimit(project, limit);
  }
  recountProjectUsage(project: string) {
    return this.tx.recountProjectUsage(project);
  }
  // Garbage collection changes links and blobs, which are not cached; its manifest deletes go
  // through deleteManifest above.
  claimBlob(repository: string, digest: string, seen: BlobDeletion | undefined) {
    return this.tx.claimBlob(repository, digest, seen);
  }
  missingReferences(repository: string, blobs: readonly string[], manifests: readonly string[]) {
    return this.tx.missingReferences(repository, blobs, manifests);
  }
  manifestCollectable(repository: string, digest: string, before: number) {
    return this.tx.manifestCollectable(repository, digest, before);
  }
  unlinkUnreferenced(repository: string, digests: readonly string[], before: number) {
    return this.tx.unlinkUnreferenced(repository, digests, before);
  }
  markBlobs(digests: readonly string[], runId: number) {
    return this.tx.markBlobs(digests, runId);
  }
  markOrphans(blobs: readonly CollectedBlob[], runId: number) {
    return this.tx.markOrphans(blobs, runId);
  }
  startDeleting(digests: readonly string[], seq: number) {
    return this.tx.startDeleting(digests, seq);
  }
  finishDeleting(digests: readonly string[]) {
    return this.tx.finishDeleting(digests);
  }
  pruneDeletions(before: number) {
    return this.tx.pruneDeletions(before);
  }
}

/** Recently served manifests, LRU, bounded by total bytes. */
class ManifestCache {
  private readonly entries = new Map<string, ManifestRecord>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(repository: string, digest: string): ManifestRecord | undefined {
    const key = `${repository}@${digest}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Refresh its place in the LRU order.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(repository: string, record: ManifestRecord): void {
    if (record.size > this.maxBytes / 16) return;
    this.delete(repository, record.digest);
    this.entries.set(`${repository}@${record.digest}`, record);
    this.bytes += record.size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.size;
    }
  }

  delete(repository: string, digest: string): void {
    const key = `${repository}@${digest}`;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.size;
    }
  }
}

/** Sorted tag names per repository, bounded by the total count; the oldest lists go first. */
class TagLists {
  private readonly lists = new Map<string, string[]>();
  private size = 0;

  constructor(private readonly maxNames: number) {}

  get(repository: string): string[] | undefined {
    return this.lists.get(repository);
  }

  remember(repository: string, names: string[]): void {
    this.forget(repository);
    this.lists.set(repository, names);
    this.size += names.length;
    this.trim(repository);
  }

  add(repository: string, tag: string): void {
    const list = this.lists.get(repository);
    if (!list) return;
    const at = firstAfter(list, tag);
    if (list[at - 1] === tag) return;
    list.splice(at, 0, tag);
    this.size++;
    this.trim(repository);
  }

  remove(repository: string, tag: string): void {
    const list = this.lists.get(repository);
    if (!list) return;
    const at = firstAfter(list, tag) - 1;
    if (list[at] !== tag) return;
    list.splice(at, 1);
    this.size--;
  }

  forget(repository: string): void {
    const list = this.lists.get(repository);
    if (!list) return;
    this.lists.delete(repository);
    this.size -= list.length;
  }

  /** Never drops the list just used. */
  private trim(keep: string): void {
    for (const repository of this.lists.keys()) {
      if (this.size <= this.maxNames) break;
      if (repository !== keep) this.forget(repository);
    }
  }
}

/** Index of the first name after `last` in a sorted list. Tags are ASCII (the spec's grammar),
 *  so JavaScript's string order is the databases' byte order. */
function firstAfter(names: readonly string[], last: string): number {
  let start = 0;
  let end = names.length;
  while (start < end) {
    const mid = (start + end) >>> 1;
    if (names[mid]! <= last) start = mid + 1;
    else end = mid;
  }
  return start;
}
