// The audit log suite on both databases. SQLite: a fresh file per test. PostgreSQL: one
// throw-away cluster for the file, a fresh database per test (English ICU collation, as in the
// field: the case-insensitive and literal-% matches cannot pass by accident).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import { auditLogConformance } from './audit-log.js';

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

auditLogConformance({
  name: 'sqlite',
  open: async () => {
    const meta = await SqliteMetadataStore.open(path.join(dir!, `minato-${++files}.db`));
    return { meta, db: meta.db };
  },
});

auditLogConformance({
  name: 'postgres',
  open: async () => {
    const meta = await openPostgresMetadata({ url: await cluster!.createDatabase(undefined, { icuLocale: 'en-US' }), maxConnections: 8 });
    return { meta, db: meta.db };
  },
});
