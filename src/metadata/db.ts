// Opens the metadata database and brings its schema up to date.
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

// The better-sqlite3 handle behind each Kysely instance made by openSqlite, for the hot paths
// that run prepared statements directly (see RegistryMetadata).
const handles = new WeakMap<Db, Sqlite.Database>();

/** The SQLite connection of a database opened with openSqlite. */
export function sqliteHandle(db: Db): Sqlite.Database {
  const handle = handles.get(db);
  if (!handle) throw new Error('not a database opened with openSqlite()');
  return handle;
}

/**
 * SQLite in WAL mode with synchronous=NORMAL: a committed transaction survives a crash or
 * kill of the process (the WAL is in the page cache); only a power loss can roll back the
 * last transactions. Blob data itself is fsynced before a push is acknowledged.
 */
export async function openSqlite(file: string): Promise<Db> {
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  handles.set(db, sqlite);
  await migrate(db);
  return db;
}

export async function migrate(db: Db): Promise<void> {
  await migrateToLatest(db, 'sqlite');
}
