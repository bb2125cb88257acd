// Composition of the audit log from the `audit` configuration: the table (unless
// audit.skipDatabase), the forwarders to a file and to syslog, one fleet sink for each, and the
// retention job. server/compose-registry.ts adds the sinks to the event dispatcher.
import path from 'node:path';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/audit-log.js';
import { AuditRetention } from '../audit/audit-retention.js';
import type { AuditTarget } from '../audit/audit-target.js';
import { AuditFileForwarder } from '../audit/file-forwarder.js';
import { AuditSyslogForwarder } from '../audit/syslog-forwarder.js';
import type { Config } from '../config/schema.js';
import type { Locker } from '../coordination/coordination.js';
import { AuditLogSink } from '../events/audit-log-sink.js';
import type { EventSink } from '../events/events.js';
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';

export interface AuditParts {
  /** The reader of the audit log (empty with audit.skipDatabase): what the management API and the CLI query. */
  log: AuditLog;
  /** One fleet sink per destination, for the event dispatcher. */
  sinks: EventSink[];
  /** Starts the retention job. */
  start(): void;
  /** Stops the job and closes the forwarders' connections; after the dispatcher stopped. */
  close(): Promise<void>;
}

export function composeAudit(config: Config, dataDir: string, meta: MetadataStore, db: Db, log: Logger, locker?: Locker): AuditParts {
  const { audit } = config;
  const auditLog = new AuditLog(db, meta);
  const targets: AuditTarget[] = [];
  if (!audit.skipDatabase) targets.push(auditLog);
  else log.warn('the audit log is not kept in the database (audit.skipDatabase): the API and the CLI will find no entries; it goes only where audit.forward sends it');
  if (audit.forward.file !== undefined) {
    const file = path.resolve(dataDir, audit.forward.file);
    targets.push(new AuditFileForwarder(file));
    log.info({ file }, 'the audit log is also appended to a file (JSON lines)');
  }
  const { syslog } = audit.forward;
  if (syslog !== undefined) {
    targets.push(new AuditSyslogForwarder(syslog));
    log.info({ host: syslog.host, port: syslog.port, protocol: syslog.protocol }, 'the audit log is also sent to syslog (RFC 5424)');
  }
  const retention = new AuditRetention(auditLog, audit.skipDatabase ? 0 : audit.retentionDays, log, locker);
  return {
    log: auditLog,
    sinks: targets.map((target) => new AuditLogSink(meta, db, target)),
    start: () => retention.start(),
    async close() {
      await retention.stop();
      await Promise.all(targets.map((t) => t.close?.()));
    },
  };
}
