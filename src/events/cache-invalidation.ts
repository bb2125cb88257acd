// Keeps this process's caches right when another process changes things: every replica (and the
// embedded server, when the CLI changes users) applies every event to its own caches. Today:
// cached logins are dropped when a user's password changes or the user is deleted, and the
// access snapshot (projects, members, robots, admins) is rebuilt when another process changed it,
// and so are the tag rules (immutability snapshot, retention schedules). (Metadata is
// not cached when several replicas share the database: metadata/cached-metadata-store.ts.)
import type { EventSink, StoredEvent } from './events.js';

export interface InvalidatedCaches {
  /** Users changed: the origins of the changes (cached logins of this process may be stale). */
  usersChanged?(origins: readonly string[]): void;
  /** Projects, members, robots or users changed: the origins of the changes (the access snapshot may be stale). */
  accessChanged?(origins: readonly string[]): void;
  /** A project's immutability rules or retention policy changed: the origins of the changes, by kind. */
  tagRulesChanged?(kind: 'immutable' | 'retention', origins: readonly string[]): void;
  /** A CVE allowlist changed: the origins of the changes (the vulnerability gate decides again). */
  allowlistChanged?(origins: readonly string[]): void;
}

const ACCESS_EVENTS = new Set(['project.changed', 'member.changed', 'robot.changed', 'user.changed']);

export class CacheInvalidationSink implements EventSink {
  readonly name = 'cache-invalidation';
  readonly scope = 'replica';

  constructor(private readonly caches: InvalidatedCaches) {}

  async deliver(batch: readonly StoredEvent[]): Promise<void> {
    const origins = batch.flatMap((e) => (e.type === 'user.changed' ? [e.origin] : []));
    if (origins.length > 0) this.caches.usersChanged?.(origins);
    const access = batch.flatMap((e) => (ACCESS_EVENTS.has(e.type) && 'origin' in e ? [e.origin] : []));
    if (access.length > 0) this.caches.accessChanged?.(access);
    const allowlists = batch.flatMap((e) => (e.type === 'cve-allowlist.changed' ? [e.origin] : []));
    if (allowlists.length > 0) this.caches.allowlistChanged?.(allowlists);
    for (const kind of ['immutable', 'retention'] as const) {
      const rules = batch.flatMap((e) => (e.type === 'tag-rules.changed' && e.kind === kind ? [e.origin] : []));
      if (rules.length > 0) this.caches.tagRulesChanged?.(kind, rules);
    }
  }
}
