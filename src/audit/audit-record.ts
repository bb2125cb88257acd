// What the audit log records about one operation, in Harbor's vocabulary (its audit_log_ext:
// operation, resource_type, resource, username, op_time, result, description), plus who by
// stable id and from which address. Rows of the `audit_logs` table, lines of the forwarded file,
// messages sent to syslog and entries the reader returns are all this record.

/** One audited operation. Times are milliseconds since the epoch. */
export interface AuditRecord {
  /** The outbox event it came from: one event gives at most one record (redelivery is recognised by it). */
  eventId: number;
  opTime: number;
  /** The project a project-scoped operation concerns; null for system-level ones (users, logins, configuration) and repositories outside any project. */
  projectId: number | null;
  /** Harbor's: create, delete, update, pull, login, logout. */
  operation: string;
  /** Harbor's: artifact, tag, repository, project, member, robot, user, configuration (and blob, which Harbor does not audit). */
  resourceType: string;
  /** As Harbor writes it: `library/alpine:3.20`, `library/alpine@sha256:...`, a project, user or robot name. */
  resource: string;
  /** The actor's principal id; null for anonymous callers, the system and failed logins (whose name is only a claim). */
  principalId: number | null;
  /** The actor's name: a user, `robot$...`, "anonymous" or "system". */
  username: string;
  /** The client's address, when the operation came from a request. */
  address: string | null;
  success: boolean;
  /** What happened in words: the pull count, a tag's previous digest, why a login failed. */
  description: string;
}

/** A record as stored, with its row id (ordering ties of op_time). */
export interface AuditEntry extends AuditRecord {
  id: number;
}

/**
 * The event types minato records (what `GET /auditlog-exts/events` lists): Harbor's, in its order,
 * without delete_repository (minato has no repository delete yet), then minato's own.
 */
export const AUDIT_EVENT_TYPES = [
  'create_artifact',
  'delete_artifact',
  'pull_artifact',
  'create_project',
  'delete_project',
  'login_user',
  'logout_user',
  'create_user',
  'delete_user',
  'update_user',
  'create_robot',
  'delete_robot',
  'update_configuration',
  'create_member',
  'delete_member',
  'update_member',
  'update_project',
  'create_tag',
  'delete_tag',
  'update_robot',
  'delete_blob',
] as const;

/** Harbor's event type name of a record (`create_artifact`, `login_user`): audit_log_ext's, and the syslog MSGID. */
export function eventTypeOf(record: Pick<AuditRecord, 'operation' | 'resourceType'>): string {
  return `${record.operation}_${record.resourceType}`;
}

/** The record as one JSON object (the forwarded line): snake_case as Harbor's API, ISO time. */
export function recordJson(record: AuditRecord): Record<string, unknown> {
  return {
    event_id: record.eventId,
    op_time: new Date(record.opTime).toISOString(),
    event_type: eventTypeOf(record),
    operation: record.operation,
    resource_type: record.resourceType,
    resource: record.resource,
    project_id: record.projectId,
    username: record.username,
    principal_id: record.principalId,
    address: record.address,
    success: record.success,
    description: record.description,
  };
}
