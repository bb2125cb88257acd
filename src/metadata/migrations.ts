// Schema migrations, applied in name order at start-up. Never edit one that has shipped:
// add a new one. Written once, with Kysely's schema builder, for both dialects: the few column
// types that differ come from `ColumnTypes` (SQLite gets exactly what 0001 shipped with).
import { Migrator, sql, SqliteAdapter, type ColumnDataType, type CreateTableBuilder, type Expression, type Kysely, type Migration, type MigrationProvider, type RawBuilder } from 'kysely';

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
  /** The project of a repository name in SQL: its first path component (oci/names.ts projectOf). */
  projectOf(name: Expression<string>): RawBuilder<string>;
  /**
   * A table keyed by its primary key alone. SQLite: WITHOUT ROWID, one B-tree instead of a rowid
   * table beside an index of the key (a page less to write per change of a row; these tables
   * change with every push). PostgreSQL's tables are heaps anyway.
   */
  keyed<T extends string>(table: CreateTableBuilder<T, any>): CreateTableBuilder<T, any>;
}

const columnTypes: Record<SqlDialect, ColumnTypes> = {
  sqlite: {
    id: (table, name) => table.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement()),
    bytes: 'blob',
    sortedText: 'text',
    projectOf: (name) => sql<string>`case when instr(${name}, '/') > 0 then substr(${name}, 1, instr(${name}, '/') - 1) else ${name} end`,
    keyed: (table) => table.modifyEnd(sql`without rowid`),
  },
  postgres: {
    id: (table, name, big) => table.addColumn(name, big ? 'bigserial' : 'serial', (c) => c.primaryKey()),
    bytes: 'bytea',
    sortedText: sql`text collate "C"`,
    projectOf: (name) => sql<string>`split_part(${name}, '/', 1)`,
    keyed: (table) => table,
  },
};

/** The project of a repository name column in SQL, in a dialect (for queries outside migrations). */
export function sqlProjectOf(dialect: SqlDialect, name: Expression<string>): RawBuilder<string> {
  return columnTypes[dialect].projectOf(name);
}

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
  // Projects, members and roles, robot accounts, user attributes (system admin flag, e-mail),
  // the audit log, and UI sessions. Every repository's first path component becomes a project
  // (private, no members: its content stays reachable for system admins), and `library` exists
  // from the start, public, as in Harbor.
  '0003_projects': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      const now = Date.now();
      await db.schema.alterTable('users').addColumn('sysadmin', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('users').addColumn('email', 'text').execute();
      await db.schema.alterTable('users').addColumn('realname', 'text').execute();
      await db.schema.alterTable('users').addColumn('comment', 'text').execute();
      await db.schema.alterTable('users').addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      // Every stored user has its stable id (0002 gave ids to users created since).
      await sql`insert into principals (kind, name, created_at) select 'user', name, created_at from users
                where not exists (select 1 from principals p where p.kind = 'user' and p.name = users.name)`.execute(db);

      await t
        .id(db.schema.createTable('projects'), 'id')
        .addColumn('name', t.sortedText, (c) => c.notNull().unique())
        .addColumn('owner_id', 'integer')
        .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
        /** Harbor's string-valued project metadata, as a JSON object (public is kept in its column too). */
        .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
        /** Bytes; -1 unlimited. */
        .addColumn('storage_limit', 'bigint', (c) => c.notNull().defaultTo(-1))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('projects').values({ name: 'library', public: 1, metadata: '{"public":"true"}', created_at: now, updated_at: now }).execute();
      const names = await db.selectFrom('repositories').select('name').execute();
      const projects = [...new Set(names.map((r: { name: string }) => r.name.split('/')[0]))].filter((p) => p !== 'library');
      for (const name of projects) {
        await db.insertInto('projects').values({ name, public: 0, metadata: '{"public":"false"}', created_at: now, updated_at: now }).execute();
      }

      await db.schema
        .createTable('project_members')
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('principal_id', 'integer', (c) => c.notNull())
        /** Harbor's role ids: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest. */
        .addColumn('role_id', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'principal_id'])
        .execute();
      await db.schema.createIndex('project_members_principal').on('project_members').column('principal_id').execute();

      await db.schema
        .createTable('robots')
        /** The robot's principal id (kind 'robot'). */
        .addColumn('id', 'integer', (c) => c.primaryKey())
        /** As Harbor stores it: "<project>+<name>" or "<name>" (the login name adds the "robot$" prefix). */
        .addColumn('name', 'text', (c) => c.notNull().unique())
        /** 0 for a system robot. */
        .addColumn('project_id', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        /** After a refresh with a grace period: the old secret's hash, valid until previous_secret_until. */
        .addColumn('previous_secret_hash', 'text')
        .addColumn('previous_secret_until', 'bigint')
        /** The permission list as JSON: [{kind, namespace, access: [{resource, action}]}]. */
        .addColumn('permissions', 'text', (c) => c.notNull())
        /** Days, -1 never. */
        .addColumn('duration', 'integer', (c) => c.notNull())
        /** ms since the epoch; -1 never. */
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('creator_id', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('last_used_from', 'text')
        .execute();
      await db.schema.createIndex('robots_project').on('robots').column('project_id').execute();

      await t
        .id(db.schema.createTable('audit_logs'), 'id', true)
        .addColumn('op_time', 'bigint', (c) => c.notNull())
        /** null for system-level operations (users, configuration, logins). */
        .addColumn('project_id', 'integer')
        /** create, delete, pull, update, login, logout, ... */
        .addColumn('operation', 'text', (c) => c.notNull())
        /** artifact, tag, repository, project, member, robot, user, configuration, ... */
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'integer')
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('success', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        /** The outbox event it came from (delivery is at least once: a redelivered event is not recorded twice). */
        .addColumn('event_id', 'bigint')
        .execute();
      await db.schema.createIndex('audit_logs_time').on('audit_logs').columns(['op_time', 'id']).execute();
      await db.schema.createIndex('audit_logs_project').on('audit_logs').columns(['project_id', 'id']).execute();
      await db.schema.createIndex('audit_logs_event').on('audit_logs').columns(['event_id']).unique().execute();

      await db.schema
        .createTable('sessions')
        /** SHA-256 of the cookie's value: a stolen database does not give live sessions. */
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'integer', (c) => c.notNull())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['sessions', 'audit_logs', 'robots', 'project_members', 'projects']) await db.schema.dropTable(t).execute();
      for (const c of ['updated_at', 'comment', 'realname', 'email', 'sysadmin']) await db.schema.alterTable('users').dropColumn(c).execute();
    },
  },
  // Storage usage per project, kept exact in the transactions that change it (metadata-store.ts,
  // "Project usage", says what counts). A blob link gets `released`: a manifest delete releases
  // the blobs only it referenced (no longer served nor counted, still there for a blob DELETE and
  // for a manifest that references it again). The counted sets hold, per project, each distinct
  // blob and manifest with the number of links that hold it; `project_usage` their total bytes,
  // the row a quota check locks. Filled here from what the registry already holds.
  '0004_quotas': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await db.schema.alterTable('repository_blobs').addColumn('released', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      for (const table of ['project_blobs', 'project_manifests']) {
        await t
          .keyed(db.schema.createTable(table))
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          /** Blob: the project's repositories holding it (unreleased links). Manifest: the project's repositories storing it. */
          .addColumn('links', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['project', 'digest'])
          .execute();
      }
      await t
        .keyed(db.schema.createTable('project_usage'))
        .addColumn('project', 'text', (c) => c.primaryKey())
        .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      const project = t.projectOf(sql.ref('r.name'));
      await sql`insert into project_blobs (project, digest, size, links)
                select p, digest, max(size), count(*) from (
                  select ${project} as p, rb.digest as digest, b.size as size from repository_blobs rb
                  join repositories r on r.id = rb.repository_id join blobs b on b.digest = rb.digest) held
                group by p, digest`.execute(db);
      await sql`insert into project_manifests (project, digest, size, links)
                select p, digest, max(size), count(*) from (
                  select ${project} as p, m.digest as digest, m.size as size from manifests m join repositories r on r.id = m.repository_id) stored
                group by p, digest`.execute(db);
      await sql`insert into project_usage (project, used)
                select project, sum(size) from (select project, size from project_blobs union all select project, size from project_manifests) counted
                group by project`.execute(db);
    },
    async down(db: Kysely<any>) {
      for (const t of ['project_usage', 'project_manifests', 'project_blobs']) await db.schema.dropTable(t).execute();
      await db.schema.alterTable('repository_blobs').dropColumn('released').execute();
    },
  },
  // Pull counts and the last pull time of each artifact, folded from the batched artifact.pulled
  // events by a fleet sink (events/pull-stats-sink.ts): a pull itself writes nothing. Beside them,
  // what the management API's lists need: repositories' descriptions (their own table: migrations
  // only add), and the tags of a page of artifacts read from an index alone (measured: the tags of
  // 100 artifacts, 2,900 rows, 12 ms through tags_digest and the table, 4.6 ms from this index).
  '0005_pull_stats': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('artifact_pulls')
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('pull_count', 'bigint', (c) => c.notNull().defaultTo(0))
        /** ms since the epoch of the last pull. */
        .addColumn('pull_time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('artifact_pulls_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema
        .createTable('repository_descriptions')
        .addColumn('repository_id', 'integer', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tags_by_digest').on('tags').columns(['repository_id', 'digest', 'name', 'updated_at']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('tags_by_digest').execute();
      await db.schema.dropTable('repository_descriptions').execute();
      await db.schema.dropTable('artifact_pulls').execute();
    },
  },
  // Tokens `minato login` stores instead of a password: revocable, expiring, kept as hashes.
  '0006_cli_tokens': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .id(db.schema.createTable('cli_tokens'), 'id')
        .addColumn('principal_id', 'integer', (c) => c.notNull())
        /** SHA-256 (hex) of the token: the token itself is shown once. */
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        /** Where it was made from (e.g. "minato login on host"), shown in listings. */
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('cli_tokens_principal').on('cli_tokens').column('principal_id').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('cli_tokens').execute();
    },
  },
  /**
   * Garbage collection (gc/): the journal of blob deletions, and the index its mark phase needs.
   * A row says what GC does to a blob's bytes: `marked` (its metadata is gone, the bytes are to be
   * deleted; a push that commits the blob meanwhile takes it back), `deleting` (the bytes are being
   * deleted: a push that committed them meanwhile must be refused), `deleted` (pruned after a day).
   * `seq` names one deletion, so a commit can tell "deleted before I stored the bytes" (fine) from
   * "deleted while I stored them" (refused). The rows are also what a run resumes after a crash.
   */
  '0007_gc': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .keyed(
          db.schema
            .createTable('blob_deletions')
            .addColumn('digest', 'text', (c) => c.primaryKey())
            .addColumn('state', 'text', (c) => c.notNull())
            .addColumn('size', 'bigint', (c) => c.notNull())
            .addColumn('seq', 'bigint')
            .addColumn('run_id', 'bigint', (c) => c.notNull())
            .addColumn('marked_at', 'bigint', (c) => c.notNull())
            .addColumn('updated_at', 'bigint', (c) => c.notNull()),
        )
        .execute();
      await db.schema.createIndex('blob_deletions_state').on('blob_deletions').columns(['state', 'digest']).execute();
      // "Does any manifest of any repository reference this digest?" for every candidate blob
      // (manifest_references_child leads with the repository).
      await db.schema.createIndex('manifest_references_by_child').on('manifest_references').column('child_digest').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('manifest_references_by_child').execute();
      await db.schema.dropTable('blob_deletions').execute();
    },
  },
  /**
   * The audit log's filters, newest first, as index range scans (measured on a million rows in
   * bench/audit-log.ts: a rare user's or artifact's page took 330-540 ms scanning the time index,
   * a big project's 650 ms sorting its rows; each is now a few ms). Every index ends in
   * (op_time, id), the pages' keyset order; (project_id, op_time, id) replaces 0003's
   * (project_id, id), which could not give that order.
   */
  '0005_audit_indexes': {
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('audit_logs_project').execute();
      for (const column of ['project_id', 'username', 'resource', 'operation', 'resource_type']) {
        await db.schema.createIndex(`audit_logs_${column}_time`).on('audit_logs').columns([column, 'op_time', 'id']).execute();
      }
      // Failures are few (failed logins above all): small indexes of their own, which a query
      // uses when it says success = 0 as a literal (audit/audit-log.ts does).
      for (const [name, columns] of [['audit_logs_failures', ['op_time', 'id']], ['audit_logs_failures_operation', ['operation', 'op_time', 'id']]] as const) {
        await db.schema.createIndex(name).on('audit_logs').columns([...columns]).where(sql.ref('success'), '=', 0).execute();
      }
      if (db.getExecutor().adapter instanceof SqliteAdapter) await auditStatistics(db);
    },
    async down(db: Kysely<any>) {
      for (const name of ['audit_logs_failures', 'audit_logs_failures_operation']) await db.schema.dropIndex(name).execute();
      for (const column of ['project_id', 'username', 'resource', 'operation', 'resource_type']) await db.schema.dropIndex(`audit_logs_${column}_time`).execute();
      await db.schema.createIndex('audit_logs_project').on('audit_logs').columns(['project_id', 'id']).execute();
    },
  },
  // Tag rules per project: immutability rules (Harbor's ImmutableRule, kept as its JSON) and the
  // retention policy (one per project, Harbor's RetentionPolicy as JSON), with the tasks of the
  // retention runs (one per repository: what it kept and deleted, the task's log). The runs
  // themselves are the job scheduler's (jobs/scheduler.ts keeps their history).
  '0008_tag_rules': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .id(db.schema.createTable('immutable_rules'), 'id')
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('immutable_rules_project').on('immutable_rules').column('project_id').execute();
      await t
        .id(db.schema.createTable('retention_policies'), 'id')
        .addColumn('project_id', 'integer', (c) => c.notNull().unique())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await t
        .id(db.schema.createTable('retention_tasks'), 'id', true)
        .addColumn('policy_id', 'integer', (c) => c.notNull())
        .addColumn('execution_id', 'bigint', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('start_time', 'bigint', (c) => c.notNull())
        .addColumn('end_time', 'bigint')
        .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('retained', 'integer', (c) => c.notNull().defaultTo(0))
        /** JSON: every artifact of the repository with RETAIN or DEL (and why). */
        .addColumn('log', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.createIndex('retention_tasks_execution').on('retention_tasks').columns(['policy_id', 'execution_id']).execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['retention_tasks', 'retention_policies', 'immutable_rules']) await db.schema.dropTable(table).execute();
    },
  },
  '0009_trust': {
    async up(db: Kysely<any>) {
      // One row per project that has a trust policy; none means level "off" and no material.
      await db.schema
        .createTable('trust_policies')
        .addColumn('project_id', 'integer', (c) => c.primaryKey())
        .addColumn('level', 'text', (c) => c.notNull())
        /** JSON: the trust material (trust/signatures.ts TrustMaterial without its version). */
        .addColumn('material', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('trust_policies').execute();
    },
  },
  // Simple signatures (containers/image's X-Registry-Supports-Signatures extension: skopeo and
  // podman --sign-by): the signature bytes a client stored for a manifest of a repository, with
  // the name it gave and the sha256 of the bytes (identical content is stored once). The foreign
  // key deletes them with their manifest, whatever deletes it (a DELETE, garbage collection,
  // retention, a repository's removal), in the same transaction.
  '0010_simple_signatures': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .id(db.schema.createTable('simple_signatures'), 'id', true)
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('content', t.bytes, (c) => c.notNull())
        .addColumn('content_digest', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addForeignKeyConstraint('simple_signatures_manifest', ['repository_id', 'manifest_digest'], 'manifests', ['repository_id', 'digest'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('simple_signatures_content').on('simple_signatures').columns(['repository_id', 'manifest_digest', 'content_digest']).unique().execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('simple_signatures').execute();
    },
  },
  /** Imported vulnerability data (scan/vulndb/): records, the packages they affect, and the imports. */
  '0011_vulndb': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .keyed(db.schema.createTable('vulndb_records'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('modified', 'text', (c) => c.notNull())
        /** sha256 of the normalised record: an import that brings nothing new changes nothing. */
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('withdrawn', 'text')
        /** JSON: the record without its affected packages (aliases, texts, severity, links). */
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('imported_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vulndb_records_pk', ['source', 'key'])
        .execute();
      await t
        .id(db.schema.createTable('vulndb_affected'), 'id', true)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('ecosystem', 'text', (c) => c.notNull())
        .addColumn('package', 'text', (c) => c.notNull())
        /** JSON: ranges, versions, a per-package severity. */
        .addColumn('affected', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('vulndb_affected_package').on('vulndb_affected').columns(['package', 'ecosystem']).execute();
      await db.schema.createIndex('vulndb_affected_record').on('vulndb_affected').columns(['source', 'key']).execute();
      await t
        .id(db.schema.createTable('vulndb_imports'), 'id')
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('added', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('unchanged', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('rejected', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['vulndb_imports', 'vulndb_affected', 'vulndb_records']) await db.schema.dropTable(table).execute();
    },
  },
  /** Scan reports and the package inventories they matched, per artifact digest (scan/reports.ts). */
  '0012_scan_reports': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .keyed(db.schema.createTable('scan_reports'))
        .addColumn('digest', 'text', (c) => c.primaryKey())
        /** Where it was last scanned from (a re-scan reads the layers there). */
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('report_id', 'text', (c) => c.notNull())
        /** Pending, Running, Success, Error or Stopped. */
        .addColumn('status', 'text', (c) => c.notNull())
        /** JSON: { name, vendor, version }. */
        .addColumn('scanner', 'text', (c) => c.notNull())
        .addColumn('start_time', 'bigint', (c) => c.notNull())
        .addColumn('end_time', 'bigint')
        /** JSON: the summary (counts per severity, fixable, ids). */
        .addColumn('summary', 'text')
        /** JSON: the findings. */
        .addColumn('findings', 'text')
        .addColumn('error', 'text')
        .execute();
      await t
        .keyed(db.schema.createTable('scan_inventories'))
        .addColumn('digest', 'text', (c) => c.primaryKey())
        /** JSON: the Inventory the built-in scanner read from the layers. */
        .addColumn('inventory', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['scan_inventories', 'scan_reports']) await db.schema.dropTable(table).execute();
    },
  },
  // Scan policy: CVE allowlists (Harbor's CVEAllowlist: the system's is project_id 0, a project's
  // its id; items as a JSON array of CVE ids) and the scanner adapter registrations (Harbor's
  // ScannerRegistration, with the project that chose one: project_scanners).
  '0013_scan_policy': {
    async up(db: Kysely<any>, t: ColumnTypes) {
      await t
        .id(db.schema.createTable('cve_allowlists'), 'id')
        .addColumn('project_id', 'integer', (c) => c.notNull().unique())
        .addColumn('expires_at', 'bigint')
        .addColumn('items', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await t
        .id(db.schema.createTable('scanner_registrations'), 'id')
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        /** JSON: Harbor's ScannerRegistration fields other than the columns (url, auth, credential, flags). */
        .addColumn('registration', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('project_scanners')
        .addColumn('project_id', 'integer', (c) => c.primaryKey())
        .addColumn('scanner_uuid', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['project_scanners', 'scanner_registrations', 'cve_allowlists']) await db.schema.dropTable(table).execute();
    },
  },
};

/**
 * SQLite's planner, without statistics, takes the first index that fits a query (for "a rare
 * user's failed logins", the operation index: 145 ms at a million rows instead of 1). A real
 * ANALYZE takes seconds at that size, and one on a sample (analysis_limit) sees one key per
 * index. So the audit log's shape is told to it as statistics (sqlite_stat1, which SQLite lets
 * applications write): rows per key of each index, as a large audit log has them (a few
 * operations and resource types, hundreds of projects, thousands of users, more resources,
 * failures ~1 %). PostgreSQL's autovacuum gathers real ones.
 */
async function auditStatistics(db: Kysely<any>): Promise<void> {
  const rowsPerKey: Record<string, string> = {
    audit_logs_time: '1000000 2 1',
    audit_logs_event: '1000000 1',
    audit_logs_project_id_time: '1000000 2000 2 1',
    audit_logs_username_time: '1000000 500 2 1',
    audit_logs_resource_time: '1000000 50 2 1',
    audit_logs_operation_time: '1000000 200000 2 1',
    audit_logs_resource_type_time: '1000000 150000 2 1',
    audit_logs_failures: '10000 2 1',
    audit_logs_failures_operation: '10000 5000 2 1',
  };
  await sql`analyze audit_logs`.execute(db); // creates sqlite_stat1
  await sql`delete from sqlite_stat1 where tbl = 'audit_logs'`.execute(db);
  for (const [idx, stat] of Object.entries(rowsPerKey)) await sql`insert into sqlite_stat1 (tbl, idx, stat) values ('audit_logs', ${idx}, ${stat})`.execute(db);
  await sql`analyze sqlite_schema`.execute(db); // reloads the statistics
}

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
