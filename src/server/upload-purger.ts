// Deletes uploads nobody has written to for a while (clients that crashed or gave up), and
// upload records whose data is gone. Activity is the data file's modification time, so a slow
// but live upload is never cut off.
import type { Logger } from 'pino';
import type { RegistryMetadata } from '../metadata/registry-metadata.js';
import type { BlobStore } from '../storage/blob-store.js';

export class UploadPurger {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly blobs: BlobStore,
    private readonly meta: RegistryMetadata,
    private readonly maxIdleMs: number,
    private readonly log: Logger,
  ) {}

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.purge().catch((err) => this.log.error({ err }, 'purging abandoned uploads failed; will retry'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Returns how many uploads were removed. */
  async purge(now = Date.now()): Promise<number> {
    const cutoff = now - this.maxIdleMs;
    let removed = 0;
    const onDisk = new Set<string>();
    for (const { id, modified } of await this.blobs.listUploads()) {
      onDisk.add(id);
      if (modified.getTime() >= cutoff) continue;
      await this.blobs.cancelUpload(id);
      await this.meta.deleteUpload(id);
      removed++;
    }
    for (const id of await this.meta.uploadsCreatedBefore(cutoff)) {
      if (onDisk.has(id)) continue;
      await this.meta.deleteUpload(id);
      removed++;
    }
    if (removed > 0) this.log.info({ removed, maxIdleSeconds: this.maxIdleMs / 1000 }, 'purged abandoned uploads');
    return removed;
  }
}
