// The SessionStore conformance suite on both metadata databases: SQLite (a fresh file per test)
// and PostgreSQL (one throw-away cluster for the file, a fresh database per test).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import { sessionStoreConformance } from './session-store.js';

let cluster: RunningPostgres | undefined;
let dir: string | undefined;
let files = 0;
before(async () => {
  dir = await tempDir();
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

sessionStoreConformance({
  name: 'sqlite',
  open: async () => {
    const meta = await SqliteMetadataStore.open(path.join(dir!, `minato-${++files}.db`));
    return { db: meta.db, meta, close: () => meta.close() };
  },
});

sessionStoreConformance({
  name: 'postgres',
  open: async () => {
    const meta = await openPostgresMetadata({ url: await cluster!.createDatabase(), maxConnections: 4 });
    return { db: meta.db, meta, close: () => meta.close() };
  },
});
