// The blob storage contract (below: BlobStore) and the errors its drivers throw. Storage knows
// no HTTP: its errors carry no OCI codes; the core maps them.
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/names.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** A committed blob as `list` reports it. */
export interface ListedBlob extends BlobInfo {
  /**
   * When the bytes were last written or committed (filesystem: the file's mtime, which a commit
   * sets, also when it finds the bytes already there; S3: LastModified). Absent when the driver
   * cannot tell. A scrub deletes bytes no metadata knows only once they are older than its grace
   * window: younger ones may belong to a commit whose metadata is not written yet.
   */
  modified?: Date;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Reads of one blob into two buffers the reader owns and alternates between. */
export interface BlobReader {
  /**
   * Up to `length` bytes at `position` (fewer at the end of the blob, none past it). The bytes
   * stay valid for the next `depth - 1` calls, so that many chunks can be on their way to the
   * client while the next is read.
   */
  read(position: number, length: number): Promise<Buffer>;
  readonly depth: number;
  /** Closes the file; call once no returned chunk is in use any more. */
  close(): Promise<void>;
}

/**
 * An upload in progress as plain, JSON-serialisable data. The core keeps it in the metadata store
 * between requests, so any replica can continue an upload another one started: nothing about an
 * upload lives only in one process (a driver may keep a cache, e.g. a running hash, keyed by id
 * and offset, and must rebuild it from the state when it is missing).
 */
export interface UploadState {
  /** Unique (a UUID), chosen by the caller. */
  id: string;
  /** Bytes received and stored so far: where the next append starts. */
  offset: number;
  /** The driver's own data (S3: multipart upload id, parts, buffered tail, sha256 state). JSON only. */
  driver?: Record<string, unknown>;
}

/**
 * The contract every blob storage driver fulfils: filesystem (storage/filesystem) and S3
 * (storage/s3). Blobs are content-addressed and immutable; an upload becomes visible as a blob
 * only through `commit`, after its digest has been verified and its bytes made durable.
 *
 * Concurrency: reads and deletes of blobs may run concurrently with anything. Calls that take an
 * UploadState must not overlap for one upload: the core serialises them (a lock per upload id
 * across the fleet). Calls for different uploads run concurrently.
 *
 * Conformance: test/conformance/blob-store.ts, run against every implementation.
 */
export interface BlobStore {
  /** What the driver is, for logs and health ("filesystem", "s3"). */
  readonly kind: string;

  /** Size of a committed blob, or undefined. Cheap: one stat or HEAD, no data read. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /** A stream of the blob's bytes (or of one inclusive range). Throws BlobNotFoundError. */
  open(digest: Digest, range?: ByteRange): Promise<Readable>;
  /**
   * Optional (local filesystems): positional reads of a blob into reused buffers, so the HTTP
   * layer can send it without stream allocations. Throws BlobNotFoundError.
   */
  openReader?(digest: Digest): Promise<BlobReader>;
  /**
   * Optional (object stores): a URL a client can fetch the blob from directly for `ttlSeconds`
   * (a presigned GET), or undefined to serve the bytes here. No I/O beyond signing.
   */
  redirectUrl?(digest: Digest, ttlSeconds: number): Promise<string | undefined>;
  /** Removes a committed blob. Idempotent. */
  delete(digest: Digest): Promise<void>;
  /**
   * Removes these committed blobs (garbage collection's sweep). Idempotent; on a failure some may
   * be gone and the rest not. Cost: filesystem, an unlink each, on threads of their own (half as
   * many as cores; not libuv's pool, which requests need); S3, one DeleteObjects request per 1,000 keys.
   */
  deleteMany(digests: readonly Digest[]): Promise<void>;
  /** Committed blobs in digest order after `after`, at most `limit` (for garbage collection and scrub). */
  list(after: Digest | undefined, limit: number): Promise<ListedBlob[]>;

  /**
   * Optional (object stores): stores a small blob that arrived whole in one request, as one
   * write straight to its digest's place (S3: one PutObject instead of a tail object, a copy and
   * a delete). The bytes are hashed first; DigestMismatchError stores nothing. Only for bodies of
   * at most `wholeLimit` bytes, which the caller has read into memory.
   */
  putWhole?(expected: Digest, bytes: Buffer): Promise<BlobInfo>;
  /** The largest body putWhole takes. */
  readonly wholeLimit?: number;

  /** Starts an empty upload. May defer all I/O to the first append. */
  begin(id: string): Promise<UploadState>;
  /**
   * Appends a request body at `state.offset` and returns the new state (offset moved by the bytes
   * stored). Bytes past `state.offset` left by an append whose state was never saved (a crash)
   * are discarded first. On a truncated body the bytes that arrived are kept when the driver can
   * (the returned state is then attached to the error as `state`, see AppendInterruptedError), so
   * the client can ask for the offset and resume. Over `maxBytes`: BodyTooLargeError.
   * Out of space: StorageFullError with the upload back at `state.offset`. Unknown upload:
   * UploadNotFoundError.
   */
  append(state: UploadState, body: Readable, options?: { maxBytes?: number }): Promise<UploadState>;
  /**
   * Verifies that the upload hashes to `expected`, makes it durable and visible under its digest,
   * and removes the upload. DigestMismatchError keeps the upload (the client may retry).
   * Idempotent for content: committing bytes already stored as that digest just drops the upload.
   */
  commit(state: UploadState, expected: Digest): Promise<BlobInfo>;
  /** Discards an upload's data. Idempotent. */
  cancel(state: UploadState): Promise<void>;
  /**
   * Whether the data a state counts is still there to continue or commit (a status request asks
   * before it reports the offset). False for a filesystem upload whose file went, e.g. renamed
   * into place by a commit whose metadata a crash never wrote: the client then starts again
   * instead of committing a blob nothing can verify any more. Cheap: one stat, or none.
   */
  uploadExists(state: UploadState): Promise<boolean>;
  /** Upload data the driver holds with its last activity, for purging what metadata no longer knows. */
  listUploads(): Promise<Array<{ id: string; modified: Date }>>;
  /** Discards upload data by id alone (purge of leftovers). Idempotent. */
  discardUpload(id: string): Promise<void>;

  /** Throws when the storage cannot serve (readiness): a missing directory, an unreachable endpoint. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly digest: string) {
    super(`blob ${digest} not found`);
  }
}

export class UploadNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`upload ${id} not found`);
  }
}

export class UploadOffsetError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`chunk starts at byte ${actual} but the upload has ${expected} bytes`);
  }
}

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content hashes to ${actual}, not the claimed ${expected}`);
  }
}

/** A body ended early (the client hung up); `state` is where the upload stands now. */
export class AppendInterruptedError extends Error {
  constructor(
    readonly state: UploadState,
    cause: unknown,
  ) {
    super(`the body ended after ${state.offset} bytes of the upload`, { cause });
  }
}

/** The storage service cannot be reached or refused the request for a reason that may pass. */
export class StorageUnavailableError extends Error {
  constructor(
    readonly driver: string,
    cause: unknown,
  ) {
    super(`${driver} storage is unavailable (${(cause as Error)?.message ?? String(cause)})`, { cause });
  }
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds the limit of ${limit} bytes`);
  }
}

/** The filesystem (or the database) holding the data directory is full. */
export class StorageFullError extends Error {
  constructor(cause: unknown) {
    super(`out of storage space (${(cause as { code?: string }).code ?? 'full'})`, { cause });
  }
}

/** Whether an error means "no space left": the disk, a quota, or SQLite's database file. */
export function isStorageFull(err: unknown): boolean {
  if (err instanceof StorageFullError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}
