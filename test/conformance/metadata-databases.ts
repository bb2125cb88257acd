// The two metadata databases a conformance suite runs on: SQLite (a fresh file per test) and
// PostgreSQL (one throw-away cluster for the test file, a fresh database per test). Call at the
// top of a `.test.ts` file: it registers the hooks that start and remove them.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import type { Db } from '../../src/metadata/db.js';

export type OpenedStore = MetadataStore & { db: Db };

export interface PostgresOptions {
  /** The database's ICU collation (e.g. 'en-US', what a database made on an en_US machine has). */
  icuLocale?: string;
  maxConnections?: number;
}

export function metadataDatabases(postgres: PostgresOptions = {}): { sqlite(): Promise<OpenedStore>; postgres(): Promise<OpenedStore> } {
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
  return {
    sqlite: () => SqliteMetadataStore.open(path.join(dir!, `minato-${++files}.db`)),
    postgres: async () =>
      openPostgresMetadata({
        url: await cluster!.createDatabase(undefined, postgres.icuLocale ? { icuLocale: postgres.icuLocale } : undefined),
        maxConnections: postgres.maxConnections ?? 8,
      }),
  };
}
