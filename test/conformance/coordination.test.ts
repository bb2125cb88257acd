// Runs the coordination conformance suite against every implementation: SQLite in a data
// directory (embedded), PostgreSQL 15 (fleets), and the file store's KeyValueStore (the
// embedded mode's keys and certificates).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { FileKeyValueStore } from '../../src/coordination/files.js';
import { openCoordination, type CoordinationOptions } from '../../src/coordination/open.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import { coordinationSuite, keyValueSuite } from './coordination.js';

const LEASE_MS = 1000;

coordinationSuite('sqlite', async () => {
  const dataDir = await tempDir('minato-coord-');
  const options: CoordinationOptions = { driver: 'sqlite', dataDir, leaseMs: LEASE_MS };
  return {
    open: () => openCoordination(options),
    childOptions: options,
    freedWithinMs: LEASE_MS,
    async breakLease(name) {
      const db = new Sqlite(path.join(dataDir, 'coordination.db'));
      db.prepare("update locks set holder = 'intruder' where name = ?").run(name);
      db.close();
    },
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

let postgres: RunningPostgres;
before(async () => {
  postgres = await startPostgres();
});
after(() => postgres?.stop());

coordinationSuite('postgres', async () => {
  const url = await postgres.createDatabase();
  const options: CoordinationOptions = { driver: 'postgres', url, pingMs: 500 };
  return {
    open: () => openCoordination(options),
    childOptions: options,
    // The server drops a dead session's locks as soon as it sees the connection close.
    freedWithinMs: 500,
    async breakLease() {
      const admin = new pg.Client({ connectionString: postgres.adminUrl });
      await admin.connect();
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'minato-lock' and datname = $1", [new URL(url).pathname.slice(1)]);
      await admin.end();
    },
    cleanup: async () => undefined,
  };
});

keyValueSuite('files', async () => {
  const root = await tempDir('minato-kv-files-');
  return { open: async () => new FileKeyValueStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});
