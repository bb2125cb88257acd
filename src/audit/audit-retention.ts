// audit.retentionDays: deletes audit log entries older than that, at start and then every hour,
// by one replica of a fleet (the one that takes the job's lock; the others skip that round).
import type { Logger } from 'pino';
import type { Locker } from '../coordination/coordination.js';
import type { AuditLog } from './audit-log.js';

const INTERVAL_MS = 3600_000;
const DAY_MS = 86_400_000;

export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly log: AuditLog,
    private readonly retentionDays: number,
    private readonly logger: Logger,
    private readonly locker?: Locker,
  ) {}

  /** Purges now and every hour; nothing when retention is 0 (keep forever). */
  start(): void {
    if (this.retentionDays <= 0) return;
    const round = () => {
      this.running ??= this.purgeOnce()
        .catch((err: unknown) => this.logger.error({ err }, 'could not delete old audit log entries; will retry in an hour'))
        .finally(() => (this.running = undefined));
    };
    round();
    this.timer = setInterval(round, INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  private async purgeOnce(): Promise<void> {
    const lease = this.locker ? await this.locker.tryLock('jobs/audit-retention') : undefined;
    if (this.locker && !lease) return; // another replica is purging
    try {
      await this.purge();
    } finally {
      await lease?.release();
    }
  }

  /** Deletes what is past retention; returns how many entries went. */
  async purge(now = Date.now()): Promise<number> {
    const removed = await this.log.deleteBefore(now - this.retentionDays * DAY_MS, this.stopping.signal);
    if (removed > 0) this.logger.info({ removed, retentionDays: this.retentionDays }, 'deleted audit log entries older than audit.retentionDays');
    return removed;
  }
}
