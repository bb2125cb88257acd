// Typed domain events: every change the registry makes is described by one, written to the
// outbox in the same transaction as the change (MetadataTx.appendEvents), then delivered at least
// once, in order, to sinks (events/dispatcher.ts). Consumers: cache invalidation across replicas,
// the JSON-lines event log; later the audit log, webhooks, replication and scan triggers.
//
// Events carry principal ids, never only names (names change; ids do not).

/** Who caused an event. `id` is the principal's stable id (absent for anonymous and the system). */
export interface Actor {
  kind: 'anonymous' | 'user' | 'robot' | 'system';
  id?: number;
  name?: string;
  /** The client's address (behind trusted proxies, the one they forwarded). */
  address?: string;
}

interface Base {
  /** ISO 8601 time of the change. */
  at: string;
  actor: Actor;
}

export type RegistryEvent = Base &
  (
    | { type: 'blob.pushed'; repository: string; digest: string; size: number }
    | { type: 'blob.mounted'; repository: string; digest: string; size: number; from: string }
    | { type: 'blob.deleted'; repository: string; digest: string }
    | { type: 'manifest.pushed'; repository: string; digest: string; mediaType: string; size: number; tag?: string; subject?: string }
    | { type: 'manifest.deleted'; repository: string; digest: string; tags: string[] }
    | { type: 'tag.updated'; repository: string; tag: string; digest: string; previous?: string }
    | { type: 'tag.deleted'; repository: string; tag: string; digest: string }
    | { type: 'artifact.pulled'; repository: string; digest: string; tag?: string; count: number }
    | { type: 'auth.login'; user: string; ok: boolean; reason?: string }
    | { type: 'auth.logout'; user: string }
    /** `origin`: the process that made the change (it has already applied it to itself). */
    | { type: 'user.changed'; user: string; userId?: number; change: 'created' | 'password' | 'updated' | 'deleted'; origin: string }
    | { type: 'project.changed'; project: string; projectId: number; change: 'created' | 'updated' | 'deleted'; origin: string }
    /** A member's role in a project (`role`: Harbor's role id; absent when deleted). */
    | { type: 'member.changed'; project: string; projectId: number; member: string; memberId: number; role?: number; change: 'created' | 'updated' | 'deleted'; origin: string }
    /** `project`: absent for a system robot. `secret`: its secret was refreshed. */
    | { type: 'robot.changed'; robot: string; robotId: number; project?: string; change: 'created' | 'updated' | 'secret' | 'deleted'; origin: string }
    /** Storage usage of a project reached 85 % of its quota (warning) or a push would have passed it (exceeded). */
    | { type: 'quota.warning' | 'quota.exceeded'; project: string; projectId: number; usedBytes: number; limitBytes: number; repository?: string }
    | { type: 'config.changed'; keys: string[]; origin: string }
    /** A garbage collection run ended (gc/): what it reclaimed (a dry run: what it would). */
    | { type: 'gc.completed'; runId: number; dryRun: boolean; status: 'succeeded' | 'stopped'; manifests: number; blobs: number; bytes: number; seconds: number }
    /** A project's immutability rules or retention policy changed (every process reloads them). */
    /** `change` and `ruleId` are absent from events written before they were recorded. */
    | { type: 'tag-rules.changed'; kind: 'immutable' | 'retention'; change?: 'created' | 'updated' | 'deleted'; ruleId?: number; project: string; projectId: number; origin: string }
    /** A CVE allowlist changed (projectId 0: the system's): every process's vulnerability gate decides again. */
    | { type: 'cve-allowlist.changed'; projectId: number; project?: string; origin: string }
    /** The vulnerability gate found a pulled artifact above its project's threshold: refused (enforce) or served (warn, audit). */
    | { type: 'vulnerability.gated'; repository: string; digest: string; level: 'enforce' | 'warn' | 'audit'; outcome: 'denied' | 'warned' | 'audited'; severity: string; threshold: string; cves: string[] }
    /** A retention run ended (Harbor's TAG_RETENTION): what it kept and deleted (or would have, in a dry run). */
    | { type: 'retention.completed'; project: string; projectId: number; policyId: number; executionId: number; dryRun: boolean; status: string; total: number; retained: number; deleted: number }
    /** A project's trust policy (enforcement level, keys, identities) changed (every process reloads it; trust/). */
    | { type: 'trust-policy.changed'; project: string; projectId: number; version: number; origin: string }
    /** A manifest was served (warn) or would have been refused (audit) without a valid signature under its project's trust policy. */
    | { type: 'signature.unverified'; repository: string; digest: string; tag?: string; level: 'audit' | 'warn'; reason: string }
    | { type: 'cert.obtained'; names: string[]; notAfter: string; issuer: string }
    | { type: 'cert.failed'; names: string[]; error: string }
  );

export type EventType = RegistryEvent['type'];

/** An event as read back from the outbox: its id orders it (per repository and overall). */
export type StoredEvent = RegistryEvent & { id: number };

/** The actor of what the registry does by itself (certificates, changes made through the CLI). */
export const SYSTEM_ACTOR: Actor = { kind: 'system' };

/** An event's time (`at`). */
export function eventTime(): string {
  return new Date().toISOString();
}

/** The repository an event concerns, if any (delivery is in order per repository). */
export function eventRepository(event: RegistryEvent): string | undefined {
  return 'repository' in event ? event.repository : undefined;
}

/**
 * Where events go. `deliver` gets batches in outbox order; it resolves once the batch is handled
 * (written, sent, applied). It may be called again with the same events after a crash or a
 * failure (at least once): sinks must be idempotent or tolerate repeats. A rejection is retried
 * with backoff; the batch is never skipped. `signal` aborts on shutdown.
 */
export interface EventSink {
  readonly name: string;
  /**
   * 'fleet': one delivery per fleet (the dispatcher holds a fleet-wide lease and a stored cursor),
   * e.g. the event log, the audit log, webhooks. 'replica': every replica applies every event
   * (cache invalidation), starting from the newest event at start-up.
   */
  readonly scope: 'fleet' | 'replica';
  deliver(batch: readonly StoredEvent[], signal: AbortSignal): Promise<void>;
}
