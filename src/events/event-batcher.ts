// Events that describe no change of their own (a pull, a login, a certificate obtained) are not
// worth a write transaction each: they are gathered here and written to the outbox in one
// transaction per interval. Repeated pulls of one artifact by one actor within an interval become
// one `artifact.pulled` event with a count. A crash loses at most the last interval's events.
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { eventTime, type Actor, type RegistryEvent } from './events.js';

/** Events gathered before a write is forced, whatever the interval. */
const MAX_PENDING = 1000;

export class EventBatcher {
  private pending: RegistryEvent[] = [];
  private readonly pulls = new Map<string, Extract<RegistryEvent, { type: 'artifact.pulled' }>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly meta: MetadataStore,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /**
   * One pull of an artifact: counted into the pending event of the same artifact, actor and
   * address, so that a hot manifest's pulls cost a string key and a map lookup, no event each.
   * The address is part of the key because the audit log says where pulls came from: one user's
   * credentials used from a second address within the same second are a second event.
   */
  pulled(repository: string, digest: string, tag: string | undefined, actor: Actor): void {
    const key = `${repository}\n${digest}\n${tag ?? ''}\n${actor.kind}\n${actor.name ?? ''}\n${actor.address ?? ''}`;
    const seen = this.pulls.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    const event: Extract<RegistryEvent, { type: 'artifact.pulled' }> = { type: 'artifact.pulled', at: eventTime(), actor, repository, digest, tag, count: 1 };
    this.pulls.set(key, event);
    this.add(event);
  }

  add(event: RegistryEvent): void {
    this.pending.push(event);
    if (this.pending.length >= MAX_PENDING) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes what is pending (one transaction). Never throws: a failure is logged and the events kept for the next try. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pulls.clear();
    this.flushing = this.withActorIds(batch)
      .then(() => this.meta.transaction((tx) => tx.appendEvents(batch)))
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message, events: batch.length }, 'could not write events to the outbox; will retry');
        this.pending = [...batch, ...this.pending].slice(-MAX_PENDING * 10);
        if (!this.timer) {
          this.timer = setTimeout(() => void this.flush(), this.intervalMs);
          this.timer.unref();
        }
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  /** Events carry principal ids: looked up here (cached by the store), not on the request's path. */
  private async withActorIds(batch: RegistryEvent[]): Promise<void> {
    for (const event of batch) {
      const { actor } = event;
      if (actor.id === undefined && (actor.kind === 'user' || actor.kind === 'robot') && actor.name) {
        event.actor = { kind: actor.kind, id: (await this.meta.principal(actor.kind, actor.name)).id, name: actor.name, address: actor.address };
      }
    }
  }
}
