// The MetadataStore conformance suite against every implementation. PostgreSQL: one throw-away
// cluster for the file, a fresh database per test, in an English ICU collation (what a database
// created on a machine with an en_US locale has), so byte-order listings cannot pass by accident.
import { after, before } from 'node:test';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { metadataStoreConformance } from './metadata-store.js';

let cluster: RunningPostgres | undefined;
before(async () => {
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
});

metadataStoreConformance({
  name: 'postgres',
  open: async () => openPostgresMetadata({ url: await cluster!.createDatabase(undefined, { icuLocale: 'en-US' }), maxConnections: 8 }),
});
