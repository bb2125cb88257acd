// Deletes many files at once on worker threads of their own (FsBlobStore.deleteMany, for GC).
//
// An unlink of a file whose blocks are on disk waits for the filesystem far more than it computes
// (~200-300 us each on ext4 on a virtual disk, a third to a half of it kernel CPU; 25,000 took
// 8.3 s one by one, 3.8 s four at a time). On libuv's threadpool they would hold its threads:
// pulls' and pushes' file reads, writes and fsyncs queued behind them. So threads of their own
// run them synchronously, a chunk of paths per message: half as many as there are cores, since
// each is mostly kernel CPU the requests need too. They start at the first call and end after a
// while idle.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { UnlinkReply, UnlinkRequest } from './unlink-worker.js';

/** Paths per message: enough that messages cost nothing next to the unlinks, few enough to spread the work. */
const CHUNK = 32;

export class UnlinkThreads {
  private workers: Worker[] = [];
  private seq = 0;
  private readonly pending = new Map<number, { worker: Worker; resolve(): void; reject(err: Error): void }>();
  private running = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    /** Half the cores: an unlink costs ~100 us of kernel CPU, and requests need the rest. */
    private readonly threads = Math.max(1, Math.floor(os.availableParallelism() / 2)),
    private readonly idleMs = 10_000,
  ) {}

  /** Unlinks every path (a missing one is fine); rejects with the first failure (the others may be gone or not). */
  async unlinkAll(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    clearTimeout(this.idleTimer);
    if (this.running++ === 0) for (const w of this.spawned()) w.ref(); // keep the process alive meanwhile
    try {
      const chunks: string[][] = [];
      for (let i = 0; i < paths.length; i += CHUNK) chunks.push(paths.slice(i, i + CHUNK));
      // Each thread takes the next chunk when it is done with one: a slow one holds up nothing.
      await Promise.all(
        this.spawned().map(async (worker) => {
          for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) await this.call(worker, chunk);
        }),
      );
    } finally {
      if (--this.running === 0) {
        for (const w of this.workers) w.unref();
        this.idleTimer = setTimeout(() => void this.close(), this.idleMs).unref();
      }
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private call(worker: Worker, paths: string[]): Promise<void> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { worker, resolve, reject });
      worker.postMessage({ seq, paths } satisfies UnlinkRequest);
    });
  }

  private spawned(): Worker[] {
    while (this.workers.length < this.threads) this.workers.push(this.spawn());
    return [...this.workers];
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./unlink-worker.js', import.meta.url));
    // Held while calls run (one started in place of a dead thread, too), let go when idle.
    if (this.running === 0) worker.unref();
    worker.on('message', (reply: UnlinkReply) => {
      const call = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (reply.error) call?.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      else call?.resolve();
    });
    // A thread that dies fails its calls; the next call starts another.
    const fail = (err: Error) => {
      this.workers = this.workers.filter((w) => w !== worker);
      for (const [seq, call] of this.pending) {
        if (call.worker !== worker) continue;
        this.pending.delete(seq);
        call.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`an unlink thread exited with code ${code}`)));
    return worker;
  }
}
