// The migrations are written once for SQLite and PostgreSQL: SQLite must keep getting exactly the
// schema that shipped, and an embedded database made by the release before 0002 must upgrade with
// its data intact. (PostgreSQL runs them in test/conformance/metadata-store.test.ts.)
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrate } from '../../../src/metadata/db.js';
import { migrationProviderFor } from '../../../src/metadata/migrations.js';
import { tempDir } from '../../helpers/registry.js';

// The DDL SQLite stored for 0001 as it shipped (sqlite_master.sql, migration tables left out),
// and what 0002 adds to it: the contract with every embedded database in the field.
const SHIPPED_0001 = [
  'CREATE INDEX "manifest_references_child" on "manifest_references" ("repository_id", "child_digest")',
  'CREATE INDEX "manifests_subject" on "manifests" ("repository_id", "subject")',
  'CREATE INDEX "repository_blobs_digest" on "repository_blobs" ("digest")',
  'CREATE INDEX "tags_digest" on "tags" ("repository_id", "digest")',
  'CREATE TABLE "blobs" ("digest" text primary key, "size" bigint not null, "created_at" bigint not null)',
  'CREATE TABLE "manifest_references" ("repository_id" integer not null, "manifest_digest" text not null, "child_digest" text not null, constraint "manifest_references_pk" primary key ("repository_id", "manifest_digest", "child_digest"))',
  'CREATE TABLE "manifests" ("repository_id" integer not null references "repositories" ("id"), "digest" text not null, "media_type" text not null, "artifact_type" text, "subject" text, "annotations" text, "size" bigint not null, "content" blob not null, "created_at" bigint not null, constraint "manifests_pk" primary key ("repository_id", "digest"))',
  'CREATE TABLE "repositories" ("id" integer primary key autoincrement, "name" text not null unique, "created_at" bigint not null)',
  'CREATE TABLE "repository_blobs" ("repository_id" integer not null references "repositories" ("id"), "digest" text not null references "blobs" ("digest"), "created_at" bigint not null, constraint "repository_blobs_pk" primary key ("repository_id", "digest"))',
  'CREATE TABLE "tags" ("repository_id" integer not null references "repositories" ("id"), "name" text not null, "digest" text not null, "updated_at" bigint not null, constraint "tags_pk" primary key ("repository_id", "name"))',
  'CREATE TABLE "uploads" ("id" text primary key, "repository" text not null, "created_at" bigint not null)',
  'CREATE TABLE "users" ("name" text primary key, "password_hash" text not null, "created_at" bigint not null)',
  'CREATE TABLE sqlite_sequence(name,seq)',
];
const ADDED_BY_0002 = [
  'CREATE INDEX "events_created_at" on "events" ("created_at")',
  'CREATE TABLE "event_cursors" ("sink" text primary key, "last_id" bigint not null)',
  'CREATE TABLE "events" ("id" integer primary key autoincrement, "type" text not null, "repository" text, "payload" text not null, "created_at" bigint not null)',
  'CREATE TABLE "principals" ("id" integer primary key autoincrement, "kind" text not null, "name" text not null, "created_at" bigint not null, constraint "principals_kind_name" unique ("kind", "name"))',
];
const UPLOADS_AFTER_0002 =
  'CREATE TABLE "uploads" ("id" text primary key, "repository" text not null, "created_at" bigint not null, "offset_bytes" bigint default 0 not null, "state" text, "updated_at" bigint default 0 not null)';

function schema(sqlite: Sqlite.Database): string[] {
  const rows = sqlite.prepare("select sql from sqlite_master where sql is not null and name not like 'kysely%' order by sql").all() as Array<{ sql: string }>;
  return rows.map((r) => r.sql);
}

async function withDatabase(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await fn(path.join(dir, 'minato.db'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('SQLite gets the schema 0001 shipped with, and 0002, 0003 and 0004 on top of it', async () => {
  await withDatabase(async (file) => {
    const sqlite = new Sqlite(file);
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
    try {
      const migrator = new Migrator({ db, provider: migrationProviderFor('sqlite') });
      assert.equal((await migrator.migrateTo('0001_registry')).error, undefined);
      assert.deepEqual(schema(sqlite), [...SHIPPED_0001].sort());
      assert.equal((await migrator.migrateTo('0002_core')).error, undefined);
      const expected = [...SHIPPED_0001.filter((s) => !s.startsWith('CREATE TABLE "uploads"')), UPLOADS_AFTER_0002, ...ADDED_BY_0002].sort();
      assert.deepEqual(schema(sqlite), expected);
      assert.equal((await migrator.migrateTo('0003_projects')).error, undefined);
      const tables = () => (sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'kysely%' order by name").all() as Array<{ name: string }>).map((r) => r.name);
      for (const table of ['projects', 'project_members', 'robots', 'audit_logs', 'sessions']) assert.ok(tables().includes(table), table);
      // 0003 only adds: what 0002 made is still there as it was.
      const after0003 = schema(sqlite);
      for (const statement of expected.filter((s) => !s.startsWith('CREATE TABLE "users"'))) assert.ok(after0003.includes(statement), statement);
      // 0004 adds the counted sets and one column of blob links, and changes nothing else.
      assert.equal((await migrator.migrateToLatest()).error, undefined);
      for (const table of ['project_blobs', 'project_manifests', 'project_usage']) assert.ok(tables().includes(table), table);
      const after = schema(sqlite);
      // 0004 adds a column to repository_blobs; 0005 replaces 0003's audit_logs_project index.
      for (const statement of after0003.filter((s) => !s.startsWith('CREATE TABLE "repository_blobs"') && !s.includes('"audit_logs_project"'))) {
        assert.ok(after.includes(statement), statement);
      }
      assert.ok(
        after.includes(
          'CREATE TABLE "repository_blobs" ("repository_id" integer not null references "repositories" ("id"), "digest" text not null references "blobs" ("digest"), "created_at" bigint not null, "released" integer default 0 not null, constraint "repository_blobs_pk" primary key ("repository_id", "digest"))',
        ),
        after.find((s) => s.startsWith('CREATE TABLE "repository_blobs"')),
      );
            // 0005: the audit log's filter indexes, with the statistics that make SQLite's planner choose among them.
      const indexes = (sqlite.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'audit_logs' and sql is not null order by name").all() as Array<{ name: string }>).map((r) => r.name);
      assert.deepEqual(indexes, [
        'audit_logs_event',
        'audit_logs_failures',
        'audit_logs_failures_operation',
        'audit_logs_operation_time',
        'audit_logs_project_id_time',
        'audit_logs_resource_time',
        'audit_logs_resource_type_time',
        'audit_logs_time',
        'audit_logs_username_time',
      ]);
      const stats = (sqlite.prepare("select idx from sqlite_stat1 where tbl = 'audit_logs' order by idx").all() as Array<{ idx: string }>).map((r) => r.idx);
      assert.deepEqual(stats, indexes);
    } finally {
      await db.destroy();
    }
  });
});

test('an embedded database from before 0002 upgrades with its data intact, its namespaces becoming projects', async () => {
  await withDatabase(async (file) => {
    // The database as the previous release left it: 0001 only, with a pushed image and an upload.
    const old = new Sqlite(file);
    const oldDb = new Kysely<any>({ dialect: new SqliteDialect({ database: old }) });
    assert.equal((await new Migrator({ db: oldDb, provider: migrationProviderFor('sqlite') }).migrateTo('0001_registry')).error, undefined);
    const content = Buffer.from('{"schemaVersion":2}');
    old.exec(`
      insert into repositories (name, created_at) values ('team/app', 1000);
      insert into blobs (digest, size, created_at) values ('sha256:aa', 42, 1001);
      insert into repository_blobs (repository_id, digest, created_at) values (1, 'sha256:aa', 1001);
      insert into tags (repository_id, name, digest, updated_at) values (1, 'v1', 'sha256:mm', 1003);
      insert into uploads (id, repository, created_at) values ('u-1', 'team/app', 1004);
      insert into users (name, password_hash, created_at) values ('admin', '$2b$10$x', 1005);
    `);
    old
      .prepare('insert into manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(1, 'sha256:mm', 'application/vnd.oci.image.manifest.v1+json', null, null, '{"a":"b"}', content.length, content, 1002);
    await oldDb.destroy();

    // Opened by this version: migrated in place.
    const sqlite = new Sqlite(file);
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
    try {
      await migrate(db);
      await migrate(db); // idempotent: a second start migrates nothing
      const names = (await db.selectFrom('kysely_migration').select('name').orderBy('name').execute()).map((r) => r.name);
      assert.deepEqual(names, ['0001_registry', '0002_core', '0003_projects', '0004_quotas', '0005_audit_indexes', '0005_pull_stats', '0006_cli_tokens', '0007_gc', '0008_tag_rules', '0009_trust', '0010_simple_signatures', '0011_vulndb', '0012_scan_reports', '0013_scan_policy']);
      assert.deepEqual(sqlite.prepare('select name, created_at from repositories').all(), [{ name: 'team/app', created_at: 1000 }]);
      assert.deepEqual(sqlite.prepare('select repository_id, digest, released from repository_blobs').all(), [{ repository_id: 1, digest: 'sha256:aa', released: 0 }]);
      const manifest = sqlite.prepare('select content, annotations, size from manifests').get() as { content: Buffer; annotations: string; size: number };
      assert.deepEqual(manifest, { content, annotations: '{"a":"b"}', size: content.length });
      assert.deepEqual(sqlite.prepare('select name, digest from tags').all(), [{ name: 'v1', digest: 'sha256:mm' }]);
      // The upload that was in progress gets the new columns' defaults: no bytes, no driver state.
      assert.deepEqual(sqlite.prepare('select id, repository, created_at, offset_bytes, state, updated_at from uploads').all(), [
        { id: 'u-1', repository: 'team/app', created_at: 1004, offset_bytes: 0, state: null, updated_at: 0 },
      ]);
      assert.deepEqual(sqlite.prepare('select name from users').all(), [{ name: 'admin' }]);
      // The user got its stable id, numbered from 1; `team` became a private project beside the public `library`.
      assert.deepEqual(sqlite.prepare('select id, kind, name from principals').all(), [{ id: 1, kind: 'user', name: 'admin' }]);
      assert.deepEqual(sqlite.prepare('select name, public from projects order by name').all(), [
        { name: 'library', public: 1 },
        { name: 'team', public: 0 },
      ]);
      // What `team` held is counted: its blob and its manifest.
      assert.deepEqual(sqlite.prepare('select project, digest, size, links from project_blobs').all(), [{ project: 'team', digest: 'sha256:aa', size: 42, links: 1 }]);
      assert.deepEqual(sqlite.prepare('select project, digest, size, links from project_manifests').all(), [{ project: 'team', digest: 'sha256:mm', size: content.length, links: 1 }]);
      assert.deepEqual(sqlite.prepare('select project, used from project_usage').all(), [{ project: 'team', used: 42 + content.length }]);
    } finally {
      await db.destroy();
    }
  });
});
