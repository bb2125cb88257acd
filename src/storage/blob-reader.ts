// Positional reads of a committed blob file into two buffers the reader owns and alternates
// between, so sending a blob allocates nothing per chunk. Large blobs are read with O_DIRECT
// when the store has it (they were written that way, so the page cache does not hold them).
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { BlobReader } from './blob-store.js';
import { DIRECT_ALIGN, DIRECT_CHUNK, type DirectIo } from './direct-io.js';

const CHUNK = 1 << 20;
/** Blobs at least this large are read with direct I/O. */
export const DIRECT_READ_MIN = 1 << 20;

const readAsync = promisify(fs.read);

/** Reads through the page cache. */
export class BufferedBlobReader implements BlobReader {
  private readonly buffers: [Buffer, Buffer];
  private turn = 0;

  constructor(
    private readonly fd: number,
    size: number,
  ) {
    const length = Math.max(1, Math.min(CHUNK, size));
    this.buffers = [Buffer.allocUnsafeSlow(length), Buffer.allocUnsafeSlow(length)];
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buf = this.buffers[this.turn++ % 2]!;
    const { bytesRead } = await readAsync(this.fd, buf, 0, Math.min(buf.length, length), position);
    return buf.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    fs.closeSync(this.fd);
  }
}

/** Reads whole aligned blocks with O_DIRECT into pooled aligned buffers. */
export class DirectBlobReader implements BlobReader {
  private readonly buffers: [Buffer, Buffer];
  private turn = 0;

  constructor(
    private readonly fd: number,
    private readonly io: DirectIo,
  ) {
    this.buffers = [io.take(), io.take()];
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buf = this.buffers[this.turn++ % 2]!;
    const skip = position % DIRECT_ALIGN;
    const want = Math.min(DIRECT_CHUNK, roundUp(skip + length));
    // At the end of the file the kernel returns fewer bytes than asked: that is the tail.
    const { bytesRead } = await readAsync(this.fd, buf, 0, want, position - skip);
    return buf.subarray(Math.min(skip, bytesRead), Math.min(bytesRead, skip + length));
  }

  async close(): Promise<void> {
    fs.closeSync(this.fd);
    this.io.give(this.buffers[0]);
    this.io.give(this.buffers[1]);
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;
}
