// Direct I/O (O_DIRECT) for large blob data: bytes move between the disk and a few reused
// buffers, bypassing the page cache.
//
// Why: on virtual machines that hand free memory back to the host (virtio-balloon free page
// reporting, as on the benchmark VM), every fresh page-cache page costs a host page fault.
// Measured there: writing a new 1 GiB file through the page cache costs ~3 CPU-s (and a cold
// read ~2.4), against ~0.02 with O_DIRECT from reused buffers, while the host still caches the
// disk. On bare metal the page cache is cheap and serves hot layers from RAM, so operators can
// turn this off (storage.directIO: false).
//
// O_DIRECT needs the buffer address, the file offset and the length aligned to the device's
// block size. Node cannot align an allocation, so each pooled buffer is over-allocated and the
// aligned offset inside it found by probing: the first offset where a direct write is accepted.
import fs from 'node:fs';
import path from 'node:path';

/** File offsets and lengths of direct transfers are multiples of this. */
export const DIRECT_ALIGN = 4096;
/** Size of each pooled buffer (a multiple of DIRECT_ALIGN). */
export const DIRECT_CHUNK = 1 << 20;
/** Idle buffers kept for reuse; more are allocated under load and left to the GC. */
const MAX_IDLE = 4;

export class DirectIo {
  private readonly idle: Buffer[] = [];

  private constructor(private probeFd: number | undefined) {}

  /**
   * Checks that the filesystem under `dir` accepts direct I/O with buffers this process can
   * align. Returns undefined (use buffered I/O) when it does not, e.g. on tmpfs before Linux 6.6.
   */
  static probe(dir: string): DirectIo | undefined {
    const file = path.join(dir, `.direct-io-probe-${process.pid}`);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT, 0o600);
    } catch {
      return undefined;
    } finally {
      fs.rmSync(file, { force: true });
    }
    const io = new DirectIo(fd);
    const buf = io.allocate();
    if (!buf) {
      io.close();
      return undefined;
    }
    io.give(buf);
    return io;
  }

  /** An aligned buffer of DIRECT_CHUNK bytes; return it with give() when done. */
  take(): Buffer {
    const buf = this.idle.pop() ?? this.allocate();
    if (!buf) throw new Error('no aligned buffer for direct I/O could be allocated');
    return buf;
  }

  give(buf: Buffer): void {
    if (this.idle.length < MAX_IDLE) this.idle.push(buf);
  }

  /** Closes the descriptor kept for probing new buffers. */
  close(): void {
    if (this.probeFd !== undefined) fs.closeSync(this.probeFd);
    this.probeFd = undefined; // a closed number may be reused for another file: never write to it
  }

  /** Opens `file` for direct I/O (flags: fs.constants.O_RDONLY or O_WRONLY). */
  open(file: string, flags: number): number {
    return fs.openSync(file, flags | fs.constants.O_DIRECT);
  }

  private allocate(): Buffer | undefined {
    // Shared memory, so the hash worker reads a block while it is being written (hash-thread.ts).
    if (this.probeFd === undefined) return undefined;
    const raw = Buffer.from(new SharedArrayBuffer(DIRECT_CHUNK + DIRECT_ALIGN));
    // Allocations are 16-byte aligned; the kernel rejects a misaligned buffer with EINVAL.
    for (let offset = 0; offset < DIRECT_ALIGN; offset += 16) {
      try {
        fs.writeSync(this.probeFd, raw, offset, DIRECT_ALIGN, 0);
        return raw.subarray(offset, offset + DIRECT_CHUNK);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
      }
    }
    return undefined;
  }
}
