// audit.forward.file: every audit record as one JSON line, appended to a file an operator ships
// or greps. Each batch opens the file, appends, syncs and closes it: rotation needs no signal
// (after logrotate renames the file, the next batch creates a new one; copytruncate works too, as
// writes append), and a batch is acknowledged only once it is on disk. At least once: after a
// crash the last batch may appear twice; each line carries its event_id to tell.
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { recordJson, type AuditRecord } from './audit-record.js';
import type { AuditTarget } from './audit-target.js';

export class AuditFileForwarder implements AuditTarget {
  readonly name = 'file';

  constructor(private readonly file: string) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const handle = await open(this.file, 'a', 0o600);
    try {
      await handle.writeFile(records.map((r) => JSON.stringify(recordJson(r))).join('\n') + '\n');
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
}
