// Writes the bytes of one request body into an upload file, from a given offset.
//
// A small body (up to SMALL_WRITE, e.g. a config blob or a 16 KiB layer) is gathered and written
// with one synchronous writev when it ends: a threadpool round trip would cost more than the
// write. A larger body streams to the file through the threadpool with bounded memory, so the
// request sees backpressure: with direct I/O it is copied into a ring of aligned buffers written
// with O_DIRECT and hashed on the hash thread (see direct-io.ts), else written through the page
// cache with at most one write in flight.
// (A background fdatasync every 64 MiB was tried: no gain on push-large and up to 40% more
// system time; see docs/benchmarks.md.)
import fs from 'node:fs';
import { promisify } from 'node:util';
import { DIRECT_ALIGN, type DirectIo } from './direct-io.js';

const SMALL_WRITE = 256 * 1024;
/** Bytes gathered per buffered writev. */
const BATCH = 1 << 20;

const writevAsync = promisify(fs.writev);
const writeAsync = promisify(fs.write);

/** Where the writer feeds the bytes it wrote: each byte once, in order. */
export interface UploadHashing {
  /** Hashes bytes, which must stay untouched until the returned promise (if any) settles. */
  update(bytes: Uint8Array): void | Promise<void>;
  /** Called once before a large body streams through direct I/O: hashing may move off the event loop. */
  offload(): Promise<void>;
}

interface Sink {
  add(chunk: Buffer): Promise<void>;
  finish(): Promise<void>;
  close(): Promise<void>;
}

export class UploadWriter {
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private sink: Sink | undefined;

  constructor(
    private readonly file: string,
    private readonly start: number,
    private readonly direct: DirectIo | undefined,
    private readonly hashing: UploadHashing,
  ) {}

  async add(chunk: Buffer): Promise<void> {
    if (this.sink) return this.sink.add(chunk);
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
    if (this.gatheredBytes <= SMALL_WRITE) return;
    if (this.direct) {
      await this.hashing.offload();
      this.sink = new DirectSink(this.file, this.start, this.direct, this.hashing);
    } else {
      this.sink = new BufferedSink(this.file, this.start, this.hashing);
    }
    const gathered = this.gathered;
    this.gathered = [];
    for (const c of gathered) await this.sink.add(c);
  }

  /** Writes everything received so far (also after a failed body: what arrived is kept). */
  async finish(): Promise<void> {
    if (this.sink) return this.sink.finish();
    if (this.gatheredBytes === 0) return;
    const fd = fs.openSync(this.file, 'r+');
    try {
      let rest = this.gathered;
      let position = this.start;
      while (rest.length > 0) {
        const n = fs.writevSync(fd, rest, position);
        position += n;
        rest = advance(rest, n);
      }
    } finally {
      fs.closeSync(fd);
    }
    for (const chunk of this.gathered) await this.hashing.update(chunk);
    this.gathered = [];
    this.gatheredBytes = 0;
  }

  /** Waits for a write still running and releases descriptors and buffers. Call once, last. */
  async close(): Promise<void> {
    await this.sink?.close();
  }
}

/** Through the page cache: chunks are gathered into BATCH-sized writevs. */
class BufferedSink implements Sink {
  private readonly fd: number;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    file: string,
    private position: number,
    private readonly hashing: UploadHashing,
  ) {
    this.fd = fs.openSync(file, 'r+');
  }

  async add(chunk: Buffer): Promise<void> {
    await this.hashing.update(chunk);
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= BATCH) await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.inFlight;
  }

  private async flush(): Promise<void> {
    // The previous write must land first: a failure surfaces here, and the file stays in order.
    await this.inFlight;
    if (this.batchBytes === 0) return;
    this.inFlight = writevAll(this.fd, this.batch, this.position);
    this.inFlight.catch(() => undefined); // reported by the next flush() or finish()
    this.position += this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
  }

  async close(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    fs.closeSync(this.fd);
  }
}

/** Buffers per direct upload: one filling while the others are written and hashed. */
const RING = 3;

/**
 * With O_DIRECT: whole aligned blocks are written from a small ring of buffers, each written and
 * hashed (both off the event loop) while the next fills. The block the upload currently ends in
 * is read back and rewritten whole, and the last partial block of a body goes through the page
 * cache (direct writes cannot end mid-block), so the file's size is always exactly the bytes
 * received.
 */
class DirectSink implements Sink {
  private readonly plainFd: number;
  private readonly directFd: number;
  private current: Buffer;
  /** Buffers free to fill, and those being written and hashed, oldest first. */
  private readonly free: Buffer[] = [];
  private readonly busy: Array<{ buf: Buffer; done: Promise<void> }> = [];
  /** File offset of current[0]: always a multiple of DIRECT_ALIGN. */
  private blockStart: number;
  private fill: number;
  /** current[hashed..fill) is not hashed yet (the re-read head of a block already was). */
  private hashed: number;

  constructor(
    file: string,
    start: number,
    private readonly io: DirectIo,
    private readonly hashing: UploadHashing,
  ) {
    this.plainFd = fs.openSync(file, 'r+');
    try {
      this.directFd = io.open(file, fs.constants.O_WRONLY);
    } catch (err) {
      fs.closeSync(this.plainFd);
      throw err;
    }
    this.current = io.take();
    for (let i = 1; i < RING; i++) this.free.push(io.take());
    this.blockStart = start - (start % DIRECT_ALIGN);
    this.fill = start - this.blockStart;
    this.hashed = this.fill;
    if (this.fill > 0 && fs.readSync(this.plainFd, this.current, 0, this.fill, this.blockStart) !== this.fill) {
      void this.close();
      throw new Error(`upload file is shorter than its recorded size ${start}`);
    }
  }

  async add(chunk: Buffer): Promise<void> {
    let used = 0;
    while (used < chunk.length) {
      const n = Math.min(chunk.length - used, this.current.length - this.fill);
      // fill() with an exactly fitting buffer is one memcpy; copy() and set() into shared memory
      // take V8's element-wise path, measured at ~3x the cost.
      this.current.fill(chunk.subarray(used, used + n), this.fill, this.fill + n);
      used += n;
      this.fill += n;
      if (this.fill === this.current.length) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    const full = this.current;
    const done = settleBoth(writeAll(this.directFd, full, full.length, this.blockStart), this.hashing.update(full.subarray(this.hashed)));
    done.catch(() => undefined); // reported when the buffer is reclaimed
    this.busy.push({ buf: full, done });
    this.blockStart += full.length;
    this.fill = 0;
    this.hashed = 0;
    // `full` now belongs to `busy` alone, even when its predecessor failed: each buffer is in
    // exactly one place, so close() returns each to the pool once.
    const failure = this.free.length === 0 ? await this.reclaim() : undefined;
    this.current = this.free.pop()!;
    if (failure) throw failure;
  }

  /** Waits for the oldest block in flight and frees its buffer; returns its failure, if any. */
  private async reclaim(): Promise<Error | undefined> {
    const oldest = this.busy.shift()!;
    const failure = await oldest.done.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    this.free.push(oldest.buf);
    return failure;
  }

  private async drain(): Promise<void> {
    while (this.busy.length > 0) {
      const failure = await this.reclaim();
      if (failure) throw failure;
    }
  }

  async finish(): Promise<void> {
    await this.drain();
    await this.hashing.update(this.current.subarray(this.hashed, this.fill));
    this.hashed = this.fill;
    const whole = this.fill - (this.fill % DIRECT_ALIGN);
    if (whole > 0) await writeAll(this.directFd, this.current, whole, this.blockStart);
    if (this.fill > whole) {
      const tail = this.current.subarray(whole, this.fill);
      let done = 0;
      while (done < tail.length) done += fs.writeSync(this.plainFd, tail, done, tail.length - done, this.blockStart + whole + done);
    }
    // Nothing is left to write; a second finish() must not write the tail again.
    this.blockStart += whole;
    this.current.copy(this.current, 0, whole, this.fill);
    this.fill -= whole;
    this.hashed = this.fill;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.busy.map((b) => b.done));
    fs.closeSync(this.directFd);
    fs.closeSync(this.plainFd);
    for (const buf of [this.current, ...this.free, ...this.busy.map((b) => b.buf)]) this.io.give(buf);
  }
}

/** Waits for both (a buffer is free only when neither uses it), then fails with the first error. */
async function settleBoth(a: Promise<void>, b: void | Promise<void>): Promise<void> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
}

async function writevAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await writevAsync(fd, rest, position);
    position += bytesWritten;
    rest = advance(rest, bytesWritten);
  }
}

/** Writes buf[0..length) at `position`. Direct writes are whole blocks; short ones are not expected. */
async function writeAll(fd: number, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await writeAsync(fd, buf, done, length - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
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
