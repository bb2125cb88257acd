// sha256 with a state that can be saved between requests (hash-wasm's save()/load()), so the
// replica that commits an upload needs no re-read of the bytes another replica received.
//
// hash-wasm runs at ~125-190 MiB/s here (node's native sha256: ~1.3 GiB/s, but its state cannot
// be exported), so a 64 MiB PATCH costs ~0.4 s of hashing: large buffers are hashed on worker
// threads, the event loop only moves bytes. Small ones (below INLINE) are hashed in place, where
// a round trip to a worker would cost more than the hash.
import { createHash } from 'node:crypto';
import { createSHA256, type IHasher } from 'hash-wasm';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Sha256Reply, Sha256Request } from './sha256-worker.js';

const INLINE = 256 * 1024;

export class Sha256Pool {
  private readonly workers: Worker[] = [];
  private next = 0;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(reply: { state: Uint8Array | null; part?: string }): void; reject(err: Error): void }>();
  private inline: Promise<IHasher> | undefined;
  private closed = false;

  /** One worker per spare core (at least one, at most four): hashing is the CPU cost of a push. 0: all on the event loop (to measure the difference). */
  constructor(private readonly size = Math.max(1, Math.min(4, os.availableParallelism() - 1))) {}

  /**
   * The state after `bytes`, from the state before them (undefined: the first bytes; null: the
   * hash was lost, and stays so). A state this build of hash-wasm cannot load gives null. Bytes
   * in shared memory are read in place: leave them untouched until the promise settles; others
   * are copied.
   */
  async update(state: Uint8Array | undefined | null, bytes: Uint8Array): Promise<Uint8Array | null> {
    if (state === null) return null;
    if (bytes.length < INLINE || this.size === 0) return (await this.inlineHash(state, bytes, 0, false)).state;
    return (await this.call(state, bytes, 0, false)).state;
  }

  /**
   * Like update() for the bytes of `part` after its first `skip` (bytes already in the hash), and
   * also the sha256 of the whole part, hex: what SigV4 signs, computed here so that signing
   * costs the event loop nothing.
   */
  async part(state: Uint8Array | undefined | null, part: Uint8Array, skip: number): Promise<{ state: Uint8Array | null; sha256: string }> {
    const r = this.size === 0 ? await this.inlineHash(state, part, skip, true) : await this.call(state, part, skip, true);
    return { state: r.state, sha256: r.part! };
  }

  /** Hex sha256 of the bytes a state was saved after (undefined: no bytes). */
  async digest(state: Uint8Array | undefined): Promise<string> {
    const hasher = await this.hasher();
    return (state ? hasher.load(state) : hasher.init()).digest('hex');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }

  private hasher(): Promise<IHasher> {
    this.inline ??= createSHA256();
    return this.inline;
  }

  /** What the worker does, on the event loop (small buffers, or no workers). */
  private async inlineHash(state: Uint8Array | undefined | null, bytes: Uint8Array, skip: number, part: boolean): Promise<{ state: Uint8Array | null; part?: string }> {
    let after: Uint8Array | null = null;
    if (state !== null) {
      const hasher = await this.hasher();
      try {
        after = (state ? hasher.load(state) : hasher.init()).update(bytes.subarray(skip)).save();
      } catch {
        after = null; // saved by another build of hash-wasm
      }
    }
    return { state: after, part: part ? createHash('sha256').update(bytes).digest('hex') : undefined };
  }

  private call(state: Uint8Array | undefined | null, bytes: Uint8Array, skip: number, part: boolean): Promise<{ state: Uint8Array | null; part?: string }> {
    // A late call from an append that outlived close() must not start a worker nobody stops.
    if (this.closed) return Promise.reject(new Error('the blob store is closed'));
    // A copy of just these bytes, moved to the worker: cloning the view would copy its whole buffer.
    const shared = bytes.buffer instanceof SharedArrayBuffer;
    const data = shared ? bytes : new Uint8Array(bytes);
    const worker = this.worker();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ seq, state, bytes: data, skip, part } satisfies Sha256Request, shared ? [] : [data.buffer as ArrayBuffer]);
    });
  }

  /** Workers start on first use and take calls in turn (a call carries its whole state). */
  private worker(): Worker {
    if (this.workers.length < this.size) return this.spawn();
    return this.workers[this.next++ % this.workers.length]!;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./sha256-worker.js', import.meta.url));
    worker.unref(); // an idle hasher must not keep the process alive
    worker.on('message', (reply: Sha256Reply) => {
      const call = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (reply.error !== undefined) call?.reject(new Error(reply.error));
      else call?.resolve({ state: reply.state ?? null, part: reply.part });
    });
    const fail = (err: Error) => {
      const at = this.workers.indexOf(worker);
      if (at < 0) return;
      this.workers.splice(at, 1);
      // Calls are not tagged with their worker: fail them all, the appends waiting on them fail
      // cleanly and their uploads stay at the offset they had.
      for (const call of this.pending.values()) call.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`sha256 worker exited with code ${code}`)));
    this.workers.push(worker);
    return worker;
  }
}
