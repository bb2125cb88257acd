// The contract every metadata store fulfils: SQLite (embedded, sqlite/) and PostgreSQL (fleets,
// postgres/). It holds what the registry knows about repositories, blobs, manifests, tags,
// uploads in progress, principals and the event outbox; blob bytes live in the BlobStore.
//
// Reads run outside transactions and see committed state. Every change runs inside
// `transaction`, which is where policy checks that need data and the events describing the
// change join it: the change and its events commit together or not at all.
//
// Project usage (storage quotas; docs/operations.md, "Quotas"). A project is the first path
// component of a repository name (oci/names.ts projectOf). What a project uses is the sum of
//  - the size of every distinct blob one of its repositories holds (linked by a push or a mount,
//    and not released), counted once however many of its repositories hold it, and
//  - the size of every distinct manifest its repositories store, counted once likewise.
// A manifest delete releases, in its repository, the blobs no other manifest there references:
// they are then neither served nor counted (a manifest referencing one again holds it again, and
// is charged for it; a blob DELETE removes the link). Uploads in progress, failed, cancelled or
// refused ones count nothing. Every change of links and manifests keeps the project's counted sets
// and total in its own transaction, so the usage equals a recount from the references at every
// moment (`recountProjectUsage` checks and repairs that).
//
// Conformance: test/conformance/metadata-store.ts, run against every implementation.
import type { RegistryEvent, StoredEvent } from '../events/events.js';
import type { UploadState } from '../storage/blob-store.js';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  size: number;
  content: Buffer;
}

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface UploadRecord {
  id: string;
  repository: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Last time bytes were appended (or created), for purging abandoned uploads. */
  updatedAt: number;
  /** The storage driver's resumable state (plain data). */
  state: UploadState;
  /** False while the record is only in this process's memory (see createUpload): it would not survive a restart. */
  durable: boolean;
}

/** Who: a stable id that never changes when a name does (memberships and audit rows keep it). */
export interface PrincipalRecord {
  /** An integer, as Harbor's API gives user and robot ids. */
  id: number;
  kind: 'user' | 'robot';
  name: string;
  createdAt: number;
}

/** A project's storage quota and what it uses now. */
export interface ProjectQuota {
  project: string;
  /** The project's id; undefined when there is no such project (its repositories then have no quota). */
  projectId: number | undefined;
  /** Bytes; -1: unlimited. */
  limit: number;
  /** Bytes the project holds (see "Project usage" above). */
  used: number;
}

/** What a change would store in a project: blobs with their sizes, and a manifest. */
export interface StoredContent {
  blobs: ReadonlyArray<{ digest: string; size: number }>;
  manifest?: { digest: string; size: number };
}

/** A recount of a project's usage from its links and manifests. */
export interface UsageRecount {
  project: string;
  /** Bytes the kept usage said. */
  before: number;
  /** Bytes the references give, kept from now on; `after - before` is the drift. */
  after: number;
  /** Entries of the counted sets that were missing, extra, or had a wrong link count or size. */
  blobsFixed: number;
  manifestsFixed: number;
  /** Released blob links that a manifest of their repository still references: held again. */
  linksFixed: number;
}

/**
 * A blob's row in garbage collection's journal of deletions (migration 0007, gc/): `marked` (its
 * metadata is gone, its bytes are to be deleted), `deleting` (being deleted), `deleted`. `seq`
 * names one deletion.
 */
export interface BlobDeletion {
  state: 'marked' | 'deleting' | 'deleted';
  seq: number | null;
}

/** A blob garbage collection marked or is deleting, with its size (for what a run reclaimed). */
export interface CollectedBlob {
  digest: string;
  size: number;
}

/** What deleting a manifest removed. */
export interface DeletedManifest {
  deleted: boolean;
  /** Tags that pointed at it (and are gone with it), for the events. */
  tags: string[];
}

/**
 * The changes, inside one transaction. Every method may throw; the transaction is then rolled
 * back and nothing of it is visible. Reads inside a transaction see its own writes.
 */
export interface MetadataTx {
  /** Records a committed blob (idempotent) and makes the repository hold it (created if new; a released link is held again). */
  linkBlob(repository: string, digest: string, size: number): Promise<void>;
  /** Removes a blob from a repository, held or released (the bytes stay until garbage collection). False when it was not linked. */
  unlinkBlob(repository: string, digest: string): Promise<boolean>;
  /**
   * Stores a manifest (idempotent) with its references, and points `tag` at it when given. Blobs
   * of the repository it references that were released are held again.
   */
  putManifest(repository: string, manifest: ManifestRecord, references: string[], tag?: string): Promise<void>;
  /** The digest a tag points at now (inside the transaction: what a tag move replaces). */
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /** Deletes a manifest and every tag pointing at it, and releases the repository's blobs that only it referenced. */
  deleteManifest(repository: string, digest: string): Promise<DeletedManifest>;
  /** Deletes one tag; returns the digest it pointed at, or undefined when there was no such tag. */
  deleteTag(repository: string, tag: string): Promise<string | undefined>;

  /**
   * Replaces an upload's state if its offset is still `expectedOffset` (compare-and-set: two
   * appends that raced lose cleanly). False when the upload is gone or has moved on.
   */
  updateUpload(id: string, state: UploadState, expectedOffset: number): Promise<boolean>;
  /** Idempotent. */
  deleteUpload(id: string): Promise<void>;

  /** Appends events to the outbox; they become visible to readers when the transaction commits. */
  appendEvents(events: RegistryEvent[]): Promise<void>;

  /**
   * The project's quota and usage, for a quota decision in this transaction. When the project has
   * a limit, locks its usage until commit (PostgreSQL: its row, which every change of the
   * project's usage locks first), so that concurrent pushes into one project decide one after the
   * other and never both fit into the last free bytes. Reflects this transaction's own changes.
   */
  projectQuota(project: string): Promise<ProjectQuota>;
  /** Bytes of `content` the project does not hold yet: what storing it there would add to its usage. */
  unheldBytes(project: string, content: StoredContent): Promise<number>;
  /** Sets a project's storage limit (bytes, -1 unlimited). False when there is no such project. */
  setStorageLimit(project: string, limit: number): Promise<boolean>;
  /** Recounts the project's usage from its links and manifests, keeps the recount, and says what differed. */
  recountProjectUsage(project: string): Promise<UsageRecount>;

  // Garbage collection (gc/garbage-collector.ts; docs/operations.md, "Garbage collection"). Every
  // path that links a blob claims it first, and a manifest put checks afterwards that its blobs are
  // still held, so that a blob a push is about to reference is never deleted under it. On
  // PostgreSQL these take a transaction-level lock per digest (after the project's usage lock,
  // always in that order) that markBlobs takes too: a mark and a commit of one blob take turns,
  // and each sees what the other committed.

  /**
   * Takes a blob back from garbage collection before this transaction links it (push, mount,
   * copy). `seen` is what MetadataStore.blobDeletion said before the bytes were committed to
   * storage. A `marked` blob is rescued (its journal row goes; linkBlob makes its blobs row
   * again). False when the bytes may have been deleted after the commit stored them: the row is
   * `deleting`, or `deleted` by another deletion than the one `seen` (or `seen` was `deleting`);
   * the caller must then refuse the commit and roll back. Call before linkBlob.
   */
  claimBlob(repository: string, digest: string, seen: BlobDeletion | undefined): Promise<boolean>;
  /**
   * Those of these blobs the repository does not hold (linked, not released) and of these child
   * manifests it does not store, in this transaction: after putManifest, what garbage collection
   * took since the manifest's references were checked (putManifest takes the blobs' GC locks on
   * PostgreSQL; a manifest's collection waits for the usage lock). One statement.
   */
  missingReferences(repository: string, blobs: readonly string[], manifests: readonly string[]): Promise<string[]>;
  /**
   * Whether a manifest is garbage now: stored before `before` (ms), no tag points at it, no
   * manifest of the repository references it (an index's child) and, if it is a referrer, its
   * subject is not in the repository. Locks the project's usage first (PostgreSQL), so a tag push
   * racing the collection of its manifest waits and then wins, or sees it gone.
   */
  manifestCollectable(repository: string, digest: string, before: number): Promise<boolean>;
  /**
   * Removes those of these links of the repository that are held, were made (or held again)
   * before `before` and that no manifest of the repository references, counted as unlinkBlob
   * does. Returns the digests removed.
   */
  unlinkUnreferenced(repository: string, digests: readonly string[], before: number): Promise<string[]>;
  /**
   * Marks those of these blobs that no repository holds and no manifest references: their released
   * links and blobs rows go, and a `marked` journal row (run `runId`) keeps their size. Returns
   * what was marked. A few statements, whatever the count.
   */
  markBlobs(digests: readonly string[], runId: number): Promise<CollectedBlob[]>;
  /**
   * Marks stored bytes that no metadata knows (scrub's orphans: no blobs row) with a `marked`
   * journal row of their size, so that their deletion follows the journal as GC's does and a
   * commit reusing the bytes meanwhile rescues them (claimBlob). Skips digests with a blobs row or
   * a journal row in progress. Returns what was marked. One statement.
   */
  markOrphans(blobs: readonly CollectedBlob[], runId: number): Promise<CollectedBlob[]>;
  /** `marked` -> `deleting` with `seq` (compare-and-set: a rescued blob is skipped); returns those that moved. */
  startDeleting(digests: readonly string[], seq: number): Promise<CollectedBlob[]>;
  /** `deleting` -> `deleted`, once their bytes are gone. */
  finishDeleting(digests: readonly string[]): Promise<void>;
  /** Removes `deleted` rows last changed before `before` (ms); returns how many. */
  pruneDeletions(before: number): Promise<number>;
}

export interface MetadataStore {
  /**
   * Runs `fn` in one write transaction and commits when it resolves (rolls back when it throws).
   * Concurrency: writers are serialised (SQLite: one writer behind an async mutex; PostgreSQL: a
   * pooled connection per transaction, row locks). Keep `fn` short: load what a policy needs
   * before, never await network I/O inside. Not reentrant: never call `transaction` inside `fn`.
   * Errors: a unavailable database throws MetadataUnavailableError (a client sees 503).
   */
  transaction<T>(fn: (tx: MetadataTx) => Promise<T>): Promise<T>;

  /** Whether the repository exists (has ever held a blob or manifest). */
  repositoryExists(name: string): Promise<boolean>;
  /** Size of a blob the repository holds (linked, not released), or undefined. */
  repositoryBlobSize(repository: string, digest: string): Promise<number | undefined>;
  /**
   * The blob's row in garbage collection's journal, if any: read before a blob's bytes are
   * committed (see MetadataTx.claimBlob). One primary-key lookup, never cached.
   */
  blobDeletion(digest: string): Promise<BlobDeletion | undefined>;
  /** Names of repositories that hold a blob (not released), at most `limit`, oldest link first. */
  repositoriesWithBlob(digest: string, limit: number): Promise<string[]>;
  /**
   * Sizes of those of these digests that the repository links, released ones too (a manifest may
   * reference them again, which holds them again). One round trip whatever the count.
   */
  blobSizes(repository: string, digests: string[]): Promise<Map<string, number>>;
  /** Sizes of those of these digests that are manifests of the repository. One round trip whatever the count. */
  manifestSizes(repository: string, digests: string[]): Promise<Map<string, number>>;
  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /** Tags in byte order after `last`, at most `limit`. An index range scan. */
  listTags(repository: string, last: string | undefined, limit: number): Promise<string[]>;
  /** Repository names in byte order after `last`, at most `limit`. An index range scan. */
  listRepositories(last: string | undefined, limit: number): Promise<string[]>;
  /** Manifests whose subject is `subject`, oldest first; only those of `artifactType` when given. */
  listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerDescriptor[]>;

  /**
   * Records an upload (at POST), outside any transaction: it changes nothing else and has no
   * event. A single-process store may keep uploads that have no bytes yet in memory only (until
   * then there is nothing to resume after a restart); a store shared by replicas must write it.
   */
  createUpload(record: Omit<UploadRecord, 'updatedAt' | 'durable'>): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  /** Uploads with no activity since `time` (ms since the epoch), for the purge. */
  uploadsIdleSince(time: number): Promise<UploadRecord[]>;

  /** As MetadataTx.projectQuota, from committed state and without a lock (reading, and checks before a transaction). */
  projectQuota(project: string): Promise<ProjectQuota>;
  /** As MetadataTx.unheldBytes, from committed state. */
  unheldBytes(project: string, content: StoredContent): Promise<number>;
  /** Every project that has a row, a kept usage or a repository: what a recount of the whole registry visits. */
  usageProjects(): Promise<string[]>;

  /** Principals: the stable id of a name, made on first sight. */
  principal(kind: PrincipalRecord['kind'], name: string): Promise<PrincipalRecord>;

  /** Outbox events with an id greater than `after`, in id order, at most `limit`. */
  eventsAfter(after: number, limit: number): Promise<StoredEvent[]>;
  /** The highest event id so far (0 when none): where a new reader that wants only new events starts. */
  lastEventId(): Promise<number>;
  /** How far a fleet-wide sink has delivered (undefined: never ran). */
  eventCursor(sink: string): Promise<number | undefined>;
  saveEventCursor(sink: string, lastId: number): Promise<void>;
  /** Removes delivered events older than `before` (ms since the epoch). Returns how many. */
  pruneEvents(before: number): Promise<number>;

  /**
   * Runs `fn` while this process holds no write transaction of the store's, for modules that
   * write with Kysely on the database (the audit log). SQLite: such a write goes through another
   * connection, and better-sqlite3 waits for a lock synchronously, so one made while a write
   * transaction awaits I/O blocks the event loop, and with it that transaction, until
   * busy_timeout (5 s) and then fails ("database is locked"); inside `fn` it takes its turn among
   * the transactions instead (so `fn` must not start one itself). PostgreSQL: runs `fn` at once
   * (its clients wait without blocking).
   */
  outsideTransactions<T>(fn: () => Promise<T>): Promise<T>;

  /** Throws when the database cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a module that writes with Kysely runs its writes: through `outsideTransactions` of the store
 * (see there: on SQLite a Kysely write must not run while a metadata write transaction is open),
 * or directly where no metadata store shares the database (the CLI, tests).
 */
export type WriteGate = <T>(fn: () => Promise<T>) => Promise<T>;

export const directWrites: WriteGate = (fn) => fn();

/** The database cannot be reached or refused the work for a reason that may pass (restart, failover). */
export class MetadataUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the metadata database is unavailable (${(cause as Error)?.message ?? String(cause)})`, { cause });
  }
}
