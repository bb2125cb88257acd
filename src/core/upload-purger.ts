// Deletes uploads nobody has written to for a while (clients that crashed or gave up), and upload
// data the metadata no longer knows. An upload's activity is the later of its last saved state
// (metadata) and its data's last write (the blob store: a file's mtime moves while one long PATCH
// streams in), so a slow but live upload is never cut off.
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Locker } from '../coordination/coordination.js';

export class UploadPurger {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly blobs: BlobStore,
    private readonly meta: MetadataStore,
    private readonly maxIdleMs: number,
    private readonly log: Logger,
  ) {}

  /** Purges every `intervalMs`; with a fleet `locker`, only the replica that holds the job's lock does. */
  start(intervalMs: number, locker?: Locker): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.purgeOnce(locker).catch((err) => this.log.error({ err }, 'purging abandoned uploads failed; will retry'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async purgeOnce(locker: Locker | undefined): Promise<void> {
    if (!locker) {
      await this.purge();
      return;
    }
    const lease = await locker.tryLock('jobs/upload-purge');
    if (!lease) return; // another replica is purging
    try {
      await this.purge();
    } finally {
      await lease.release();
    }
  }

  /** Returns how many uploads were removed. */
  async purge(now = Date.now()): Promise<number> {
    const cutoff = now - this.maxIdleMs;
    const written = new Map<string, number>();
    for (const { id, modified } of await this.blobs.listUploads()) written.set(id, modified.getTime());
    let removed = 0;
    for (const upload of await this.meta.uploadsIdleSince(cutoff)) {
      if ((written.get(upload.id) ?? 0) >= cutoff) continue;
      await this.blobs.cancel(upload.state);
      await this.meta.transaction((tx) => tx.deleteUpload(upload.id));
      written.delete(upload.id);
      removed++;
    }
    // Data whose record is gone (or never made it: a crash between the two).
    for (const [id, modified] of written) {
      if (modified >= cutoff || (await this.meta.getUpload(id))) continue;
      await this.blobs.discardUpload(id);
      removed++;
    }
    if (removed > 0) this.log.info({ removed, maxIdleSeconds: this.maxIdleMs / 1000 }, 'purged abandoned uploads');
    return removed;
  }
}
