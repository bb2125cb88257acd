// Running sha256 hashes of large uploads, computed on a worker thread so the event loop only
// receives and writes the bytes. Hashing a GiB costs ~0.75 CPU-s, a third of what the event loop
// spent per GiB pushed. Direct I/O stages the bytes in shared buffers (direct-io.ts), which the
// worker reads in place: nothing is copied or left for the garbage collector.
import { Worker } from 'node:worker_threads';
import type { HashRequest, HashReply } from './hash-worker.js';

/** A request without its sequence number (Omit, distributed over the union). */
type Call = HashRequest extends infer R ? (R extends HashRequest ? Omit<R, 'seq'> : never) : never;

export class HashThread {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(hex: string | undefined): void; reject(err: Error): void }>();
  /** Bumped whenever the worker is replaced: hash states of an older generation are gone. */
  generation = 0;

  /** Starts a hash for upload `id` (replacing any), seeded with bytes 0..size of `file`. */
  async start(id: string, file: string, size: number): Promise<number> {
    const generation = this.generation;
    await this.call({ op: 'start', id, file, size });
    return generation;
  }

  /**
   * Feeds bytes to the hash. Bytes in shared memory are read in place: leave them untouched until
   * the promise settles. Other bytes are copied.
   */
  async update(id: string, bytes: Uint8Array): Promise<void> {
    if (bytes.buffer instanceof SharedArrayBuffer) {
      await this.call({ op: 'update', id, bytes });
      return;
    }
    // A copy of just these bytes, moved: cloning the view would copy its whole ArrayBuffer.
    const own = new Uint8Array(bytes);
    await this.call({ op: 'update', id, bytes: own }, [own.buffer]);
  }

  /** Hex sha256 of everything fed so far; the hash stays usable. */
  async digest(id: string): Promise<string> {
    return (await this.call({ op: 'digest', id }))!;
  }

  drop(id: string): void {
    if (this.worker) void this.call({ op: 'drop', id }).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
  }

  private call(request: Call, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    const worker = this.worker ?? this.spawn();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ ...request, seq } as HashRequest, transfer);
    });
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    worker.unref(); // an idle hasher must not keep the process alive
    worker.on('message', (reply: HashReply) => {
      const call = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (reply.error !== undefined) call?.reject(new Error(reply.error));
      else call?.resolve(reply.hex);
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.generation++;
      for (const call of this.pending.values()) call.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

