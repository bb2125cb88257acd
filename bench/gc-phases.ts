// Garbage collection at the issue's scale, without HTTP: a registry of 2,000 repositories, 20,000
// manifests and 50,000 blobs (small files on disk) of which half became garbage (the untagged
// half of each repository's manifests, and the blobs only they reference), then one GC run with
// delete_untagged, timed by phase. The metadata store is SQLite (embedded) or the PostgreSQL test
// cluster (tmpfs, fsync off); blobs are a filesystem store in a temporary directory.
//   node dist/bench/gc-phases.js [--store sqlite|postgres] [--repositories 2000] [--dry-run]
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pino from 'pino';
import { GarbageCollector } from '../src/gc/garbage-collector.js';
import type { Db } from '../src/metadata/db.js';
import type { ManifestRecord, MetadataStore } from '../src/metadata/metadata-store.js';
import { openPostgresMetadata } from '../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-metadata-store.js';
import { FsBlobStore } from '../src/storage/filesystem/fs-blob-store.js';
import { FsLayout } from '../src/storage/filesystem/layout.js';
import { sha256 } from '../test/helpers/oci.js';
import { startPostgres, type RunningPostgres } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/registry.js';
import type { Digest } from '../src/oci/names.js';

const { values } = parseArgs({ options: { store: { type: 'string', default: 'sqlite' }, repositories: { type: 'string', default: '2000' }, 'dry-run': { type: 'boolean', default: false } } });
const REPOSITORIES = Number(values.repositories);
const MANIFESTS_PER_REPO = 10;
const BLOBS_PER_REPO = 25;

function manifest(seed: string, blobs: string[]): ManifestRecord {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', seed, layers: blobs }));
  return { digest: sha256(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, annotations: null, size: content.length, content };
}

async function main(): Promise<void> {
  const dir = await tempDir('minato-gc-bench-');
  let pg: RunningPostgres | undefined;
  let meta: MetadataStore & { db: Db };
  if (values.store === 'postgres') {
    pg = await startPostgres();
    meta = await openPostgresMetadata({ url: await pg.createDatabase(), maxConnections: 8 });
  } else meta = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  const blobs = await FsBlobStore.open(dir, { directIO: false });
  const layout = new FsLayout(dir);
  try {
    const t0 = performance.now();
    // Each repository: 25 blobs; manifests 0-4 (tagged) reference blobs 0-12, manifests 5-9
    // (untagged) blobs 13-24 only: 12 of its 25 blobs and 5 of its 10 manifests are garbage.
    for (let r = 0; r < REPOSITORIES; r++) {
      const repository = `p${r % 50}/repo${r}`;
      const digests: string[] = [];
      for (let b = 0; b < BLOBS_PER_REPO; b++) {
        // Written in place, without the store's fsync (what GC does to them is the point).
        const bytes = Buffer.from(`blob ${r} ${b}`);
        const file = layout.blobPath(sha256(bytes) as Digest);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, bytes);
        digests.push(sha256(bytes));
      }
      await meta.transaction(async (tx) => {
        for (const [b, d] of digests.entries()) await tx.linkBlob(repository, d, `blob ${r} ${b}`.length);
        for (let m = 0; m < MANIFESTS_PER_REPO; m++) {
          const kept = m < 5;
          const refs = kept ? digests.slice(0, 13).filter((_, i) => i % 5 === m || i === 0) : digests.slice(13).filter((_, i) => i % 5 === m - 5 || i === 0);
          await tx.putManifest(repository, manifest(`${r} ${m}`, refs), refs, kept ? `v${m}` : undefined);
        }
      });
    }
    // What autovacuum does on a live database: without statistics, PostgreSQL plans a freshly filled table as empty.
    if (pg) await sql`analyze`.execute(meta.db);
    console.log(`populated ${REPOSITORIES} repositories, ${REPOSITORIES * MANIFESTS_PER_REPO} manifests, ${REPOSITORIES * BLOBS_PER_REPO} blobs in ${((performance.now() - t0) / 1000).toFixed(1)} s (${values.store})`);

    const phases: Array<[string, number]> = [];
    let phase = '';
    let since = performance.now();
    const gc = new GarbageCollector({
      meta,
      db: meta.db,
      blobs,
      // What core/artifacts.ts collectManifests does, without the policy chain.
      collectManifests: (manifests, before) =>
        meta.transaction(async (tx) => {
          const deleted: unknown[] = [];
          for (const m of manifests) if ((await tx.manifestCollectable(m.repository, m.digest, before)) && (await tx.deleteManifest(m.repository, m.digest)).deleted) deleted.push(m);
          return deleted;
        }),
      purgeUploads: async () => 0,
      log: pino({ level: 'silent' }),
    });
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await gc.run(Date.now(), { deleteUntagged: true, dryRun: values['dry-run'] === true, graceMs: 0, untaggedMinAgeMs: 0 }, new AbortController().signal, (p) => {
      if (p.phase !== undefined && p.phase !== phase) {
        const now = performance.now();
        if (phase) phases.push([phase, now - since]);
        phase = p.phase;
        since = now;
      }
    });
    phases.push([phase, performance.now() - since]);
    const total = (performance.now() - t1) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `gc ${values['dry-run'] ? '(dry run) ' : ''}took ${total.toFixed(2)} s (this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s; load average ${os.loadavg()[0]!.toFixed(1)}): ` +
        `${result.manifests} manifests, ${result.links} links, ${result.blobs} blobs, ${result.bytes} bytes`,
    );
    console.log(`  by phase: ${phases.map(([p, ms]) => `${p} ${(ms / 1000).toFixed(2)} s`).join(', ')}`);
  } finally {
    await meta.close();
    await blobs.close();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
