// The optional JSON-lines event log (events.log): every event, one JSON object per line, appended
// to a file an operator can tail, ship or grep. Delivered at least once: after a crash the last
// batch may appear twice (each line carries the event's outbox id to tell).
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EventSink, StoredEvent } from './events.js';

export class EventLogSink implements EventSink {
  readonly name = 'event-log';
  readonly scope = 'fleet';

  constructor(private readonly file: string) {}

  async deliver(batch: readonly StoredEvent[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, batch.map((e) => JSON.stringify(e)).join('\n') + '\n', { mode: 0o600 });
  }
}
