// Delivers the outbox to sinks: at least once, in outbox order (so in order per repository).
//
// A 'replica' sink (cache invalidation) gets every event committed after this process started,
// from a cursor kept in memory. A 'fleet' sink (the event log, later audit and webhooks) is
// delivered by one replica at a time: the one holding the sink's lock, from a cursor stored in
// the metadata store after each batch. A crash between delivery and the stored cursor delivers
// that batch again (at least once). A failed delivery is retried with backoff; nothing is skipped.
import type { Logger } from 'pino';
import type { Locker, Lease } from '../coordination/coordination.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { sleep } from '../util/async.js';
import type { EventSink } from './events.js';

const BATCH = 500;
const MAX_BACKOFF_MS = 30_000;

export interface DispatcherOptions {
  /** How often the outbox is read when it had nothing new. */
  pollIntervalMs: number;
  /** Fleet-wide locks; without one (embedded), this process delivers every fleet sink. */
  locker?: Locker;
  /** Delivered events older than this are deleted from the outbox. */
  retentionMs: number;
}

export class EventDispatcher {
  private readonly stop = new AbortController();
  private readonly running: Array<Promise<void>> = [];

  constructor(
    private readonly meta: MetadataStore,
    private readonly sinks: readonly EventSink[],
    private readonly log: Logger,
    private readonly options: DispatcherOptions,
  ) {}

  async start(): Promise<void> {
    const startAt = await this.meta.lastEventId();
    for (const sink of this.sinks) {
      const run: Promise<unknown> = sink.scope === 'replica' ? this.deliverFrom(sink, startAt) : this.deliverAsLeader(sink);
      this.running.push(
        run.then(
          () => undefined,
          (err: unknown) => {
            if (!this.stop.signal.aborted) this.log.error({ err, sink: sink.name }, 'event delivery stopped');
          },
        ),
      );
    }
    this.running.push(this.prune());
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled(this.running);
  }

  /** Delivers to a sink from `cursor` on, until stopped (or the lease is lost). Returns the cursor reached. */
  private async deliverFrom(sink: EventSink, cursor: number, lease?: Lease, saveCursor?: (id: number) => Promise<void>): Promise<number> {
    const signal = lease ? AbortSignal.any([this.stop.signal, lease.signal]) : this.stop.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const batch = await this.meta.eventsAfter(cursor, BATCH);
        if (batch.length === 0) {
          await sleep(this.options.pollIntervalMs, signal).catch(() => undefined);
          continue;
        }
        await sink.deliver(batch, signal);
        cursor = batch[batch.length - 1]!.id;
        await saveCursor?.(cursor);
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const backoff = Math.min(MAX_BACKOFF_MS, this.options.pollIntervalMs * 2 ** failures);
        this.log.warn({ err: (err as Error).message, sink: sink.name, retryInSeconds: backoff / 1000 }, 'could not deliver events; will retry the same batch');
        await sleep(backoff, signal).catch(() => undefined);
      }
    }
    return cursor;
  }

  /** Holds the sink's fleet lock (waiting for it while another replica has it), delivering meanwhile. */
  private async deliverAsLeader(sink: EventSink): Promise<void> {
    const key = `events/${sink.name}`;
    while (!this.stop.signal.aborted) {
      const lease = this.options.locker ? await this.options.locker.lock(key, this.stop.signal).catch(() => undefined) : undefined;
      if (this.options.locker && !lease) return;
      try {
        const save = (id: number) => this.meta.saveEventCursor(sink.name, id);
        let cursor = await this.meta.eventCursor(sink.name);
        if (cursor === undefined) {
          // A new sink starts from now, and says so at once: events written before its first
          // delivery (by the CLI while the server is down, before a restart) are not skipped later.
          cursor = await this.meta.lastEventId();
          await save(cursor);
        }
        await this.deliverFrom(sink, cursor, lease, save);
      } finally {
        await lease?.release();
      }
      if (!this.options.locker) return;
    }
  }

  /** Deletes events past their retention, once an hour (and at start). */
  private async prune(): Promise<void> {
    while (!this.stop.signal.aborted) {
      await this.meta.pruneEvents(Date.now() - this.options.retentionMs).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not prune old events'));
      await sleep(3600_000, this.stop.signal).catch(() => undefined);
    }
  }
}
