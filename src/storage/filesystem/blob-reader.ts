// Positional reads of a committed blob file into a few buffers the reader owns and takes in
// turn, so sending a blob allocates nothing per chunk. Large blobs are read with O_DIRECT
// when the store has it (they were written that way, so the page cache does not hold them).
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { BlobReader } from '../blob-store.js';
import { DIRECT_ALIGN, type DirectIo } from './direct-io.js';

const CHUNK = 1 << 20;
/** Blobs at least this large are read with direct I/O. */
export const DIRECT_READ_MIN = 1 << 20;

const readAsync = promisify(fs.read);

/** Buffers per reader: one on its way to the socket while the next is read. Four were measured
 *  too (isolated pull-large, 4 runs each, twice): no faster, slightly more CPU per GiB. */
const DEPTH = 2;

class FileBlobReader implements BlobReader {
  private turn = 0;

  constructor(
    private readonly fd: number,
    private readonly buffers: Buffer[],
    /** Reads start and end on multiples of this (1 through the page cache). */
    private readonly align: number,
    private readonly release?: (buf: Buffer) => void,
  ) {}

  get depth(): number {
    return this.buffers.length;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buf = this.buffers[this.turn++ % this.buffers.length]!;
    // An aligned read starts before `position`: those first bytes are skipped.
    const skip = position % this.align;
    const want = Math.min(buf.length, Math.ceil((skip + length) / this.align) * this.align);
    // At the end of the file the kernel returns fewer bytes than asked: that is the tail.
    const { bytesRead } = await readAsync(this.fd, buf, 0, want, position - skip);
    return buf.subarray(Math.min(skip, bytesRead), Math.min(bytesRead, skip + length));
  }

  async close(): Promise<void> {
    fs.closeSync(this.fd);
    if (this.release) for (const buf of this.buffers) this.release(buf);
  }
}

/** Reads through the page cache, with buffers sized for the blob. */
export function bufferedBlobReader(fd: number, size: number): BlobReader {
  const length = Math.max(1, Math.min(CHUNK, size));
  // A blob that fits one buffer needs no second.
  const count = size <= length ? 1 : DEPTH;
  return new FileBlobReader(fd, Array.from({ length: count }, () => Buffer.allocUnsafeSlow(length)), 1);
}

/** Reads whole aligned blocks of a file opened with O_DIRECT, into buffers of the pool. */
export function directBlobReader(fd: number, io: DirectIo): BlobReader {
  return new FileBlobReader(fd, Array.from({ length: DEPTH }, () => io.take()), DIRECT_ALIGN, (buf) => io.give(buf));
}
