// The embedded metadata store: one SQLite file (WAL), one process. Every listing is an index range
// scan (`WHERE name > last ORDER BY name LIMIT n`), never a walk over storage.
//
// Reads are prepared once and run synchronously on the read connection: building and compiling a
// Kysely query and preparing its SQL again cost more than the lookup itself (the manifest-by-tag
// path was 3x slower than by digest). Writes run on a second connection, one transaction at a
// time behind an async lock, so that a transaction may await (a policy, the outbox) without other
// requests' statements landing inside it; they only ever see committed state on the read
// connection. Kysely (migrations, users) shares the read connection with autocommit statements.
import type Sqlite from 'better-sqlite3';
import { openSqlite, sqliteHandle, type Db } from '../db.js';
import type { RegistryEvent, StoredEvent } from '../../events/events.js';
import { eventRepository } from '../../events/events.js';
import type { UploadState } from '../../storage/blob-store.js';
import type {
  BlobDeletion,
  CollectedBlob,
  DeletedManifest,
  ManifestRecord,
  MetadataStore,
  MetadataTx,
  PrincipalRecord,
  ProjectQuota,
  ReferrerDescriptor,
  StoredContent,
  UploadRecord,
  UsageRecount,
} from '../metadata-store.js';
import { projectOf } from '../../oci/names.js';
import { SerialLock } from '../../util/async.js';
import { recountProjectUsage, usageProjectsQuery, type QueryRunner } from '../project-usage.js';
import * as gc from '../gc-queries.js';
import { manifestColumns, manifestFromRow, referrerFromRow, uploadFromRow, type ManifestRow, type ReferrerRow, type UploadRow } from '../rows.js';
import { FALLBACK_CHECKPOINT_PAGES, WalCheckpointer } from './wal-checkpointer.js';


/** Prepared statements of one connection, prepared on first use. */
class Statements {
  private readonly prepared = new Map<string, Sqlite.Statement>();
  constructor(readonly connection: Sqlite.Database) {}
  q(sql: string): Sqlite.Statement {
    let stmt = this.prepared.get(sql);
    if (!stmt) {
      stmt = this.connection.prepare(sql);
      this.prepared.set(sql, stmt);
    }
    return stmt;
  }
}

export class SqliteMetadataStore implements MetadataStore {
  // Repository ids never change once assigned (repositories are not deleted yet), so a name -> id
  // cache is always right. Ids made inside a transaction join it only once it commits.
  private readonly repoIds = new Map<string, number>();
  // Uploads that have not received a byte yet are kept here, not in the database: recording
  // them cost a write transaction per pushed blob (POST, then PUT with the body), and an upload
  // with nothing in it has nothing to resume after a restart; the client starts a new one.
  private readonly emptyUploads = new Map<string, UploadRecord>();
  private readonly principals = new Map<string, PrincipalRecord>();
  private readonly read: Statements;
  private readonly write: Statements;
  private readonly lock = new SerialLock();

  private constructor(
    /** Kysely on the read connection, for modules that query with it (users) and migrations. */
    readonly db: Db,
    writer: Sqlite.Database,
    private readonly checkpointer: WalCheckpointer,
  ) {
    this.read = new Statements(sqliteHandle(db));
    this.write = new Statements(writer);
  }

  static async open(file: string): Promise<SqliteMetadataStore> {
    const db = await openSqlite(file);
    const Database = (await import('better-sqlite3')).default;
    const writer = new Database(file);
    writer.pragma('synchronous = NORMAL');
    writer.pragma('foreign_keys = ON');
    writer.pragma('busy_timeout = 5000');
    // Checkpoints run on a worker thread (wal-checkpointer.ts); a commit here does one only past the fallback size.
    for (const connection of [writer, sqliteHandle(db)]) connection.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
    const checkpointer = new WalCheckpointer(file, undefined, (err) =>
      process.emitWarning(`the WAL checkpointer of ${file} stopped (${err.message}); commits checkpoint the database themselves from now on`),
    );
    return new SqliteMetadataStore(db, writer, checkpointer);
  }

  async close(): Promise<void> {
    await this.checkpointer.close();
    await this.lock.run(async () => this.write.connection.close());
    await this.db.destroy();
  }

  outsideTransactions<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  async ping(): Promise<void> {
    this.read.q('select 1').get();
  }

  async transaction<T>(fn: (tx: MetadataTx) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const tx = new SqliteTx(this.write, this.repoIds, this.emptyUploads);
      this.write.q('begin immediate').run();
      let result: T;
      try {
        result = await fn(tx);
        this.write.q('commit').run();
      } catch (err) {
        if (this.write.connection.inTransaction) this.write.q('rollback').run();
        throw err;
      }
      tx.committed();
      return result;
    });
  }

  private repositoryId(name: string): number | undefined {
    const cached = this.repoIds.get(name);
    if (cached !== undefined) return cached;
    const row = this.read.q('select id from repositories where name = ?').get(name) as { id: number } | undefined;
    if (row) this.repoIds.set(name, row.id);
    return row?.id;
  }

  async repositoryExists(name: string): Promise<boolean> {
    return this.repositoryId(name) !== undefined;
  }

  async repositoryBlobSize(repository: string, digest: string): Promise<number | undefined> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    const row = this.read
      .q(
        'select blobs.size as size from repository_blobs inner join blobs on blobs.digest = repository_blobs.digest ' +
          'where repository_blobs.repository_id = ? and repository_blobs.digest = ? and repository_blobs.released = 0',
      )
      .get(repositoryId, digest) as { size: number } | undefined;
    return row === undefined ? undefined : Number(row.size);
  }

  async blobDeletion(digest: string): Promise<BlobDeletion | undefined> {
    const row = this.read.q('select state, seq from blob_deletions where digest = ?').get(digest) as { state: BlobDeletion['state']; seq: number | null } | undefined;
    return row && { state: row.state, seq: row.seq === null ? null : Number(row.seq) };
  }

  async repositoriesWithBlob(digest: string, limit: number): Promise<string[]> {
    return this.read
      .q(
        'select repositories.name from repository_blobs inner join repositories on repositories.id = repository_blobs.repository_id ' +
          'where repository_blobs.digest = ? and repository_blobs.released = 0 order by repository_blobs.created_at limit ?',
      )
      .pluck()
      .all(digest, limit) as string[];
  }

  async blobSizes(repository: string, digests: string[]): Promise<Map<string, number>> {
    return this.sizes(
      'select repository_blobs.digest as digest, blobs.size as size from repository_blobs inner join blobs on blobs.digest = repository_blobs.digest ' +
        'where repository_blobs.repository_id = ? and repository_blobs.digest in (select value from json_each(?))',
      repository,
      digests,
    );
  }

  async manifestSizes(repository: string, digests: string[]): Promise<Map<string, number>> {
    return this.sizes('select digest, size from manifests where repository_id = ? and digest in (select value from json_each(?))', repository, digests);
  }

  private sizes(sql: string, repository: string, digests: string[]): Map<string, number> {
    const found = new Map<string, number>();
    if (digests.length === 0) return found;
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return found;
    // One statement whatever the count: the digests go in as one JSON array parameter, so
    // manifests with thousands of layers stay below SQLite's bound-parameter limit.
    const rows = this.read.q(sql).all(repositoryId, JSON.stringify([...new Set(digests)])) as Array<{ digest: string; size: number }>;
    for (const r of rows) found.set(r.digest, Number(r.size));
    return found;
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    const row = this.read
      .q('select digest, media_type, artifact_type, subject, annotations, size, content from manifests where repository_id = ? and digest = ?')
      .get(repositoryId, digest) as ManifestRow | undefined;
    return row && manifestFromRow(row);
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    return resolveTagOn(this.read, repositoryId, tag);
  }

  async listTags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return [];
    const rows =
      last === undefined
        ? this.read.q('select name from tags where repository_id = ? order by name limit ?').pluck().all(repositoryId, limit)
        : this.read.q('select name from tags where repository_id = ? and name > ? order by name limit ?').pluck().all(repositoryId, last, limit);
    return rows as string[];
  }

  async listRepositories(last: string | undefined, limit: number): Promise<string[]> {
    const rows =
      last === undefined
        ? this.read.q('select name from repositories order by name limit ?').pluck().all(limit)
        : this.read.q('select name from repositories where name > ? order by name limit ?').pluck().all(last, limit);
    return rows as string[];
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerDescriptor[]> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return [];
    const columns = 'select digest, media_type, artifact_type, annotations, size from manifests where repository_id = ? and subject = ?';
    const rows = (
      artifactType === undefined
        ? this.read.q(`${columns} order by created_at, digest`).all(repositoryId, subject)
        : this.read.q(`${columns} and artifact_type = ? order by created_at, digest`).all(repositoryId, subject, artifactType)
    ) as ReferrerRow[];
    return rows.map(referrerFromRow);
  }

  async createUpload(record: Omit<UploadRecord, 'updatedAt' | 'durable'>): Promise<void> {
    this.emptyUploads.set(record.id, { ...record, updatedAt: record.createdAt, durable: false });
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const empty = this.emptyUploads.get(id);
    if (empty) return empty;
    const row = this.read.q('select id, repository, created_at, updated_at, offset_bytes, state from uploads where id = ?').get(id) as UploadRow | undefined;
    return row && uploadFromRow(row);
  }

  async uploadsIdleSince(time: number): Promise<UploadRecord[]> {
    const rows = this.read.q('select id, repository, created_at, updated_at, offset_bytes, state from uploads where (case when updated_at = 0 then created_at else updated_at end) < ?').all(time) as UploadRow[];
    const idle = rows.map(uploadFromRow);
    for (const upload of this.emptyUploads.values()) if (upload.updatedAt < time) idle.push(upload);
    return idle;
  }

  async projectQuota(project: string): Promise<ProjectQuota> {
    return quotaOn(this.read, project);
  }

  async unheldBytes(project: string, content: StoredContent): Promise<number> {
    return unheldOn(this.read, project, content);
  }

  async usageProjects(): Promise<string[]> {
    const query = usageProjectsQuery('sqlite');
    return (this.read.q(query.sql).all(...query.parameters) as Array<{ project: string }>).map((r) => r.project);
  }

  async principal(kind: PrincipalRecord['kind'], name: string): Promise<PrincipalRecord> {
    const key = `${kind}:${name}`;
    const cached = this.principals.get(key);
    if (cached) return cached;
    const select = () => this.read.q('select id, kind, name, created_at from principals where kind = ? and name = ?').get(kind, name) as
      | { id: number; kind: PrincipalRecord['kind']; name: string; created_at: number }
      | undefined;
    let row = select();
    if (!row) {
      await this.transaction(async () => {
        this.write.q('insert into principals (kind, name, created_at) values (?, ?, ?) on conflict (kind, name) do nothing').run(kind, name, Date.now());
      });
      row = select()!;
    }
    const record: PrincipalRecord = { id: Number(row.id), kind: row.kind, name: row.name, createdAt: Number(row.created_at) };
    this.principals.set(key, record);
    return record;
  }

  async eventsAfter(after: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.read.q('select id, payload from events where id > ? order by id limit ?').all(after, limit) as Array<{ id: number; payload: string }>;
    return rows.map((r) => ({ ...(JSON.parse(r.payload) as RegistryEvent), id: Number(r.id) }));
  }

  async lastEventId(): Promise<number> {
    return Number(this.read.q('select coalesce(max(id), 0) from events').pluck().get());
  }

  async eventCursor(sink: string): Promise<number | undefined> {
    const id = this.read.q('select last_id from event_cursors where sink = ?').pluck().get(sink) as number | undefined;
    return id === undefined ? undefined : Number(id);
  }

  async saveEventCursor(sink: string, lastId: number): Promise<void> {
    await this.transaction(async () => {
      this.write.q('insert into event_cursors (sink, last_id) values (?, ?) on conflict (sink) do update set last_id = excluded.last_id').run(sink, lastId);
    });
  }

  async pruneEvents(before: number): Promise<number> {
    return this.transaction(async () => this.write.q('delete from events where created_at < ?').run(before).changes);
  }
}

/** The changes of one transaction, on the write connection (which is in the transaction). */
class SqliteTx implements MetadataTx {
  private readonly newRepoIds = new Map<string, number>();
  /** Uploads this transaction wrote or deleted: no longer only in memory once it commits. */
  private readonly uploadsStored: string[] = [];

  constructor(
    private readonly w: Statements,
    private readonly repoIds: Map<string, number>,
    private readonly emptyUploads: Map<string, UploadRecord>,
  ) {}

  /** Applies what only becomes true once the transaction has committed. */
  committed(): void {
    for (const [name, id] of this.newRepoIds) this.repoIds.set(name, id);
    for (const id of this.uploadsStored) this.emptyUploads.delete(id);
  }

  private repositoryId(name: string): number | undefined {
    const known = this.repoIds.get(name) ?? this.newRepoIds.get(name);
    if (known !== undefined) return known;
    const row = this.w.q('select id from repositories where name = ?').get(name) as { id: number } | undefined;
    if (row) this.newRepoIds.set(name, row.id);
    return row?.id;
  }

  private ensureRepository(name: string): number {
    const existing = this.repositoryId(name);
    if (existing !== undefined) return existing;
    this.w.q('insert into repositories (name, created_at) values (?, ?)').run(name, Date.now());
    return this.repositoryId(name)!;
  }

  async linkBlob(repository: string, digest: string, size: number): Promise<void> {
    const repositoryId = this.ensureRepository(repository);
    const now = Date.now();
    this.w.q('insert into blobs (digest, size, created_at) values (?, ?, ?) on conflict (digest) do nothing').run(digest, size, now);
    // A change when the link is new or was released: the repository holds the blob now (and since
    // now: garbage collection's grace window for links no manifest references counts from here).
    const held = this.w
      .q(
        'insert into repository_blobs (repository_id, digest, created_at) values (?, ?, ?) ' +
          'on conflict (repository_id, digest) do update set released = 0, created_at = excluded.created_at where released <> 0',
      )
      .run(repositoryId, digest, now).changes;
    if (held > 0) this.hold('project_blobs', projectOf(repository), [{ digest, size }]);
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return false;
    const link = this.w.q('delete from repository_blobs where repository_id = ? and digest = ? returning released').get(repositoryId, digest) as { released: number } | undefined;
    if (link === undefined) return false;
    if (link.released === 0) this.release('project_blobs', projectOf(repository), [digest]);
    return true;
  }

  async putManifest(repository: string, manifest: ManifestRecord, references: string[], tag?: string): Promise<void> {
    const repositoryId = this.ensureRepository(repository);
    const project = projectOf(repository);
    const now = Date.now();
    const stored = this.w
      .q(
        'insert into manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at) ' +
          'values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (repository_id, digest) do nothing',
      )
      .run(repositoryId, ...manifestColumns(manifest), now).changes;
    if (stored > 0) this.hold('project_manifests', project, [{ digest: manifest.digest, size: manifest.size }]);
    const children = [...new Set(references)];
    const addReference = this.w.q('insert into manifest_references (repository_id, manifest_digest, child_digest) values (?, ?, ?) on conflict do nothing');
    for (const child of children) addReference.run(repositoryId, manifest.digest, child);
    if (children.length > 0) {
      // Released blobs it references are held again (and counted again).
      const released = this.w
        .q(
          'select repository_blobs.digest as digest, blobs.size as size from repository_blobs inner join blobs on blobs.digest = repository_blobs.digest ' +
            'where repository_blobs.repository_id = ? and repository_blobs.released <> 0 and repository_blobs.digest in (select value from json_each(?))',
        )
        .all(repositoryId, JSON.stringify(children)) as Array<{ digest: string; size: number }>;
      if (released.length > 0) {
        const hold = this.w.q('update repository_blobs set released = 0 where repository_id = ? and digest = ?');
        for (const b of released) hold.run(repositoryId, b.digest);
        this.hold('project_blobs', project, released);
      }
    }
    if (tag !== undefined) {
      this.w
        .q(
          'insert into tags (repository_id, name, digest, updated_at) values (?, ?, ?, ?) ' +
            'on conflict (repository_id, name) do update set digest = excluded.digest, updated_at = excluded.updated_at',
        )
        .run(repositoryId, tag, manifest.digest, now);
    }
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const repositoryId = this.repositoryId(repository);
    return repositoryId === undefined ? undefined : resolveTagOn(this.w, repositoryId, tag);
  }

  async deleteManifest(repository: string, digest: string): Promise<DeletedManifest> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return { deleted: false, tags: [] };
    const project = projectOf(repository);
    const tags = this.w.q('delete from tags where repository_id = ? and digest = ? returning name').pluck().all(repositoryId, digest) as string[];
    const children = this.w.q('delete from manifest_references where repository_id = ? and manifest_digest = ? returning child_digest').pluck().all(repositoryId, digest) as string[];
    const deleted = this.w.q('delete from manifests where repository_id = ? and digest = ?').run(repositoryId, digest).changes > 0;
    if (deleted) this.release('project_manifests', project, [digest]);
    if (children.length > 0) {
      // Its blobs that no other manifest of the repository references are released.
      const released = this.w
        .q(
          'update repository_blobs set released = 1 where repository_id = ? and released = 0 and digest in (select value from json_each(?)) ' +
            'and not exists (select 1 from manifest_references mr where mr.repository_id = repository_blobs.repository_id and mr.child_digest = repository_blobs.digest) ' +
            'returning digest',
        )
        .pluck()
        .all(repositoryId, JSON.stringify(children)) as string[];
      if (released.length > 0) this.release('project_blobs', project, released);
    }
    return { deleted, tags: tags.sort() };
  }

  async deleteTag(repository: string, tag: string): Promise<string | undefined> {
    const repositoryId = this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    return this.w.q('delete from tags where repository_id = ? and name = ? returning digest').pluck().get(repositoryId, tag) as string | undefined;
  }

  async updateUpload(id: string, state: UploadState, expectedOffset: number): Promise<boolean> {
    const now = Date.now();
    const empty = this.uploadsStored.includes(id) ? undefined : this.emptyUploads.get(id);
    if (empty) {
      if (expectedOffset !== empty.state.offset) return false;
      this.w
        .q('insert into uploads (id, repository, created_at, updated_at, offset_bytes, state) values (?, ?, ?, ?, ?, ?)')
        .run(id, empty.repository, empty.createdAt, now, state.offset, JSON.stringify(state));
      this.uploadsStored.push(id);
      return true;
    }
    return (
      this.w
        .q('update uploads set state = ?, offset_bytes = ?, updated_at = ? where id = ? and offset_bytes = ?')
        .run(JSON.stringify(state), state.offset, now, id, expectedOffset).changes > 0
    );
  }

  async deleteUpload(id: string): Promise<void> {
    this.uploadsStored.push(id);
    this.w.q('delete from uploads where id = ?').run(id);
  }

  async appendEvents(events: RegistryEvent[]): Promise<void> {
    const insert = this.w.q('insert into events (type, repository, payload, created_at) values (?, ?, ?, ?)');
    const now = Date.now();
    for (const event of events) insert.run(event.type, eventRepository(event) ?? null, JSON.stringify(event), now);
  }

  // One writer at a time (the store's lock): the usage needs no row lock here.
  async projectQuota(project: string): Promise<ProjectQuota> {
    return quotaOn(this.w, project);
  }

  async unheldBytes(project: string, content: StoredContent): Promise<number> {
    return unheldOn(this.w, project, content);
  }

  async setStorageLimit(project: string, limit: number): Promise<boolean> {
    return this.w.q('update projects set storage_limit = ?, updated_at = ? where name = ?').run(limit, Date.now(), project).changes > 0;
  }

  /** Runs the shared queries (project-usage.ts, gc-queries.ts) on the write connection. */
  private readonly run: QueryRunner = {
    rows: async <R>(query: { sql: string; parameters: readonly unknown[] }) => this.w.q(query.sql).all(...query.parameters) as R[],
    change: async (query) => this.w.q(query.sql).run(...query.parameters).changes,
  };

  async recountProjectUsage(project: string): Promise<UsageRecount> {
    return recountProjectUsage(this.run, 'sqlite', project);
  }

  // Garbage collection: one writer, so no locks (see MetadataTx).
  claimBlob(repository: string, digest: string, seen: BlobDeletion | undefined): Promise<boolean> {
    return gc.claimBlob(this.run, 'sqlite', digest, seen);
  }

  missingReferences(repository: string, blobs: readonly string[], manifests: readonly string[]): Promise<string[]> {
    return gc.missingReferences(this.run, 'sqlite', repository, blobs, manifests);
  }

  manifestCollectable(repository: string, digest: string, before: number): Promise<boolean> {
    return gc.manifestCollectable(this.run, 'sqlite', repository, digest, before);
  }

  async unlinkUnreferenced(repository: string, digests: readonly string[], before: number): Promise<string[]> {
    const unreferenced = await gc.unreferencedLinks(this.run, 'sqlite', repository, digests, before);
    for (const digest of unreferenced) await this.unlinkBlob(repository, digest);
    return unreferenced;
  }

  markBlobs(digests: readonly string[], runId: number): Promise<CollectedBlob[]> {
    return gc.markBlobs(this.run, 'sqlite', digests, runId);
  }

  markOrphans(blobs: readonly CollectedBlob[], runId: number): Promise<CollectedBlob[]> {
    return gc.markOrphans(this.run, 'sqlite', blobs, runId);
  }

  startDeleting(digests: readonly string[], seq: number): Promise<CollectedBlob[]> {
    return gc.startDeleting(this.run, 'sqlite', digests, seq);
  }

  finishDeleting(digests: readonly string[]): Promise<void> {
    return gc.finishDeleting(this.run, 'sqlite', digests);
  }

  pruneDeletions(before: number): Promise<number> {
    return gc.pruneDeletions(this.run, 'sqlite', before);
  }

  /** One more link holds each of these in the project; the first adds its size to the usage. */
  private hold(table: 'project_blobs' | 'project_manifests', project: string, content: ReadonlyArray<{ digest: string; size: number }>): void {
    const upsert = this.w.q(`insert into ${table} (project, digest, size, links) values (?, ?, ?, 1) on conflict (project, digest) do update set links = links + 1 returning links`);
    let added = 0;
    for (const c of content) if ((upsert.get(project, c.digest, c.size) as { links: number }).links === 1) added += c.size;
    this.addUsage(project, added);
  }

  /** One link fewer holds each of these in the project; the last gives its size back. */
  private release(table: 'project_blobs' | 'project_manifests', project: string, digests: readonly string[]): void {
    const decrement = this.w.q(`update ${table} set links = links - 1 where project = ? and digest = ? returning links, size`);
    const remove = this.w.q(`delete from ${table} where project = ? and digest = ?`);
    let freed = 0;
    for (const digest of digests) {
      const left = decrement.get(project, digest) as { links: number; size: number } | undefined;
      if (left === undefined || left.links > 0) continue;
      remove.run(project, digest);
      freed += Number(left.size);
    }
    this.addUsage(project, -freed);
  }

  private addUsage(project: string, delta: number): void {
    if (delta === 0) return;
    this.w.q('insert into project_usage (project, used) values (?, ?) on conflict (project) do update set used = used + excluded.used').run(project, delta);
  }
}

function quotaOn(statements: Statements, project: string): ProjectQuota {
  // One indexed lookup and a join when the project exists (every push asks, twice).
  const row = statements
    .q('select p.id as id, p.storage_limit as storage_limit, coalesce(u.used, 0) as used from projects p left join project_usage u on u.project = p.name where p.name = ?')
    .get(project) as { id: number; storage_limit: number; used: number } | undefined;
  if (row) return { project, projectId: row.id, limit: Number(row.storage_limit), used: Number(row.used) };
  const used = statements.q('select coalesce((select used from project_usage where project = ?), 0)').pluck().get(project) as number;
  return { project, projectId: undefined, limit: -1, used: Number(used) };
}

function unheldOn(statements: Statements, project: string, content: StoredContent): number {
  let bytes = 0;
  const blobs = new Map(content.blobs.map((b) => [b.digest, b.size]));
  if (blobs.size > 0) {
    const held = statements
      .q('select digest from project_blobs where project = ? and digest in (select value from json_each(?))')
      .pluck()
      .all(project, JSON.stringify([...blobs.keys()])) as string[];
    for (const digest of held) blobs.delete(digest);
    for (const size of blobs.values()) bytes += size;
  }
  const { manifest } = content;
  if (manifest && statements.q('select 1 from project_manifests where project = ? and digest = ?').get(project, manifest.digest) === undefined) bytes += manifest.size;
  return bytes;
}

function resolveTagOn(statements: Statements, repositoryId: number, tag: string): string | undefined {
  return statements.q('select digest from tags where repository_id = ? and name = ?').pluck().get(repositoryId, tag) as string | undefined;
}


