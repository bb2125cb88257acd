// A retention task's log as text, in the columns Harbor's log has (digest, tag, kind, pushed,
// pulled and created times, RETAIN or DEL), plus why: what `GET .../tasks/{tid}` answers and
// what `minato retention run --dry-run` prints.
import type { TaskLogItem } from './retention-job.js';

const time = (ms: number | null) => (ms === null || ms === 0 ? '-' : new Date(ms).toISOString().slice(0, 19).replace('T', ' '));

/** Aligned columns, one artifact per line. */
export function formatTaskLog(repository: string, items: readonly TaskLogItem[]): string {
  const header = ['DIGEST', 'TAGS', 'KIND', 'PUSHED', 'PULLED', 'CREATED', 'RETENTION', 'WHY'];
  const rows = items.map((i) => [
    i.digest,
    i.tags.length ? i.tags.join(',') : '<none>',
    i.mediaType.replace(/^application\/vnd\./, ''),
    time(i.pushedAt),
    time(i.pulledAt),
    time(i.createdAt),
    i.error ? `${i.action} (failed)` : i.action,
    i.error ?? i.reason,
  ]);
  const widths = header.map((_, c) => Math.max(...[header, ...rows].map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((v, c) => (c === cells.length - 1 ? v : v.padEnd(widths[c]!))).join('  ').trimEnd();
  const deleted = items.filter((i) => i.action === 'DEL' && !i.error).length;
  return [`repository ${repository}: ${items.length} artifact(s), ${items.length - deleted} retained, ${deleted} deleted`, line(header), ...rows.map(line), ''].join('\n');
}
