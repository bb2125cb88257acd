// Keeps this replica's metadata caches right when other replicas change things: every replica
// applies every event to its own caches (metadata/cached-metadata-store.ts).
import type { EventSink, StoredEvent } from './events.js';

export class CacheInvalidationSink implements EventSink {
  readonly name = 'cache-invalidation';
  readonly scope = 'replica';

  constructor(private readonly cache: { apply(events: readonly StoredEvent[]): void }) {}

  async deliver(batch: readonly StoredEvent[]): Promise<void> {
    this.cache.apply(batch);
  }
}
