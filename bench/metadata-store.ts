// Round trips of the metadata stores, from one Node process, without HTTP: a manifest by tag
// (resolveTag + getManifest, what every pull by tag costs), a push's blob commit (linkBlob, and
// linkBlob with its blob.pushed event), a tag move (resolveTag + putManifest + tag.updated).
// PostgreSQL is the throw-away test cluster (test/helpers/postgres.ts: tmpfs, fsync off), so
// these are CPU and round-trip costs, not a disk's.
//   node dist/bench/metadata-store.js [--store postgres|sqlite|both] [--seconds N] [--concurrency N] [--pool N]
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ManifestRecord, MetadataStore } from '../src/metadata/metadata-store.js';
import { openPostgresMetadata } from '../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-metadata-store.js';
import { sha256 } from '../test/helpers/oci.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/registry.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    pool: { type: 'string', default: '8' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

function manifest(seed: string): ManifestRecord {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', seed, layers: [] }));
  return { digest: sha256(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, annotations: null, size: content.length, content };
}

/** Runs `op` from `concurrency` callers for `seconds`; prints operations per second and this process's CPU per operation. */
async function measure(label: string, op: (i: number) => Promise<void>): Promise<void> {
  let count = 0;
  const deadline = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await op(count++);
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const perOp = (cpu.user + cpu.system) / count;
  console.log(`  ${label.padEnd(44)} ${(count / elapsed).toFixed(0).padStart(7)} /s   node CPU ${perOp.toFixed(0).padStart(4)} us/op`);
}

async function bench(name: string, store: MetadataStore): Promise<void> {
  console.log(`${name} (${concurrency} callers${name === 'postgres' ? `, pool of ${values.pool}` : ''}, ${seconds} s each)`);
  const pulled = manifest('pulled');
  await store.transaction(async (tx) => {
    await tx.putManifest('bench/app', pulled, [], 'latest');
    for (let i = 0; i < 100; i++) await tx.putManifest('bench/app', manifest(`other-${i}`), [], `v${i}`);
  });
  await measure('resolveTag + getManifest', async () => {
    const digest = await store.resolveTag('bench/app', 'latest');
    if ((await store.getManifest('bench/app', digest!))?.digest !== pulled.digest) throw new Error('wrong manifest');
  });
  await measure('linkBlob transaction', (i) => store.transaction((tx) => tx.linkBlob('bench/blobs', sha256(`blob-${i}`), i + 1)));
  await measure('linkBlob + blob.pushed event transaction', (i) =>
    store.transaction(async (tx) => {
      const digest = sha256(`event-blob-${i}`);
      await tx.linkBlob('bench/events', digest, i + 1);
      await tx.appendEvents([{ type: 'blob.pushed', at: new Date().toISOString(), actor: { kind: 'user', id: 1 }, repository: 'bench/events', digest, size: i + 1 }]);
    }),
  );
  await measure('tag move (one tag per caller) + event', (i) =>
    store.transaction(async (tx) => {
      const m = manifest(`moved-${i}`);
      const tag = `t${i % concurrency}`;
      const previous = await tx.resolveTag('bench/moves', tag);
      await tx.putManifest('bench/moves', m, [], tag);
      await tx.appendEvents([{ type: 'tag.updated', at: new Date().toISOString(), actor: { kind: 'user', id: 1 }, repository: 'bench/moves', tag, digest: m.digest, ...(previous ? { previous } : {}) }]);
    }),
  );
}

if (values.store === 'sqlite' || values.store === 'both') {
  const dir = await tempDir();
  const store = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  try {
    await bench('sqlite', store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
if (values.store === 'postgres' || values.store === 'both') {
  const cluster = await startPostgres();
  try {
    const store = await openPostgresMetadata({ url: await cluster.createDatabase(), maxConnections: Number(values.pool) });
    try {
      await bench('postgres', store);
    } finally {
      await store.close();
    }
  } finally {
    await cluster.stop();
  }
}
