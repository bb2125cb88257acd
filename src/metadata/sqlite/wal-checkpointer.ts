// Checkpoints the SQLite WAL on a worker thread, so the event loop never does.
//
// A checkpoint copies the WAL's pages into the database file and fsyncs it. Left to SQLite, it
// runs inside the commit that grows the WAL past 1,000 pages, on the event loop: tens of
// milliseconds every few seconds under a steady write load (a GC run of 26,000 blobs spent 2.4 s
// of its 5.5 s of metadata time in them, bench/gc-offline.ts). Here a worker with its own
// connection runs a PASSIVE checkpoint a few times a second (it never waits for the writer or
// readers; what it cannot copy yet it copies next time). The connections on the event loop keep
// an automatic checkpoint at a much larger size, so the WAL stays bounded should the worker stop.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/** WAL pages past which a commit on the event loop checkpoints itself (the fallback; 4 KiB pages: 64 MiB). */
export const FALLBACK_CHECKPOINT_PAGES = 16_384;

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;

  constructor(file: string, intervalMs = 250, onError: (err: Error) => void = () => undefined) {
    this.worker = new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), { workerData: { file, intervalMs } });
    this.worker.unref(); // it never keeps the process alive
    this.worker.on('error', onError);
    // once() rejects when the worker fails: that is onError's to report, not an unhandled rejection.
    this.exited = once(this.worker, 'exit').catch(() => undefined);
  }

  /** Stops the worker after its last checkpoint; its connection is closed. */
  async close(): Promise<void> {
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
