// The `audit` config section (config/schema.ts embeds it; docs/configuration.md documents it from
// these describes): retention of the audit log and where it is forwarded.
import { z } from 'zod';

export const auditConfigSchema = z
  .strictObject({
    retentionDays: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe(
        'Delete audit log entries older than this many days (checked at start and every hour, by one replica). ' +
          '0 keeps them forever: an audit log that deletes itself unasked is no audit log, and Harbor keeps its own until a purge is scheduled. ' +
          'Pulls are folded (one entry per artifact, client and second), so a busy registry still grows by about 350 bytes per entry (with its indexes): set a retention when the database should stay bounded.',
      ),
    skipDatabase: z
      .boolean()
      .default(false)
      .describe(
        "Forward the audit log only (Harbor's skip_audit_log_database): nothing is written to the database, and the API and CLI find no entries. Needs audit.forward.file or audit.forward.syslog.",
      ),
    forward: z
      .strictObject({
        file: z
          .string()
          .optional()
          .describe(
            'Also append every audit entry as one JSON line (op_time, event_type, operation, resource_type, resource, project_id, username, principal_id, address, success, description, event_id) to this file; a relative path is under the data directory. ' +
              'Each batch is opened, appended, synced and closed, so logrotate needs no signal (rename or copytruncate).',
          ),
        syslog: z
          .strictObject({
            host: z
              .string()
              .min(1)
              .describe(
                "Also send every audit entry to this syslog server (name or address) as an RFC 5424 message, as Harbor's audit_log_forward_endpoint does: APP-NAME audit, facility 13 (log audit), severity info (notice when the operation failed), " +
                  'MSGID the event type (create_artifact, login_user, ...), the fields as structured data [audit@32473 ...] and as JSON in MSG.',
              ),
            port: z.number().int().min(1).max(65535).default(514).describe('The port the syslog server listens on (514 is the usual one for both protocols).'),
            protocol: z
              .enum(['tcp', 'udp'])
              .default('tcp')
              .describe('tcp: octet-counted frames (RFC 6587) on one connection, reconnected with backoff, nothing skipped while the server is down; udp: one datagram per entry, lost if the server is not there.'),
          })
          .optional()
          .describe('Syslog forwarding (unset: none).'),
      })
      .prefault({})
      .describe('Where the audit log goes besides the database; each destination resumes where it stopped after an outage.'),
  })
  .prefault({})
  .describe(
    'The audit log: pushes, pulls, deletes, tag changes, logins (failed ones too), and changes of projects, members, robots, users and the configuration, with who, from which address, when and the result; fed by the events.',
  );

export type AuditConfig = z.output<typeof auditConfigSchema>;
