// Schema migrations, applied in name order at start-up. Never edit one that has shipped:
// add a new one. Written once, with Kysely's schema builder, for both dialects: the few column
// types that differ come from `ColumnTypes` (SQLite gets exactly what 0001 shipped with).
import { Migrator, sql, type ColumnDataType, type CreateTableBuilder, type Expression, type Kysely, type Migration, type MigrationProvider } from 'kysely';

type DataTypeExpression = ColumnDataType | Expression<unknown>;

export type SqlDialect = 'sqlite' | 'postgres';

/** What the dialects spell differently. */
interface ColumnTypes {
  /** An integer primary key the database numbers (`big`: 64 bits on PostgreSQL, for tables that grow without bound). */
  id<T extends string>(table: CreateTableBuilder<T, any>, name: string, big?: boolean): CreateTableBuilder<T, any>;
  /** Bytes. */
  bytes: DataTypeExpression;
  /**
   * Text that listings order and page through (repository and tag names): byte order, as the
   * distribution spec's pagination expects. SQLite's default collation is already byte order;
   * PostgreSQL's is the database's locale (en_US sorts "_" before "a" and "a" before "B"), so the
   * column gets the "C" collation, which its index then follows.
   */
  sortedText: DataTypeExpression;
}

const columnTypes: Record<SqlDialect, ColumnTypes> = {
  sqlite: {
    id: (table, name) => table.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement()),
    bytes: 'blob',
    sortedText: 'text',
  },
  postgres: {
    id: (table, name, big) => table.addColumn(name, big ? 'bigserial' : 'serial', (c) => c.primaryKey()),
    bytes: 'bytea',
    sortedText: sql`text collate "C"`,
  },
};

/** A migration written for both dialects: `t` spells the types that differ. */
interface DialectMigration {
  up(db: Kysely<any>, t: ColumnTypes): Promise<void>;
  down(db: Kysely<any>): Promise<void>;
}

const migrations: Record<string, DialectMigration> = {
  '0001_registry': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .id(db.schema.createTable('repositories'), 'id')
        .addColumn('name', t.sortedText, (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('blobs')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('repository_blobs')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id'))
        .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();
      await db.schema
        .createTable('manifests')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject', 'text')
        .addColumn('annotations', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('content', t.bytes, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('manifests_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema.createIndex('manifests_subject').on('manifests').columns(['repository_id', 'subject']).execute();
      await db.schema
        .createTable('manifest_references')
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('child_digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('manifest_references_pk', ['repository_id', 'manifest_digest', 'child_digest'])
        .execute();
      await db.schema
        .createIndex('manifest_references_child')
        .on('manifest_references')
        .columns(['repository_id', 'child_digest'])
        .execute();
      await db.schema
        .createTable('tags')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id'))
        .addColumn('name', t.sortedText, (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
        .execute();
      await db.schema.createIndex('tags_digest').on('tags').columns(['repository_id', 'digest']).execute();
      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['users', 'uploads', 'tags', 'manifest_references', 'manifests', 'repository_blobs', 'blobs', 'repositories']) {
        await db.schema.dropTable(t).execute();
      }
    },
  },
  // Principals with stable ids (users now, robots later: memberships and audit rows keep the id
  // when a name changes), resumable upload state for any replica, and the event outbox.
  '0002_core': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .id(db.schema.createTable('principals'), 'id')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('principals_kind_name', ['kind', 'name'])
        .execute();
      await db.schema.alterTable('uploads').addColumn('offset_bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('uploads').addColumn('state', 'text').execute();
      await db.schema.alterTable('uploads').addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await t
        .id(db.schema.createTable('events'), 'id', true)
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('repository', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_created_at').on('events').column('created_at').execute();
      await db.schema
        .createTable('event_cursors')
        .addColumn('sink', 'text', (c) => c.primaryKey())
        .addColumn('last_id', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['event_cursors', 'events', 'principals']) await db.schema.dropTable(t).execute();
    },
  },
};

/** The migrations, with the column types of a dialect. */
export function migrationProviderFor(dialect: SqlDialect): MigrationProvider {
  const t = columnTypes[dialect];
  const all: Record<string, Migration> = Object.fromEntries(
    Object.entries(migrations).map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, t), down: (db: Kysely<any>) => m.down(db) }]),
  );
  return {
    async getMigrations() {
      return all;
    },
  };
}

/** The embedded database's (SQLite). */
export const migrationProvider: MigrationProvider = migrationProviderFor('sqlite');

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProviderFor(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
