// Blob uploads as use cases: start, append, status, finish (commit), cancel, mount, and the
// monolithic push. Every front end calls these; the OCI handlers only parse and respond.
//
// An upload's state (UploadState: offset and the driver's own data) lives in the metadata store
// between requests, so any replica can continue an upload another one started. Calls for one
// upload are serialised (`serial`: in-process for the embedded store, a fleet-wide lock for
// several replicas), because an append reads the state, writes bytes and saves the new state.
//
// Durable before visible: the blob store verifies and commits the bytes; then one metadata
// transaction links the blob to the repository, removes the upload and records the event. The
// blobCommit point is asked twice: before the bytes are committed (on committed state, so that a
// blob the policies refuse, over a quota say, is never stored) and in the linking transaction
// (the binding decision, which a quota takes under the project's usage lock). A refused upload is
// discarded: the client starts again once the refusal is resolved.
//
// Online garbage collection (gc/): the blob's journal row is read before its bytes are committed
// and claimed in the linking transaction (MetadataTx.claimBlob): a blob GC marked is taken back; one
// GC may have deleted after the bytes were stored is refused with a retryable error, and the upload
// is dropped, so an acknowledged push never links bytes that are gone.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobDeletion, MetadataStore, UploadRecord } from '../metadata/metadata-store.js';
import type { Digest } from '../oci/names.js';
import { OciError } from '../oci/errors.js';
import { PolicyRefusal, type Caller, type Policies } from '../policy/policy.js';
import {
  AppendInterruptedError,
  BlobNotFoundError,
  BodyTooLargeError,
  DigestMismatchError,
  UploadNotFoundError,
  type BlobInfo,
  type BlobStore,
  type UploadState,
} from '../storage/blob-store.js';
import { eventActor } from './event-actor.js';
import { eventTime } from '../events/events.js';

/** Runs calls for one key one at a time (KeyedQueue in one process, a lock across a fleet). */
export interface Serializer {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** A chunk that does not start where the upload ends; `offset` is where it must start. */
export class UploadOutOfOrderError extends OciError {
  constructor(
    readonly id: string,
    readonly offset: number,
  ) {
    super('BLOB_UPLOAD_INVALID', `chunk is out of order: the upload has ${offset} bytes, so the next chunk must start at byte ${offset}`, { offset });
  }
}

/** A commit that raced garbage collection's deletion of the same blob: the client pushes it again. */
export class BlobCollectedError extends OciError {
  constructor(readonly digest: string) {
    super('BLOB_UPLOAD_INVALID', `garbage collection removed blob ${digest} while it was being committed; push it again`, { digest });
  }
}

/** How many repositories holding a blob a mount without `from` looks at. */
const MOUNT_CANDIDATES = 100;

export interface UploadSessionsDeps {
  blobs: BlobStore;
  meta: MetadataStore;
  policies: Policies;
  serial: Serializer;
  /** Counts request body bytes stored and uploads in progress (metrics). */
  observe?: { started(): void; finished(bytes: number): void };
}

/** A request body to store, and where the client says it starts (Content-Range), if it says. */
export interface Chunk {
  body: Readable;
  start?: number;
  /** The body's declared length (Content-Length), when the client gave one. */
  length?: number;
  /** Whether the client hung up (tells a cut-off body from a storage failure). */
  aborted(): boolean;
}

export class UploadSessions {
  /** Work in progress, so a shutdown can let it save the state of cut-off uploads. */
  private readonly active = new Set<Promise<unknown>>();

  constructor(private readonly deps: UploadSessionsDeps) {}

  /** Resolves once every call in progress has settled (connections are closed by then). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.active.add(work);
    const done = () => this.active.delete(work);
    work.then(done, done);
    return work;
  }

  /** A new, empty upload in `repository`. */
  async start(caller: Caller, repository: string): Promise<UploadState> {
    const state = await this.deps.blobs.begin(randomUUID());
    await this.deps.meta.createUpload({ id: state.id, repository, createdAt: Date.now(), state });
    return state;
  }

  /** Bytes received so far; BLOB_UPLOAD_UNKNOWN (and the record goes) when the data is gone. */
  async status(repository: string, id: string): Promise<number> {
    const record = await this.session(repository, id);
    if (!(await this.deps.blobs.uploadExists(record.state))) {
      await this.deps.meta.transaction((tx) => tx.deleteUpload(id));
      throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown in repository ${repository}: its data is gone; start a new upload`);
    }
    return record.state.offset;
  }

  /** Stores a chunk and returns the new offset. */
  append(caller: Caller, repository: string, id: string, chunk: Chunk): Promise<number> {
    return this.serially(id, async () => {
      const record = await this.session(repository, id);
      // A chunked upload can be resumed after a restart once it has bytes: record it first.
      if (!record.durable) await this.save(record, record.state);
      const next = await this.write(record, chunk);
      await this.save(record, next);
      return next.offset;
    });
  }

  /** Stores the last chunk (if any), verifies the digest, and makes the blob part of the repository. */
  finish(caller: Caller, repository: string, id: string, digest: Digest, chunk?: Chunk): Promise<BlobInfo> {
    return this.serially(id, async () => {
      const record = await this.session(repository, id);
      const whole = chunk && (await this.readWhole(record, chunk));
      if (whole) return this.commitWhole(caller, repository, record, whole, digest);
      const state = chunk ? await this.write(record, chunk) : record.state;
      return this.commit(caller, repository, record, state, digest);
    });
  }

  /** A whole blob in one request (POST ?digest=). If anything fails, nothing of it is kept. */
  push(caller: Caller, repository: string, digest: Digest, body: Chunk): Promise<BlobInfo> {
    return this.track(this.pushWhole(caller, repository, digest, body));
  }

  private async pushWhole(caller: Caller, repository: string, digest: Digest, body: Chunk): Promise<BlobInfo> {
    const state = await this.start(caller, repository);
    const record: UploadRecord = { id: state.id, repository, createdAt: Date.now(), updatedAt: Date.now(), state, durable: false };
    try {
      const whole = await this.readWhole(record, body);
      if (whole) return await this.commitWhole(caller, repository, record, whole, digest);
      return await this.commit(caller, repository, record, await this.write(record, body), digest);
    } catch (err) {
      await Promise.allSettled([this.deps.blobs.cancel(state), this.deps.meta.transaction((tx) => tx.deleteUpload(state.id))]);
      throw err;
    }
  }

  cancel(caller: Caller, repository: string, id: string): Promise<void> {
    return this.serially(id, async () => {
      const record = await this.session(repository, id);
      await this.deps.blobs.cancel(record.state);
      await this.deps.meta.transaction((tx) => tx.deleteUpload(id));
    });
  }

  /**
   * Cross-repository mount: links a blob the caller may pull from another repository. With `from`
   * the source is that repository; without, the first repository holding the blob that the
   * caller may pull. Undefined when there is no such source: the client then uploads instead.
   */
  async mount(caller: Caller, repository: string, digest: Digest, from: string | undefined): Promise<BlobInfo | undefined> {
    const { meta, policies } = this.deps;
    const candidates = from !== undefined ? [from] : await meta.repositoriesWithBlob(digest, MOUNT_CANDIDATES);
    for (const source of candidates) {
      try {
        await policies.check('mount', caller, { repository, digest, from: source });
      } catch {
        continue;
      }
      const size = await meta.repositoryBlobSize(source, digest);
      const seen = await meta.blobDeletion(digest);
      if (size === undefined || !(await this.deps.blobs.stat(digest))) return undefined;
      const actor = await eventActor(meta, caller);
      const mounted = await meta.transaction(async (tx) => {
        await policies.check('blobCommit', { ...caller, actor }, { repository, digest, size }, tx);
        // Garbage collection took it meanwhile: no mount, the client uploads the blob instead.
        if (!(await tx.claimBlob(repository, digest, seen))) return false;
        await tx.linkBlob(repository, digest, size);
        await tx.appendEvents([{ type: 'blob.mounted', at: eventTime(), actor, repository, digest, size, from: source }]);
        return true;
      });
      return mounted ? { digest, size } : undefined;
    }
    return undefined;
  }

  private serially<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.track(this.deps.serial.run(id, fn));
  }

  /** The upload, if it belongs to `repository`; BLOB_UPLOAD_UNKNOWN otherwise. */
  private async session(repository: string, id: string): Promise<UploadRecord> {
    const record = await this.deps.meta.getUpload(id);
    if (record?.repository !== repository) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown in repository ${repository}`);
    return record;
  }

  /** Streams a chunk into the upload; maps storage failures to the errors a client can act on. */
  private async write(record: UploadRecord, chunk: Chunk): Promise<UploadState> {
    const { state } = record;
    if (chunk.start !== undefined && chunk.start !== state.offset) throw new UploadOutOfOrderError(state.id, state.offset);
    this.deps.observe?.started();
    let stored = 0;
    try {
      const next = await this.deps.blobs.append(state, chunk.body);
      stored = next.offset - state.offset;
      return next;
    } catch (err) {
      if (err instanceof AppendInterruptedError) {
        stored = err.state.offset - state.offset;
        // What arrived is kept: save it, so the client can ask for the offset and resume.
        await this.save(record, err.state).catch(() => undefined);
        if (chunk.aborted()) throw new OciError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete; ask for the upload status and resume');
        throw err.cause;
      }
      if (err instanceof UploadNotFoundError) throw new OciError('BLOB_UPLOAD_UNKNOWN', err.message);
      if (err instanceof BodyTooLargeError) throw new OciError('SIZE_INVALID', err.message);
      throw err;
    } finally {
      this.deps.observe?.finished(Math.max(0, stored));
    }
  }

  private async save(record: UploadRecord, state: UploadState): Promise<void> {
    const saved = await this.deps.meta.transaction((tx) => tx.updateUpload(record.id, state, record.state.offset));
    if (!saved) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${record.id} was cancelled or changed by another request`);
    record.state = state;
    record.durable = true;
  }

  /** The blobCommit point before the bytes are committed; a refused upload is discarded. */
  private async admit(caller: Caller, repository: string, record: UploadRecord, state: UploadState, digest: Digest, size: number): Promise<void> {
    try {
      await this.deps.policies.check('blobCommit', caller, { repository, digest, size });
    } catch (err) {
      if (err instanceof PolicyRefusal) await Promise.allSettled([this.deps.blobs.cancel(state), this.deps.meta.transaction((tx) => tx.deleteUpload(record.id))]);
      throw err;
    }
  }

  private async commit(caller: Caller, repository: string, record: UploadRecord, state: UploadState, digest: Digest): Promise<BlobInfo> {
    const { blobs } = this.deps;
    await this.admit(caller, repository, record, state, digest, state.offset);
    const seen = await this.deps.meta.blobDeletion(digest);
    let info: BlobInfo;
    try {
      info = await blobs.commit(state, digest);
    } catch (err) {
      if (err instanceof DigestMismatchError) {
        // The upload stays, with what it received, for another try.
        if (state !== record.state) await this.save(record, state).catch(() => undefined);
        throw new OciError('DIGEST_INVALID', err.message, { expected: err.expected, actual: err.actual });
      }
      if (err instanceof UploadNotFoundError) throw new OciError('BLOB_UPLOAD_UNKNOWN', err.message);
      throw err;
    }
    await this.link(caller, repository, record, info, seen);
    return info;
  }

  /**
   * A small body that is the whole blob (the upload is empty, the length declared), read into
   * memory for a store that writes such blobs in one go (BlobStore.putWhole); undefined otherwise.
   */
  private async readWhole(record: UploadRecord, chunk: Chunk): Promise<Buffer | undefined> {
    const { blobs } = this.deps;
    const { length } = chunk;
    if (!blobs.putWhole || record.state.offset !== 0 || (chunk.start ?? 0) !== 0 || length === undefined || length > (blobs.wholeLimit ?? 0)) return undefined;
    const parts: Buffer[] = [];
    let received = 0;
    try {
      for await (const part of chunk.body as AsyncIterable<Buffer>) {
        received += part.length;
        parts.push(part);
      }
    } catch (err) {
      if (chunk.aborted()) throw new OciError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete; send the blob again');
      throw err;
    }
    if (received !== length) throw new OciError('BLOB_UPLOAD_INVALID', `the body has ${received} bytes, not the ${length} its Content-Length said`);
    return Buffer.concat(parts, received);
  }

  private async commitWhole(caller: Caller, repository: string, record: UploadRecord, bytes: Buffer, digest: Digest): Promise<BlobInfo> {
    await this.admit(caller, repository, record, record.state, digest, bytes.length);
    const seen = await this.deps.meta.blobDeletion(digest);
    this.deps.observe?.started();
    let info: BlobInfo;
    try {
      info = await this.deps.blobs.putWhole!(digest, bytes);
    } catch (err) {
      if (err instanceof DigestMismatchError) throw new OciError('DIGEST_INVALID', err.message, { expected: err.expected, actual: err.actual });
      throw err;
    } finally {
      this.deps.observe?.finished(bytes.length);
    }
    await this.link(caller, repository, record, info, seen);
    return info;
  }

  /** Makes a stored blob part of the repository, ends its upload, and records the event: one transaction. */
  private async link(caller: Caller, repository: string, record: UploadRecord, info: BlobInfo, seen: BlobDeletion | undefined): Promise<void> {
    const { meta, policies } = this.deps;
    const { digest, size } = info;
    const actor = await eventActor(meta, caller);
    try {
      await meta.transaction(async (tx) => {
        // The upload's record goes first: a quota check locks the project's usage until commit.
        await tx.deleteUpload(record.id);
        await policies.check('blobCommit', { ...caller, actor }, { repository, digest, size }, tx);
        if (!(await tx.claimBlob(repository, digest, seen))) throw new BlobCollectedError(digest);
        await tx.linkBlob(repository, digest, size);
        await tx.appendEvents([{ type: 'blob.pushed', at: eventTime(), actor, repository, digest, size }]);
      });
    } catch (err) {
      // Refused after the bytes were committed (a concurrent push took the room, or garbage
      // collection deleted the blob meanwhile): the upload is gone; the bytes stay unlinked,
      // counted nowhere, until garbage collection.
      if (err instanceof PolicyRefusal || err instanceof BlobCollectedError) await meta.transaction((tx) => tx.deleteUpload(record.id)).catch(() => undefined);
      throw err;
    }
  }
}

/** A blob the repository links but storage lost (a damaged data dir): the client sees BLOB_UNKNOWN. */
export function missingBlob(err: unknown, digest: string): never {
  if (err instanceof BlobNotFoundError) throw new OciError('BLOB_UNKNOWN', `blob ${digest} is missing from storage`, { digest });
  throw err;
}
