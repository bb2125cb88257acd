// The contract every blob storage driver fulfils (filesystem now, S3 later).
// Blobs are content-addressed and immutable; uploads are append-only files that become
// visible as a blob only through commitUpload, after the digest has been verified.
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/names.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
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

/** Plain, JSON-serialisable state of an upload in progress (see the BlobStore contract). */
export interface UploadState {
  id: string;
  offset: number;
  driver?: Record<string, unknown>;
}

export interface BlobStore {
  /** Size of a committed blob, or undefined. Cheap: one stat, no reads. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /** A stream of the blob's bytes (or of one range). Throws BlobNotFoundError. */
  open(digest: Digest, range?: ByteRange): Promise<Readable>;
  /**
   * Optional capability of stores on a local filesystem: positional reads of a blob into reused
   * buffers, so the HTTP layer can send it without stream allocations. Throws BlobNotFoundError.
   */
  openReader?(digest: Digest): Promise<BlobReader>;
  /** Removes a committed blob. Idempotent. */
  delete(digest: Digest): Promise<void>;

  /** Creates an empty upload. The id must be unique (a UUID). */
  createUpload(id: string): Promise<void>;
  /** Bytes received so far, or undefined when the upload does not exist. */
  uploadSize(id: string): Promise<number | undefined>;
  /**
   * Appends a stream at `offset`, which must equal the current size (else UploadOffsetError).
   * Calls for one upload are serialized. On a truncated stream the bytes that arrived are kept,
   * so the client can ask for the offset and resume. Returns the new size.
   */
  appendUpload(id: string, offset: number, body: Readable, maxBytes?: number): Promise<number>;
  /**
   * Verifies that the upload's content hashes to `expected`, makes it durable (fsync) and
   * atomically moves it into place. Throws DigestMismatchError (the upload is then kept, so the
   * client may retry) or UploadNotFoundError.
   */
  commitUpload(id: string, expected: Digest): Promise<BlobInfo>;
  /** Deletes an upload's data. Safe to call twice. */
  cancelUpload(id: string): Promise<void>;
  /** Every upload on disk with its last modification time (for purging abandoned ones). */
  listUploads(): Promise<Array<{ id: string; modified: Date }>>;
}

export class BlobNotFoundError extends Error {
  readonly code = 'BLOB_UNKNOWN';
  constructor(readonly digest: string) {
    super(`blob ${digest} not found`);
  }
}

export class UploadNotFoundError extends Error {
  readonly code = 'BLOB_UPLOAD_UNKNOWN';
  constructor(readonly id: string) {
    super(`upload ${id} not found`);
  }
}

export class UploadOffsetError extends Error {
  readonly code = 'RANGE_INVALID';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`chunk starts at byte ${actual} but the upload has ${expected} bytes`);
  }
}

export class DigestMismatchError extends Error {
  readonly code = 'DIGEST_INVALID';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content hashes to ${actual}, not the claimed ${expected}`);
  }
}

export class BodyTooLargeError extends Error {
  readonly code = 'SIZE_INVALID';
  constructor(readonly limit: number) {
    super(`body exceeds the limit of ${limit} bytes`);
  }
}

/** The filesystem (or the database) holding the data directory is full. */
export class StorageFullError extends Error {
  readonly code = 'STORAGE_FULL';
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
