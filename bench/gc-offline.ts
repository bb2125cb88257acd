// One GC run, in this process, on a copy of a data directory (e.g. bench/gc.ts's --minato-data):
// for profiling the collector alone (node --cpu-prof dist/bench/gc-offline.js DIR).
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { GarbageCollector } from '../src/gc/garbage-collector.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-metadata-store.js';
import { FsBlobStore } from '../src/storage/filesystem/fs-blob-store.js';

const source = process.argv[2];
if (!source) throw new Error('usage: gc-offline.js DATA_DIR');
const dir = await mkdtemp(path.join(os.tmpdir(), 'minato-gc-offline-'));
await cp(source, dir, { recursive: true });
execFileSync('sync'); // the copy's writeback is not the GC's cost
const meta = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
const blobs = await FsBlobStore.open(dir, { directIO: false });
try {
  const gc = new GarbageCollector({ meta, db: meta.db, blobs, collectManifests: async () => [], purgeUploads: async () => 0, log: pino({ level: 'silent' }) });
  const t = performance.now();
  const result = await gc.run(Date.now(), { deleteUntagged: true, dryRun: false, graceMs: 0, untaggedMinAgeMs: 0 }, new AbortController().signal);
  console.log(`${((performance.now() - t) / 1000).toFixed(2)} s`, JSON.stringify(result));
} finally {
  await meta.close();
  await blobs.close();
  await rm(dir, { recursive: true, force: true });
}
