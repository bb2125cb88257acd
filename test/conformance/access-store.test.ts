// The access store's conformance suite against SQLite and PostgreSQL.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import { accessStoreConformance } from './access-store.js';

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

accessStoreConformance({
  name: 'sqlite',
  async open() {
    const store = await SqliteMetadataStore.open(path.join(dir!, `minato-${++files}.db`));
    return { db: store.db, close: () => store.close() };
  },
});

accessStoreConformance({
  name: 'postgres',
  async open() {
    const store = await openPostgresMetadata({ url: await cluster!.createDatabase(), maxConnections: 8 });
    return { db: store.db, close: () => store.close() };
  },
});
