// Filesystem blob store: see layout.ts for the tree it keeps. An upload's bytes are one file
// whose size is at least the state's offset (bytes past it were never acknowledged: an append
// whose state the core did not save, e.g. a crash, and they are cut off at the next append).
import { createHash, type Hash } from 'node:crypto';
import fsSync, { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../../oci/names.js';
import { bufferedBlobReader, DIRECT_READ_MIN, directBlobReader } from './blob-reader.js';
import {
  AppendInterruptedError,
  BlobNotFoundError,
  BodyTooLargeError,
  DigestMismatchError,
  isStorageFull,
  StorageFullError,
  UploadNotFoundError,
  UploadOffsetError,
  type BlobInfo,
  type BlobReader,
  type BlobStore,
  type ByteRange,
  type ListedBlob,
  type UploadState,
} from '../blob-store.js';
import { DirectIo } from './direct-io.js';
import { FsLayout } from './layout.js';
import { HashThread } from './hash-thread.js';
import { UnlinkThreads } from './unlink-threads.js';
import { UploadWriter, type UploadHashing } from './upload-writer.js';
import { bodyBytesReceived } from '../young-gc.js';

const IO_CHUNK = 1 << 20;

const fsyncFd = promisify(fsSync.fsync);
const openFd = promisify(fsSync.open);

// Cost model on which this store is built: metadata syscalls on a local filesystem (stat, open,
// close, rename, mkdir) take a few microseconds, while a round trip through libuv's threadpool
// costs ~10-35 us of CPU and queues behind fsyncs. So those run synchronously; only what can
// take long (fsync, data writes of large bodies, reading files to rehash) stays asynchronous.

/** sha256 of an upload's first `offset` bytes, kept here or on the hash thread (`thread` = its generation). */
type HashState = { offset: number } & ({ hash: Hash } | { thread: number });

export class FsBlobStore implements BlobStore {
  readonly kind = 'filesystem';
  private readonly layout: FsLayout;
  // Running hashes of uploads this process appended to. After a restart (or a failed write)
  // the state is rebuilt from the file, so uploads stay resumable across restarts.
  private readonly hashes = new Map<string, HashState>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly madeDirs = new Set<string>();
  /** O_NOATIME for blob reads, until the filesystem refuses it (openBlob). */
  private noAtime = fsSync.constants.O_NOATIME ?? 0;

  /** deleteMany's unlinks, off the event loop and off libuv's threadpool. */
  private readonly unlinks = new UnlinkThreads();
  /** Hashes large uploads off the event loop; only with direct I/O, whose buffers it shares. */
  private readonly thread: HashThread | undefined;

  private constructor(
    root: string,
    /** Direct I/O for large blob data, when asked for and the filesystem supports it. */
    readonly direct: DirectIo | undefined,
  ) {
    this.layout = new FsLayout(root);
    this.thread = direct ? new HashThread() : undefined;
  }

  async close(): Promise<void> {
    await this.unlinks.close();
    await this.thread?.close();
    this.direct?.close();
  }

  static async open(root: string, options: { directIO?: boolean } = {}): Promise<FsBlobStore> {
    const layout = new FsLayout(root);
    await fs.mkdir(layout.blobsDir, { recursive: true });
    await fs.mkdir(layout.uploadsDir, { recursive: true });
    const store = new FsBlobStore(root, options.directIO === false ? undefined : DirectIo.probe(layout.uploadsDir));
    // The 256 sha256 fan-out directories, made once here rather than on the first pushes (each
    // mkdir allocates an inode, which is slow on ext4 without a journal; see createUpload).
    const fanOut = Array.from({ length: 256 }, (_, i) => path.dirname(layout.blobPath(`sha256:${i.toString(16).padStart(2, '0')}` as Digest)));
    await Promise.all(fanOut.map((dir) => fs.mkdir(dir, { recursive: true })));
    for (const dir of fanOut) store.madeDirs.add(dir);
    return store;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const st = await statOrUndefined(this.layout.blobPath(digest));
    return st ? { digest, size: st.size } : undefined;
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    const fd = this.openBlob(digest, undefined);
    return fsSync.createReadStream(this.layout.blobPath(digest), { fd, start: range?.start, end: range?.end, highWaterMark: IO_CHUNK });
  }

  async openReader(digest: Digest): Promise<BlobReader> {
    const size = statSyncOrUndefined(this.layout.blobPath(digest))?.size;
    if (size === undefined) throw new BlobNotFoundError(digest);
    if (this.direct && size >= DIRECT_READ_MIN) return directBlobReader(this.openBlob(digest, this.direct), this.direct);
    return bufferedBlobReader(this.openBlob(digest, undefined), size);
  }

  /**
   * A read-only descriptor of a committed blob, with direct I/O when `direct` is given. Opened
   * with O_NOATIME: a read that updates the access time writes the inode through the
   * filesystem's journal, and while GC's unlinks keep the journal busy that write waited
   * hundreds of milliseconds (a pull's p99 during GC: 985 ms with access times, 150 ms without).
   * Only the files' owner may ask for it: otherwise (EPERM) blobs are opened without it.
   */
  private openBlob(digest: Digest, direct: DirectIo | undefined): number {
    const file = this.layout.blobPath(digest);
    const flags = fsSync.constants.O_RDONLY | this.noAtime;
    try {
      return direct ? direct.open(file, flags) : fsSync.openSync(file, flags);
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(digest);
      if ((err as NodeJS.ErrnoException).code === 'EPERM' && this.noAtime !== 0) {
        this.noAtime = 0;
        return this.openBlob(digest, direct);
      }
      throw err;
    }
  }

  async delete(digest: Digest): Promise<void> {
    await this.unlink(digest);
  }

  async deleteMany(digests: readonly Digest[]): Promise<void> {
    await this.unlinks.unlinkAll(digests.map((d) => this.layout.blobPath(d)));
  }

  /** unlink alone (rm would lstat first, a second threadpool round trip); a blob already gone is fine. */
  private async unlink(digest: Digest): Promise<void> {
    try {
      await fs.unlink(this.layout.blobPath(digest));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async begin(id: string): Promise<UploadState> {
    // Not synchronous like the other metadata calls: allocating an inode can take a few hundred
    // microseconds (ext4 without a journal scans past recently deleted inodes), measured at a
    // third of the event loop's time when pushing many small blobs.
    // (Only the open: closing is quick, and a second threadpool round trip per blob is not.)
    fsSync.closeSync(await openFd(this.uploadFile(id), 'wx'));
    this.hashes.set(id, { hash: createHash('sha256'), offset: 0 });
    return { id, offset: 0 };
  }

  append(state: UploadState, body: Readable, options: { maxBytes?: number } = {}): Promise<UploadState> {
    const { id } = state;
    const { maxBytes } = options;
    return this.serialized(id, async () => {
      const file = this.uploadFile(id);
      const size = this.sizeAt(id, file, state.offset);
      const hashing = this.hashing(id, file, await this.hashState(id, file, size));
      this.hashes.delete(id); // stale until this write has fully landed
      const writer = new UploadWriter(file, size, this.direct, hashing);
      let written = 0;
      let failure: unknown;
      try {
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            written += chunk.length;
            if (maxBytes !== undefined && written > maxBytes) throw new BodyTooLargeError(maxBytes);
            await writer.add(chunk);
            bodyBytesReceived(chunk.length);
          }
        } catch (err) {
          // Keep what arrived: the client may ask for the offset and resume.
          await writer.finish().catch(() => undefined);
          throw err;
        }
        await writer.finish();
      } catch (err) {
        failure = err;
      } finally {
        await writer.close();
      }
      if (failure !== undefined) {
        // The hash state is dropped and rebuilt from the file when needed.
        if ('thread' in hashing.state) this.thread?.drop(id);
        if (isStorageFull(failure)) {
          // Out of space: this request's bytes go, so the space is free again and the upload
          // resumes at the size it had before the request.
          fsSync.truncateSync(file, size);
          throw new StorageFullError(failure);
        }
        if (failure instanceof BodyTooLargeError) throw failure;
        // The body ended early: what arrived is kept, and the client may resume after it.
        throw new AppendInterruptedError({ id, offset: statSyncOrUndefined(file)?.size ?? size }, failure);
      }
      hashing.state.offset = size + written;
      this.hashes.set(id, hashing.state);
      return { id, offset: hashing.state.offset };
    });
  }

  /** Feeds an upload's hash; a large body moves it to the hash thread (see UploadWriter). */
  private hashing(id: string, file: string, state: HashState): UploadHashing & { state: HashState } {
    const thread = this.thread;
    const hashing = {
      state,
      update(bytes: Uint8Array): void | Promise<void> {
        if ('hash' in hashing.state) hashing.state.hash.update(bytes);
        else return thread!.update(id, bytes);
      },
      async offload(): Promise<void> {
        if (!thread || !('hash' in hashing.state)) return;
        // The thread starts over from the bytes already in the file (none for a new upload).
        const { offset } = hashing.state;
        hashing.state = { offset, thread: await thread.start(id, file, offset) };
      },
    };
    return hashing;
  }

  commit(state: UploadState, expected: Digest): Promise<BlobInfo> {
    const { id } = state;
    return this.serialized(id, async () => {
      const file = this.uploadFile(id);
      const size = this.sizeAt(id, file, state.offset);
      const actual = await this.uploadDigest(id, file, size, digestAlgorithm(expected));
      if (actual !== expected) throw new DigestMismatchError(expected, actual);

      const dest = this.layout.blobPath(expected);
      if (statSyncOrUndefined(dest)) {
        // Already stored (content-addressed): the upload is a duplicate. The blob's mtime moves
        // to now, so a scrub sees it as young and leaves it alone while this commit's metadata is
        // written (bytes no metadata knows yet are kept for the scrub's grace window).
        fsSync.rmSync(file, { force: true });
        touch(dest);
      } else {
        // Durable before visible: the data is fsynced, then renamed into place, then the
        // directory entry is fsynced; only then is the blob acknowledged.
        await fsyncPath(file);
        const dir = path.dirname(dest);
        this.ensureDir(dir);
        fsSync.renameSync(file, dest);
        // The rename keeps the upload's mtime (its last append, maybe long ago): the commit's time
        // is what the scrub's grace window counts from.
        touch(dest);
        await fsyncPath(dir);
      }
      this.forgetHash(id);
      return { digest: expected, size };
    });
  }

  async uploadExists(state: UploadState): Promise<boolean> {
    const file = this.layout.uploadPath(state.id);
    const size = file === undefined ? undefined : statSyncOrUndefined(file)?.size;
    return size !== undefined && size >= state.offset;
  }

  async cancel(state: UploadState): Promise<void> {
    await this.discardUpload(state.id);
  }

  async discardUpload(id: string): Promise<void> {
    const file = this.layout.uploadPath(id);
    this.forgetHash(id);
    if (file) fsSync.rmSync(file, { force: true });
  }

  async listUploads(): Promise<Array<{ id: string; modified: Date }>> {
    const out: Array<{ id: string; modified: Date }> = [];
    for (const id of await fs.readdir(this.layout.uploadsDir)) {
      const file = this.layout.uploadPath(id);
      const st = file ? await statOrUndefined(file) : undefined;
      if (st) out.push({ id, modified: st.mtime });
    }
    return out;
  }

  private uploadFile(id: string): string {
    const file = this.layout.uploadPath(id);
    if (!file) throw new UploadNotFoundError(id);
    return file;
  }

  /**
   * The upload's size once cut back to `offset`: bytes past it were never acknowledged (the
   * state that would count them was not saved). Fewer bytes than `offset` means the file is not
   * the one the state describes.
   */
  private sizeAt(id: string, file: string, offset: number): number {
    const size = statSyncOrUndefined(file)?.size;
    if (size === undefined) throw new UploadNotFoundError(id);
    if (size < offset) throw new UploadOffsetError(size, offset);
    if (size > offset) {
      fsSync.truncateSync(file, offset);
      this.forgetHash(id);
    }
    return offset;
  }

  async list(after: Digest | undefined, limit: number): Promise<ListedBlob[]> {
    const out: ListedBlob[] = [];
    for (const algorithm of ['sha256', 'sha512'] as const) {
      if (after !== undefined && after > `${algorithm}:~`) continue;
      const algorithmDir = path.join(this.layout.blobsDir, algorithm);
      for (const prefix of (await readdirOrEmpty(algorithmDir)).sort()) {
        if (after !== undefined && `${algorithm}:${prefix}~` < after) continue;
        for (const hex of (await readdirOrEmpty(path.join(algorithmDir, prefix))).sort()) {
          const digest = `${algorithm}:${hex}` as Digest;
          if (after !== undefined && digest <= after) continue;
          const st = statSyncOrUndefined(this.layout.blobPath(digest));
          if (st) out.push({ digest, size: st.size, modified: st.mtime });
          if (out.length >= limit) return out;
        }
      }
    }
    return out;
  }

  async ping(): Promise<void> {
    await fs.access(this.layout.blobsDir, fsSync.constants.W_OK);
    await fs.access(this.layout.uploadsDir, fsSync.constants.W_OK);
  }

  /** The upload's hash at `size` bytes: the running one, or rebuilt from the file. */
  private async hashState(id: string, file: string, size: number): Promise<HashState> {
    const cached = this.hashes.get(id);
    if (cached && cached.offset === size && ('hash' in cached || cached.thread === this.thread?.generation)) return cached;
    if (this.thread) return { offset: size, thread: await this.thread.start(id, file, size) };
    const hash = createHash('sha256');
    await hashFileInto(file, hash);
    return { hash, offset: size };
  }

  private forgetHash(id: string): void {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    if (state && 'thread' in state) this.thread?.drop(id);
  }

  private async uploadDigest(id: string, file: string, size: number, algorithm: DigestAlgorithm): Promise<string> {
    if (algorithm === 'sha256') {
      const state = await this.hashState(id, file, size);
      this.hashes.set(id, state);
      return `sha256:${'hash' in state ? state.hash.copy().digest('hex') : await this.thread!.digest(id)}`;
    }
    const hash = createHash(algorithm);
    await hashFileInto(file, hash);
    return `${algorithm}:${hash.digest('hex')}`;
  }

  private ensureDir(dir: string): void {
    if (this.madeDirs.has(dir)) return;
    fsSync.mkdirSync(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  /** Runs fn after every earlier call for the same upload has settled. */
  private async serialized<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    }
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function hashFileInto(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: IO_CHUNK })) hash.update(chunk as Buffer);
}

/** fsync(2) of a file or directory by path: open and close are quick, the fsync runs in the threadpool. */
async function fsyncPath(file: string): Promise<void> {
  const fd = fsSync.openSync(file, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    fsSync.closeSync(fd);
  }
}

/** Sets a file's times to now; best effort (the times only steer the scrub's grace window). */
function touch(file: string): void {
  const now = new Date();
  try {
    fsSync.utimesSync(file, now, now);
  } catch {
    // Not ours to change (another owner): the scrub then sees the older time.
  }
}

function statSyncOrUndefined(file: string): fsSync.Stats | undefined {
  return fsSync.statSync(file, { throwIfNoEntry: false });
}

async function statOrUndefined(file: string) {
  try {
    return await fs.stat(file);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}
