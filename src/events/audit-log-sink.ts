// The audit log's fleet sink: turns the outbox's events into audit records (audit/audit-events.ts:
// which events, in Harbor's vocabulary), resolves their projects by name, and hands them to one
// target (the audit_logs table, a file, syslog). One sink per target, each with its own stored
// cursor, so a target that fails holds back only itself; its batch is retried until it passes.
// Pulls arrive already folded by the event batcher (one `artifact.pulled` with a count per
// artifact and actor and second): the audit log costs no write per pull.
import type { AuditRecord } from '../audit/audit-record.js';
import { auditDrafts, LOOKBACK_EVENTS, needsLookback, type AuditDraft } from '../audit/audit-events.js';
import type { AuditTarget } from '../audit/audit-target.js';
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { EventSink, StoredEvent } from './events.js';

export class AuditLogSink implements EventSink {
  readonly scope = 'fleet';
  readonly name: string;

  constructor(
    private readonly meta: MetadataStore,
    private readonly db: Db,
    private readonly target: AuditTarget,
  ) {
    this.name = `audit-${target.name}`;
  }

  async deliver(batch: readonly StoredEvent[], signal: AbortSignal): Promise<void> {
    const first = batch[0];
    const before = first && needsLookback(batch) ? await this.meta.eventsAfter(Math.max(0, first.id - 1 - LOOKBACK_EVENTS), LOOKBACK_EVENTS) : [];
    const drafts = auditDrafts(batch, before);
    if (drafts.length === 0) return;
    await this.target.write(await this.withProjects(drafts), signal);
  }

  /** Project names to ids, one query per batch; null when no such project exists (now). */
  private async withProjects(drafts: readonly AuditDraft[]): Promise<AuditRecord[]> {
    const names = [...new Set(drafts.flatMap((d) => (d.project && 'name' in d.project ? [d.project.name] : [])))];
    const ids = new Map<string, number>();
    if (names.length > 0) {
      for (const row of await this.db.selectFrom('projects').select(['id', 'name']).where('name', 'in', names).execute()) ids.set(row.name, row.id);
    }
    return drafts.map(({ project, ...record }) => ({
      ...record,
      projectId: project === undefined ? null : 'id' in project ? project.id : (ids.get(project.name) ?? null),
    }));
  }
}
