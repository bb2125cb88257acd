// The MetadataStore conformance suite against every implementation.
// SQLite: a fresh file per test. PostgreSQL: one throw-away cluster for the file, a fresh database
// per test, in an English ICU collation (what a database created on a machine with an en_US
// locale has), so byte-order listings cannot pass by accident.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import { metadataStoreConformance } from './metadata-store.js';

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

metadataStoreConformance({
  name: 'sqlite',
  open: () => SqliteMetadataStore.open(path.join(dir!, `minato-${++files}.db`)),
});

metadataStoreConformance({
  name: 'postgres',
  open: async () => openPostgresMetadata({ url: await cluster!.createDatabase(undefined, { icuLocale: 'en-US' }), maxConnections: 8 }),
});
