// Picks up a certificate that someone else put in the asset store: another replica that
// renewed, or another process on the same data directory. Polls one modification time (one
// cheap lookup per interval) and, when it moved, asks the provider to adopt what is stored.
import type { Logger } from 'pino';

export interface StoreWatchOptions {
  /** When the watched certificate was last stored. */
  modified(): Promise<number | undefined>;
  /** Loads and serves the stored certificate when it should be; false to look again next time (e.g. a save half done). */
  adopt(): Promise<boolean>;
  intervalMs: number;
  log: Logger;
}

export class StoreWatch {
  private timer: NodeJS.Timeout | undefined;
  private seen: number | undefined;
  private checking = false;
  private failing = false;

  constructor(private readonly opts: StoreWatchOptions) {}

  /** Starts polling; `seen` is the modification time of what is served now (or undefined). */
  start(seen: number | undefined): void {
    this.seen = seen;
    this.timer = setInterval(() => void this.check(), Math.max(1000, this.opts.intervalMs));
    this.timer.unref();
  }

  /** Records a modification time already dealt with (this process stored it, or loaded it). */
  saw(modified: number | undefined): void {
    this.seen = modified;
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = await this.opts.modified();
      if (this.failing) this.opts.log.info('the certificate store answers again');
      this.failing = false;
      if (now === undefined || now === this.seen) return;
      if (await this.opts.adopt()) this.seen = now;
    } catch (err) {
      if (!this.failing) this.opts.log.warn({ err: (err as Error).message }, 'cannot check the certificate store for a newer certificate; still serving the current one, and trying again');
      this.failing = true;
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
