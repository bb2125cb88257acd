// `minato vulndb import FILE [--format osv|debian|alpine]` and `minato vulndb status`: the
// vulnerability data the built-in scanner matches against, imported offline from files (OSV
// exports, Debian's security tracker JSON, Alpine's secdb). They work on the database of the
// configuration (--config/--data; a running server's too: SQLite's WAL lets both write, and
// PostgreSQL is shared anyway). An import shows progress (a bar on a terminal, a line per 10 %
// otherwise), then re-matches the stored inventories of scanned images against the new data (no
// layers are read) and prints what changed. Exit code 1 when the file could not be imported.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import pino from 'pino';
import type { Config } from '../config/schema.js';
import { ensureDataDir } from '../server/compose.js';
import { openMetadata } from '../server/compose-registry.js';
import { matchWith } from '../scan/builtin-scanner.js';
import { ScanReports } from '../scan/reports.js';
import { rematchStored } from '../scan/scan-service.js';
import { importVulnData, VULN_FORMATS, type ImportProgress, type VulnFormat } from '../scan/vulndb/importer.js';
import { VulnDb } from '../scan/vulndb/store.js';
import type { CliHelpers } from './ca-commands.js';
import { table } from './content-commands.js';
import { UsageError } from './remote.js';

type Flags = { json?: boolean; format?: string };

async function withVulnDb<T>(config: Config, fn: (db: VulnDb, reports: ScanReports) => Promise<T>): Promise<T> {
  const dataDir = await ensureDataDir(config);
  const { meta, db } = await openMetadata(config, dataDir, pino({ level: 'warn' }, pino.destination(2)));
  try {
    return await fn(new VulnDb(db), new ScanReports(db));
  } finally {
    await meta.close();
  }
}

/** Progress on stderr: a bar on a terminal, else a line at each further 10 %. */
function progressReporter(json: boolean): { update(p: ImportProgress): void; stop(): void } {
  if (json) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: ' importing [{bar}] {percentage}% {records} records', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(p) {
        if (!started) bar.start(Math.max(p.total, 1), p.done, { records: p.records });
        started = true;
        bar.setTotal(Math.max(p.total, 1));
        bar.update(p.done, { records: p.records });
      },
      stop: () => bar.stop(),
    };
  }
  let shown = -1;
  return {
    update(p) {
      const tenth = p.total > 0 ? Math.floor((p.done / p.total) * 10) : 0;
      if (tenth === shown) return;
      shown = tenth;
      process.stderr.write(`importing: ${tenth * 10}% (${p.records} records)\n`);
    },
    stop: () => undefined,
  };
}

export function addVulndbCommands(program: Command, { withConfigFlags, configFrom }: CliHelpers): void {
  const vulndb = program.command('vulndb').description('The vulnerability data the built-in scanner matches images against (imported offline from files).');

  withConfigFlags(
    vulndb
      .command('import')
      .argument('<file>', 'an OSV record (.json), a directory of them, a .jsonl, an OSV all.zip export, Debian\'s tracker JSON or an Alpine secdb .json')
      .description('Import vulnerability data, then re-match the scanned images\' stored inventories against it. Re-importing a file changes nothing.'),
  )
    .option('--format <format>', `${VULN_FORMATS.join(', ')} (default: from the file)`)
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: Flags) => {
      if (flags.format !== undefined && !(VULN_FORMATS as readonly string[]).includes(flags.format)) throw new UsageError(`--format ${flags.format}: one of ${VULN_FORMATS.join(', ')}`);
      const config = await configFrom(flags);
      await withVulnDb(config, async (db, reports) => {
        const progress = progressReporter(flags.json === true);
        let summary;
        try {
          summary = await importVulnData(db, file, { format: flags.format as VulnFormat | undefined, progress: (p) => progress.update(p) });
        } catch (err) {
          progress.stop();
          process.exitCode = 1;
          process.stderr.write(`minato: could not import: ${(err as Error).message}\n`);
          return;
        }
        progress.stop();
        const rematch = summary.added + summary.updated > 0 ? await rematchStored(reports, (inv) => matchWith(db, inv)) : { inventories: 0, changed: 0 };
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ ...summary, rematched: rematch }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `imported ${file} (${summary.format}): ${summary.added} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.rejected} rejected\n` +
            `re-matched ${rematch.inventories} scanned images: ${rematch.changed} reports changed\n`,
        );
        for (const p of summary.problems) process.stderr.write(`rejected: ${p}\n`);
      });
    });

  withConfigFlags(vulndb.command('status').description('The imported data per source, and the recent imports.'))
    .option('--json', 'print JSON')
    .action(async (flags: Flags) => {
      const status = await withVulnDb(await configFrom(flags), (db) => db.status());
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      if (status.sources.length === 0) process.stdout.write('no vulnerability data yet: minato vulndb import FILE brings some (OSV, Debian tracker or Alpine secdb)\n');
      else {
        process.stdout.write(
          table(status.sources, [
            ['SOURCE', (s) => s.source],
            ['RECORDS', (s) => String(s.records)],
            ['WITHDRAWN', (s) => String(s.withdrawn)],
            ['PACKAGES', (s) => String(s.packages)],
          ]),
        );
      }
      if (status.imports.length > 0) {
        process.stdout.write('\n');
        process.stdout.write(
          table(status.imports, [
            ['IMPORTED', (i) => new Date(i.startedAt).toISOString().slice(0, 19).replace('T', ' ')],
            ['FORMAT', (i) => i.format],
            ['NEW', (i) => String(i.added)],
            ['UPDATED', (i) => String(i.updated)],
            ['UNCHANGED', (i) => String(i.unchanged)],
            ['REJECTED', (i) => String(i.rejected)],
            ['FILE', (i) => i.file + (i.finishedAt === undefined ? ' (unfinished)' : '') + (i.error ? ` (${i.error})` : '')],
          ]),
        );
      }
    });
}
