// Filesystem blob store: see layout.ts for the tree it keeps.
import { createHash, type Hash } from 'node:crypto';
import fsSync, { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../registry/names.js';
import {
  BlobNotFoundError,
  BodyTooLargeError,
  DigestMismatchError,
  UploadNotFoundError,
  UploadOffsetError,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
} from './blob-store.js';
import { FsLayout } from './layout.js';

const IO_CHUNK = 1 << 20;
/** Bodies up to this size are written with one synchronous write when they end. */
const SMALL_WRITE = 256 * 1024;

const fsyncFd = promisify(fsSync.fsync);
const writevFd = promisify(fsSync.writev);

// Cost model on which this store is built: metadata syscalls on a local filesystem (stat, open,
// close, rename, mkdir) take a few microseconds, while a round trip through libuv's threadpool
// costs ~10-35 us of CPU and queues behind fsyncs. So those run synchronously; only what can
// take long (fsync, data writes of large bodies, reading files to rehash) stays asynchronous.

/** sha256 state of an upload, valid for exactly `offset` bytes of its file. */
interface HashState {
  hash: Hash;
  offset: number;
}

export class FsBlobStore implements BlobStore {
  private readonly layout: FsLayout;
  // Running hashes of uploads this process appended to. After a restart (or a failed write)
  // the state is rebuilt from the file, so uploads stay resumable across restarts.
  private readonly hashes = new Map<string, HashState>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly madeDirs = new Set<string>();

  private constructor(root: string) {
    this.layout = new FsLayout(root);
  }

  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(root);
    await fs.mkdir(store.layout.blobsDir, { recursive: true });
    await fs.mkdir(store.layout.uploadsDir, { recursive: true });
    return store;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const st = await statOrUndefined(this.layout.blobPath(digest));
    return st ? { digest, size: st.size } : undefined;
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    const handle = await this.openFile(digest);
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: IO_CHUNK });
  }

  async openFile(digest: Digest): Promise<fs.FileHandle> {
    try {
      return await fs.open(this.layout.blobPath(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(digest);
      throw err;
    }
  }

  async delete(digest: Digest): Promise<void> {
    await fs.rm(this.layout.blobPath(digest), { force: true });
  }

  async createUpload(id: string): Promise<void> {
    fsSync.closeSync(fsSync.openSync(this.uploadFile(id), 'wx'));
    this.hashes.set(id, { hash: createHash('sha256'), offset: 0 });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    return this.uploadSizeSync(id);
  }

  private uploadSizeSync(id: string): number | undefined {
    const file = this.layout.uploadPath(id);
    if (!file) return undefined;
    return statSyncOrUndefined(file)?.size;
  }

  appendUpload(id: string, offset: number, body: Readable, maxBytes?: number): Promise<number> {
    return this.serialized(id, async () => {
      const file = this.uploadFile(id);
      const size = this.existingUploadSize(id);
      if (offset !== size) throw new UploadOffsetError(size, offset);
      const state = await this.hashState(id, file, size);
      this.hashes.delete(id); // stale until this write has fully landed
      const fd = fsSync.openSync(file, 'a');
      const writer = new BatchWriter(fd);
      let written = 0;
      try {
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            written += chunk.length;
            if (maxBytes !== undefined && written > maxBytes) throw new BodyTooLargeError(maxBytes);
            state.hash.update(chunk);
            await writer.add(chunk);
          }
        } catch (err) {
          // Keep what arrived (the client may ask for the offset and resume); the hash state is
          // dropped and rebuilt from the file when needed.
          await writer.finish().catch(() => undefined);
          throw err;
        }
        await writer.finish();
      } finally {
        await writer.settled();
        fsSync.closeSync(fd);
      }
      state.offset = size + written;
      this.hashes.set(id, state);
      return state.offset;
    });
  }

  commitUpload(id: string, expected: Digest): Promise<BlobInfo> {
    return this.serialized(id, async () => {
      const file = this.uploadFile(id);
      const size = this.existingUploadSize(id);
      const actual = await this.uploadDigest(id, file, size, digestAlgorithm(expected));
      if (actual !== expected) throw new DigestMismatchError(expected, actual);

      const dest = this.layout.blobPath(expected);
      if (statSyncOrUndefined(dest)) {
        // Already stored (content-addressed): the upload is a duplicate.
        fsSync.rmSync(file, { force: true });
      } else {
        // Durable before visible: the data is fsynced, then renamed into place, then the
        // directory entry is fsynced; only then is the blob acknowledged.
        await fsyncPath(file);
        const dir = path.dirname(dest);
        this.ensureDir(dir);
        fsSync.renameSync(file, dest);
        await fsyncPath(dir);
      }
      this.hashes.delete(id);
      return { digest: expected, size };
    });
  }

  async cancelUpload(id: string): Promise<void> {
    const file = this.layout.uploadPath(id);
    this.hashes.delete(id);
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

  private existingUploadSize(id: string): number {
    const size = this.uploadSizeSync(id);
    if (size === undefined) throw new UploadNotFoundError(id);
    return size;
  }

  private async hashState(id: string, file: string, size: number): Promise<HashState> {
    const cached = this.hashes.get(id);
    if (cached && cached.offset === size) return cached;
    const hash = createHash('sha256');
    await hashFileInto(file, hash);
    return { hash, offset: size };
  }

  private async uploadDigest(id: string, file: string, size: number, algorithm: DigestAlgorithm): Promise<string> {
    if (algorithm === 'sha256') {
      const state = await this.hashState(id, file, size);
      this.hashes.set(id, state);
      return `sha256:${state.hash.copy().digest('hex')}`;
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

/**
 * Appends chunks to a file descriptor in batches: up to IO_CHUNK bytes are gathered and written
 * with one writev in the threadpool while the next batch arrives (at most one write in flight,
 * so memory stays bounded and the body stream sees backpressure). A body that ends below
 * SMALL_WRITE is written with one synchronous writev instead. (A background fdatasync every
 * 64 MiB, to get large uploads onto the disk while they stream in, was tried: no measurable gain
 * on push-large, and up to 40% more system time in some runs; see docs/benchmarks.md.)
 */
class BatchWriter {
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private inFlight: Promise<void> | undefined;
  private usedAsync = false;

  constructor(private readonly fd: number) {}

  async add(chunk: Buffer): Promise<void> {
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= IO_CHUNK) await this.startWrite();
  }

  async finish(): Promise<void> {
    if (!this.usedAsync && this.batchBytes <= SMALL_WRITE) {
      if (this.batchBytes > 0) writeAllSync(this.fd, this.batch);
      this.batch = [];
      this.batchBytes = 0;
      return;
    }
    await this.startWrite();
    await this.inFlight;
  }

  private async startWrite(): Promise<void> {
    // The previous write must land first: writes to one descriptor stay in order.
    await this.inFlight;
    if (this.batchBytes === 0) return;
    const buffers = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.usedAsync = true;
    this.inFlight = writeAll(this.fd, buffers);
    // A failure is reported by the next add() or finish(), which await this promise.
    this.inFlight.catch(() => undefined);
  }

  /** Resolves when no write is running any more (before the descriptor is closed). */
  async settled(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }
}

async function writeAll(fd: number, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await writevFd(fd, rest);
    rest = advance(rest, bytesWritten);
  }
}

function writeAllSync(fd: number, buffers: Buffer[]): void {
  let rest = buffers;
  while (rest.length > 0) rest = advance(rest, fsSync.writevSync(fd, rest));
}

/** The buffers left after the first `n` bytes were written (short writes are rare but legal). */
function advance(buffers: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i]!.length) n -= buffers[i++]!.length;
  if (i === buffers.length) return [];
  const rest = buffers.slice(i);
  if (n > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
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
