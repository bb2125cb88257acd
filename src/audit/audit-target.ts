// Where audit records go: the database (audit/audit-log.ts), a JSON-lines file
// (audit/file-forwarder.ts), syslog (audit/syslog-forwarder.ts). Each target is fed by a fleet
// sink of its own (events/audit-log-sink.ts), with its own stored cursor: a syslog server that is
// down holds back only the syslog forwarding, which resumes where it stopped.
import type { AuditRecord } from './audit-record.js';

/**
 * One destination of audit records.
 * Concurrency: `write` is called by one sink, one batch at a time, in outbox order.
 * Idempotency: a batch may be written again after a crash or a failure (at least once); a target
 * either recognises repeats (the database, by event id) or passes them on (each record carries
 * its event id, so a reader can tell).
 * Errors: `write` rejects when the records did not reach the target; the batch is retried with
 * backoff and never skipped. Cost: called off the request path (the dispatcher's loop).
 */
export interface AuditTarget {
  /** Names the sink and its stored cursor: "database", "file", "syslog". */
  readonly name: string;
  write(records: readonly AuditRecord[], signal: AbortSignal): Promise<void>;
  /** Releases connections or handles (after the dispatcher stopped). Idempotent. */
  close?(): Promise<void>;
}
