// Filesystem blob store: see layout.ts for the tree it keeps.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.layout.blobPath(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(digest);
      throw err;
    }
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: IO_CHUNK });
  }

  async delete(digest: Digest): Promise<void> {
    await fs.rm(this.layout.blobPath(digest), { force: true });
  }

  async createUpload(id: string): Promise<void> {
    await fs.writeFile(this.uploadFile(id), '', { flag: 'wx' });
    this.hashes.set(id, { hash: createHash('sha256'), offset: 0 });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    const file = this.layout.uploadPath(id);
    if (!file) return undefined;
    return (await statOrUndefined(file))?.size;
  }

  appendUpload(id: string, offset: number, body: Readable, maxBytes?: number): Promise<number> {
    return this.serialized(id, async () => {
      const file = this.uploadFile(id);
      const size = await this.existingUploadSize(id);
      if (offset !== size) throw new UploadOffsetError(size, offset);
      const state = await this.hashState(id, file, size);
      this.hashes.delete(id); // stale until this write has fully landed
      let written = 0;
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            written += chunk.length;
            if (maxBytes !== undefined && written > maxBytes) throw new BodyTooLargeError(maxBytes);
            state.hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(file, { flags: 'a', highWaterMark: IO_CHUNK }),
      );
      state.offset = size + written;
      this.hashes.set(id, state);
      return state.offset;
    });
  }

  commitUpload(id: string, expected: Digest): Promise<BlobInfo> {
    return this.serialized(id, async () => {
      const file = this.uploadFile(id);
      const size = await this.existingUploadSize(id);
      const actual = await this.uploadDigest(id, file, size, digestAlgorithm(expected));
      if (actual !== expected) throw new DigestMismatchError(expected, actual);

      const dest = this.layout.blobPath(expected);
      if (await statOrUndefined(dest)) {
        // Already stored (content-addressed): the upload is a duplicate.
        await fs.rm(file, { force: true });
      } else {
        await fsyncFile(file);
        const dir = path.dirname(dest);
        await this.ensureDir(dir);
        await fs.rename(file, dest);
        await fsyncFile(dir);
      }
      this.hashes.delete(id);
      return { digest: expected, size };
    });
  }

  async cancelUpload(id: string): Promise<void> {
    const file = this.layout.uploadPath(id);
    this.hashes.delete(id);
    if (file) await fs.rm(file, { force: true });
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

  private async existingUploadSize(id: string): Promise<number> {
    const size = await this.uploadSize(id);
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

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fs.mkdir(dir, { recursive: true });
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

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
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
