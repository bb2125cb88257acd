// Positional reads of a committed blob file into two buffers the reader owns and alternates
// between, so sending a blob allocates nothing per chunk. Large blobs are read with O_DIRECT
// when the store has it (they were written that way, so the page cache does not hold them).
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { BlobReader } from './blob-store.js';
import { DIRECT_ALIGN, type DirectIo } from './direct-io.js';

const CHUNK = 1 << 20;
/** Blobs at least this large are read with direct I/O. */
export const DIRECT_READ_MIN = 1 << 20;

const readAsync = promisify(fs.read);

class FileBlobReader implements BlobReader {
  private turn = 0;

  constructor(
    private readonly fd: number,
    private readonly buffers: [Buffer, Buffer],
    /** Reads start and end on multiples of this (1 through the page cache). */
    private readonly align: number,
    private readonly release?: (buf: Buffer) => void,
  ) {}

  async read(position: number, length: number): Promise<Buffer> {
    const buf = this.buffers[this.turn++ % 2]!;
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
  return new FileBlobReader(fd, [Buffer.allocUnsafeSlow(length), Buffer.allocUnsafeSlow(length)], 1);
}

/** Reads whole aligned blocks of a file opened with O_DIRECT, into buffers of the pool. */
export function directBlobReader(fd: number, io: DirectIo): BlobReader {
  return new FileBlobReader(fd, [io.take(), io.take()], DIRECT_ALIGN, (buf) => io.give(buf));
}
