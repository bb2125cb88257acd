// Which registry events the audit log records, and how: Harbor's vocabulary (harbor-layer.md
// §1.6; create/delete/pull artifact, create/delete tag, create/update/delete project, member,
// robot and user, login/logout user, update configuration), with Harbor's resource spelling
// (`library/alpine:3.20`, `library/alpine@sha256:...`). Pure: no I/O; the project of a
// repository is named here and resolved to its id by the caller (audit/audit-projects.ts).
//
// Beyond Harbor: changes of immutability rules and retention policies.
//
// Not recorded: blob pushes and mounts (the layers of an artifact push, which its manifest's row
// records, as Harbor does), quota warnings (notifications, not operations) and certificates.
import { projectOf } from '../auth/access-control.js';
import { isRoleId, ROLE_DISPLAY } from '../auth/rbac.js';
import type { Actor, StoredEvent } from '../events/events.js';
import type { AuditRecord } from './audit-record.js';

/** A record whose project is still a name (repository events) or already an id (project events). */
export type AuditDraft = Omit<AuditRecord, 'projectId'> & { project?: { name: string } | { id: number } };

/** Claimed names (a failed login's user) are cut to this length: a hostile client chooses them. */
const MAX_CLAIMED_NAME = 255;

/**
 * How many events before a batch are read to recognise its first events as the tag events of a
 * manifest event in the previous batch (see coveredTagEvents). A manifest deleted with more tags
 * than this, split by a batch boundary, gets some tag rows of its own: extra rows, nothing lost.
 */
export const LOOKBACK_EVENTS = 100;

/** Whether the first events of a batch may need the events before it (coveredTagEvents). */
export function needsLookback(batch: readonly StoredEvent[]): boolean {
  const first = batch[0];
  return first !== undefined && (first.type === 'tag.updated' || first.type === 'tag.deleted');
}

/**
 * The audit drafts of a batch of events, in order; at most one per event. `before`: the events
 * just before the batch, read when needsLookback says so (they give no drafts of their own).
 */
export function auditDrafts(batch: readonly StoredEvent[], before: readonly StoredEvent[] = []): AuditDraft[] {
  const covered = coveredTagEvents([...before.filter((e) => e.id < (batch[0]?.id ?? 0)), ...batch]);
  const drafts: AuditDraft[] = [];
  for (const event of batch) {
    if (covered.has(event.id)) continue;
    const draft = auditDraft(event);
    if (draft) drafts.push(draft);
  }
  return drafts;
}

/**
 * A push by tag writes `manifest.pushed` and `tag.updated` in one transaction, a delete by digest
 * `manifest.deleted` and one `tag.deleted` per tag: Harbor records one row for each (the
 * artifact's), and so do we. A tag event is covered by the manifest event of its transaction:
 * consecutive outbox ids, the same time, repository and digest; a new tag of the pushed manifest
 * (a moved tag keeps its row: "moved from" is worth knowing), or one of the deleted manifest's tags.
 */
function coveredTagEvents(events: readonly StoredEvent[]): Set<number> {
  const covered = new Set<number>();
  let head: Extract<StoredEvent, { type: 'manifest.pushed' | 'manifest.deleted' }> | undefined;
  let previousId = -1;
  for (const e of events) {
    const consecutive = e.id === previousId + 1;
    previousId = e.id;
    const sameChange = (t: { at: string; repository: string; digest: string }) =>
      consecutive && head !== undefined && t.at === head.at && t.repository === head.repository && t.digest === head.digest;
    if (e.type === 'manifest.pushed' || e.type === 'manifest.deleted') head = e;
    else if (e.type === 'tag.updated' && head?.type === 'manifest.pushed' && sameChange(e) && head.tag === e.tag && e.previous === undefined) covered.add(e.id);
    else if (e.type === 'tag.deleted' && head?.type === 'manifest.deleted' && sameChange(e) && head.tags.includes(e.tag)) covered.add(e.id);
    else head = undefined;
  }
  return covered;
}

/** The draft of one event, or undefined for an event the audit log does not record. */
export function auditDraft(event: StoredEvent): AuditDraft | undefined {
  const base = { eventId: event.id, opTime: opTime(event.at), ...who(event.actor), success: true };
  switch (event.type) {
    case 'manifest.pushed':
      return {
        ...base,
        ...artifact(event.repository, event.tag, event.digest),
        operation: 'create',
        description: `pushed ${event.digest} (${event.mediaType}, ${event.size} bytes)`,
      };
    case 'manifest.deleted':
      return {
        ...base,
        ...artifact(event.repository, undefined, event.digest),
        operation: 'delete',
        description: event.tags.length > 0 ? `deleted with its tags ${event.tags.join(', ')}` : 'deleted (it had no tags)',
      };
    case 'tag.updated':
      return {
        ...base,
        ...tag(event.repository, event.tag),
        operation: 'create',
        description: event.previous === undefined ? `points to ${event.digest}` : `moved from ${event.previous} to ${event.digest}`,
      };
    case 'tag.deleted':
      return { ...base, ...tag(event.repository, event.tag), operation: 'delete', description: `pointed to ${event.digest}` };
    case 'artifact.pulled':
      return {
        ...base,
        ...artifact(event.repository, event.tag, event.digest),
        operation: 'pull',
        description: `${event.count} ${event.count === 1 ? 'pull' : 'pulls'} of ${event.digest}`,
      };
    case 'blob.deleted':
      return {
        ...base,
        resourceType: 'blob',
        resource: `${event.repository}@${event.digest}`,
        project: { name: projectOf(event.repository) },
        operation: 'delete',
        description: 'removed from the repository',
      };
    case 'auth.login':
      if (event.ok) return { ...base, resourceType: 'user', resource: event.user, operation: 'login', description: 'signed in' };
      // The name is what the client claimed: no principal id for it, and cut to a sane length.
      return {
        ...base,
        principalId: null,
        username: claimed(event.user),
        resourceType: 'user',
        resource: claimed(event.user),
        operation: 'login',
        success: false,
        description: loginFailure(event.reason),
      };
    case 'auth.logout':
      return { ...base, resourceType: 'user', resource: event.user, operation: 'logout', description: 'signed out' };
    case 'user.changed':
      return {
        ...base,
        resourceType: 'user',
        resource: event.user,
        operation: event.change === 'created' ? 'create' : event.change === 'deleted' ? 'delete' : 'update',
        description: event.change === 'password' ? 'password set' : '',
      };
    case 'project.changed':
      return { ...base, resourceType: 'project', resource: event.project, project: { id: event.projectId }, operation: crud(event.change), description: '' };
    case 'member.changed':
      return {
        ...base,
        resourceType: 'member',
        resource: event.member,
        project: { id: event.projectId },
        operation: crud(event.change),
        description: event.role !== undefined && isRoleId(event.role) ? `role ${ROLE_DISPLAY[event.role]}` : '',
      };
    case 'robot.changed':
      return {
        ...base,
        resourceType: 'robot',
        resource: event.robot,
        project: event.project === undefined ? undefined : { name: event.project },
        operation: event.change === 'secret' ? 'update' : crud(event.change),
        description: event.change === 'secret' ? 'secret refreshed' : '',
      };
    case 'config.changed':
      return { ...base, resourceType: 'configuration', resource: 'configuration', operation: 'update', description: `changed ${event.keys.join(', ')}` };
    case 'gc.completed':
      return {
        ...base,
        resourceType: 'garbage-collection',
        resource: String(event.runId),
        operation: event.dryRun ? 'dry-run' : 'delete',
        description: `${event.dryRun ? 'would free' : 'freed'} ${event.bytes} bytes: ${event.manifests} manifests, ${event.blobs} blobs (${event.status}, ${event.seconds.toFixed(1)} s)`,
      };
    // Harbor's log does not record these changes (its event list has no rule types); a rule that
    // makes tags immutable or deletes them is worth knowing who changed it, and when.
    case 'tag-rules.changed':
      return {
        ...base,
        resourceType: event.kind === 'immutable' ? 'immutable-rule' : 'retention-policy',
        resource: event.ruleId === undefined ? event.project : String(event.ruleId),
        project: { id: event.projectId },
        operation: crud(event.change ?? 'updated'),
        description: event.kind === 'immutable' ? 'tag immutability rule' : 'tag retention policy',
      };
    case 'signature.unverified':
      return {
        ...base,
        ...artifact(event.repository, event.tag, event.digest),
        operation: 'pull',
        description: `${event.level === 'warn' ? 'served' : 'served (audit only)'} without a valid signature: ${event.reason}`.slice(0, 1000),
      };
    case 'trust-policy.changed':
      return { ...base, resourceType: 'project', resource: event.project, project: { name: event.project }, operation: 'update', description: `trust policy changed (version ${event.version})` };
    case 'blob.pushed':
    case 'blob.mounted':
    case 'quota.warning':
    case 'quota.exceeded':
    case 'cert.obtained':
    case 'cert.failed':
    // A run's summary is not an operation on a resource; the deletes a retention run makes are
    // recorded one by one, by the retention job.
    case 'retention.completed':
    case 'cve-allowlist.changed':
      return undefined;
    case 'vulnerability.gated':
      return {
        ...base,
        ...artifact(event.repository, undefined, event.digest),
        operation: 'pull',
        success: event.outcome !== 'denied',
        description: `vulnerability policy ${event.outcome} the pull (${event.severity}, threshold ${event.threshold}${event.cves.length > 0 ? `: ${event.cves.slice(0, 10).join(', ')}` : ''})`,
      };
  }
}

function artifact(repository: string, tagName: string | undefined, digest: string) {
  return { resourceType: 'artifact', resource: tagName === undefined ? `${repository}@${digest}` : `${repository}:${tagName}`, project: { name: projectOf(repository) } };
}

function tag(repository: string, tagName: string) {
  return { resourceType: 'tag', resource: `${repository}:${tagName}`, project: { name: projectOf(repository) } };
}

function crud(change: 'created' | 'updated' | 'deleted'): string {
  return change === 'created' ? 'create' : change === 'deleted' ? 'delete' : 'update';
}

function who(actor: Actor): Pick<AuditRecord, 'principalId' | 'username' | 'address'> {
  return {
    principalId: actor.id ?? null,
    username: actor.name ?? (actor.kind === 'system' ? 'system' : 'anonymous'),
    address: actor.address ?? null,
  };
}

function claimed(name: string): string {
  return name === '' ? 'anonymous' : name.slice(0, MAX_CLAIMED_NAME);
}

function loginFailure(reason: string | undefined): string {
  if (reason === 'password' || reason === undefined) return 'wrong user name or password';
  if (reason === 'throttled') return 'refused: too many failed logins from this address';
  return `refused: ${reason}`;
}

function opTime(at: string): number {
  const t = Date.parse(at);
  return Number.isFinite(t) ? t : Date.now();
}
