// `minato migrate --from-data DIR`: copies the embedded registry in DIR (SQLite + filesystem) into
// the registry the configuration describes (e.g. PostgreSQL + S3), with progress bars, and prints
// what was copied and what was refused. Run again after an interruption: it resumes.
import path from 'node:path';
import cliProgress from 'cli-progress';
import pino from 'pino';
import type { Config } from '../config/schema.js';
import { migrateRegistry, type MigrationReport } from '../core/migration.js';
import { SqliteMetadataStore } from '../metadata/sqlite/sqlite-metadata-store.js';
import { openStores } from '../server/compose-registry.js';
import { openShared } from '../server/coordination-setup.js';
import { FileKeyValueStore } from '../coordination/files.js';
import { FsBlobStore } from '../storage/filesystem/fs-blob-store.js';
import { existsSync } from 'node:fs';

export async function runMigrate(config: Config, fromData: string, options: { json?: boolean }): Promise<MigrationReport> {
  const source = path.resolve(fromData);
  if (!existsSync(path.join(source, 'minato.db'))) throw new Error(`${source} holds no embedded registry (no minato.db): give the data directory of the registry to copy with --from-data`);
  const targetData = path.resolve(config.data);
  if (targetData === source && config.database.driver === 'sqlite' && config.storage.driver.kind === 'filesystem') {
    throw new Error(`the target is the source (${source}): configure the target's database and storage (-c target.yaml), or another --data`);
  }
  const log = pino({ level: 'warn' }, pino.destination(2));
  const from = await SqliteMetadataStore.open(path.join(source, 'minato.db'));
  const fromBlobs = await FsBlobStore.open(source, { directIO: false });
  const fromAssets = new FileKeyValueStore(source);
  const to = await openStores(config, targetData, log);
  const shared = await openShared(config, targetData);
  const bars = new cliProgress.MultiBar(
    { format: ' {task} [{bar}] {percentage}% | {value}/{total} {unit}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let blobBar: cliProgress.SingleBar | undefined;
  let metaBar: cliProgress.SingleBar | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted; run the same command again to resume'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    process.stderr.write(`copying ${source} into ${describeTarget(config)}\n`);
    const report = await migrateRegistry(
      { meta: from, db: from.db, blobs: fromBlobs, assets: fromAssets },
      { ...to, assets: shared.assets },
      (p) => {
        if (p.phase === 'blobs') blobBar = bars.create(Math.max(1, Math.round(p.totalBytes / 2 ** 20)), 0, { task: 'blobs   ', unit: 'MiB' });
        else if (p.phase === 'blob') blobBar?.increment(p.bytes / 2 ** 20);
        else if (p.phase === 'metadata') metaBar = bars.create(Math.max(1, p.total), 0, { task: 'metadata', unit: 'rows' });
        else metaBar?.increment();
      },
      stop.signal,
    );
    blobBar?.update(blobBar.getTotal());
    metaBar?.update(metaBar.getTotal());
    bars.stop();
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return report;
  } finally {
    bars.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled([from.close(), fromBlobs.close(), to.meta.close(), to.blobs.close(), shared.close()]);
  }
}

function describeTarget(config: Config): string {
  const db = config.database.driver === 'postgres' ? 'PostgreSQL' : 'SQLite';
  const storage = config.storage.driver.kind === 's3' ? `S3 (bucket ${config.storage.driver.bucket})` : 'the filesystem';
  return `${db} and ${storage}`;
}

function formatReport(r: MigrationReport): string {
  const mib = (r.blobs.bytesCopied / 2 ** 20).toFixed(1);
  const lines = [
    `blobs: ${r.blobs.copied} copied (${mib} MiB), ${r.blobs.alreadyThere} already there, ${r.blobs.refused.length} refused`,
    ...r.blobs.refused.map((b) => `  refused ${b.digest}: ${b.reason}`),
    `repositories: ${r.repositories}, blob links: ${r.blobLinks}, manifests: ${r.manifests}, tags: ${r.tags}`,
    `users: ${r.users}, principals: ${r.principals}`,
    `keys and certificates: ${r.assets.copied} copied, ${r.assets.kept} the target already had (kept)`,
    r.blobs.refused.length > 0 ? 'Some blobs were refused: the images that use them cannot be pulled from the target until they are pushed again.' : 'Everything was copied.',
  ];
  return `${lines.join('\n')}\n`;
}
