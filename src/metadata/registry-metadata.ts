// Queries for repositories, blobs, manifests, tags, referrers and uploads. Every listing is an
// index range scan (`WHERE name > last ORDER BY name LIMIT n`), never a walk over storage.
//
// These run on every registry request, so they are prepared once and executed synchronously on
// the better-sqlite3 connection: building and compiling a Kysely query and preparing its SQL
// again cost more than the lookup itself (the manifest-by-tag path was 3x slower than by
// digest). Transactions are synchronous better-sqlite3 transactions, so no other statement can
// run inside one. Other modules keep using Kysely on the same connection; its queries are single
// autocommit statements, which cannot interleave with these.
import type Sqlite from 'better-sqlite3';
import { sqliteHandle, type Db } from './db.js';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  size: number;
  content: Buffer;
}

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface UploadRecord {
  id: string;
  repository: string;
  createdAt: number;
}

/**
 * Tag names kept in memory for listings, over all repositories: ~50 bytes each, so ~12 MiB at
 * most. With 50,000 a repository of 100,000 tags and one of 5,000, listed in turn, pushed each
 * other out, and every listing of the large one began by reading all its tags again.
 */
const MAX_CACHED_TAGS = 250_000;

export class RegistryMetadata {
  // Repository ids never change once assigned, so a name -> id cache is always right.
  private readonly repoIds = new Map<string, number>();
  // Sorted tag names of recently listed repositories: a paginated listing is a binary search
  // and a slice instead of a query per page (~60 us each with 100 rows). A tag put or delete
  // in this process updates the list in place (so the first listing after a burst of pushes
  // does not reread them all); nothing else writes this database.
  private readonly tagLists = new Map<number, string[]>();
  private tagListsSize = 0;
  // Uploads that have not received a byte yet are kept here, not in the database: recording
  // them cost a write transaction per pushed blob (POST, then PUT with the body), and an upload
  // with nothing in it has nothing to resume after a restart; the client starts a new one.
  private readonly emptyUploads = new Map<string, UploadRecord>();
  private readonly sqlite: Sqlite.Database;
  private readonly statements = new Map<string, Sqlite.Statement>();

  constructor(readonly db: Db) {
    this.sqlite = sqliteHandle(db);
  }

  /** The prepared statement for this SQL (prepared on first use, then reused). */
  private q(sql: string): Sqlite.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.sqlite.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private repositoryIdSync(name: string): number | undefined {
    const cached = this.repoIds.get(name);
    if (cached !== undefined) return cached;
    const row = this.q('select id from repositories where name = ?').get(name) as { id: number } | undefined;
    if (row) this.repoIds.set(name, row.id);
    return row?.id;
  }

  private ensureRepositorySync(name: string): number {
    const existing = this.repositoryIdSync(name);
    if (existing !== undefined) return existing;
    const created = this.q('insert into repositories (name, created_at) values (?, ?) on conflict (name) do nothing').run(name, Date.now()).changes > 0;
    const id = this.repositoryIdSync(name);
    if (id === undefined) throw new Error(`repository ${name} vanished while being created`);
    // A new repository has no tags: its list starts empty instead of being read at the first listing.
    if (created) this.rememberTagList(id, []);
    return id;
  }

  async repositoryId(name: string): Promise<number | undefined> {
    return this.repositoryIdSync(name);
  }

  /**
   * Records a committed blob and makes it part of the repository; when it came from an upload,
   * the upload record goes in the same transaction.
   */
  async linkBlob(repository: string, digest: string, size: number, finishedUpload?: string): Promise<void> {
    const repositoryId = this.ensureRepositorySync(repository);
    const now = Date.now();
    this.sqlite.transaction(() => {
      this.q('insert into blobs (digest, size, created_at) values (?, ?, ?) on conflict (digest) do nothing').run(digest, size, now);
      this.q(
        'insert into repository_blobs (repository_id, digest, created_at) values (?, ?, ?) on conflict (repository_id, digest) do nothing',
      ).run(repositoryId, digest, now);
      if (finishedUpload !== undefined && !this.emptyUploads.delete(finishedUpload)) this.q('delete from uploads where id = ?').run(finishedUpload);
    })();
  }

  /** Size of a blob the repository holds, or undefined. */
  async repositoryBlobSize(repository: string, digest: string): Promise<number | undefined> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return undefined;
    const row = this.q(
      'select blobs.size as size from repository_blobs inner join blobs on blobs.digest = repository_blobs.digest ' +
        'where repository_blobs.repository_id = ? and repository_blobs.digest = ?',
    ).get(repositoryId, digest) as { size: number } | undefined;
    return row === undefined ? undefined : Number(row.size);
  }

  /** Names of repositories that hold a blob, at most `limit`, oldest link first. */
  async repositoriesWithBlob(digest: string, limit: number): Promise<string[]> {
    return this.q(
      'select repositories.name from repository_blobs inner join repositories on repositories.id = repository_blobs.repository_id ' +
        'where repository_blobs.digest = ? order by repository_blobs.created_at limit ?',
    )
      .pluck()
      .all(digest, limit) as string[];
  }

  /** Removes a blob from a repository (the bytes stay until garbage collection). */
  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return false;
    return this.q('delete from repository_blobs where repository_id = ? and digest = ?').run(repositoryId, digest).changes > 0;
  }

  /** Sizes of those of these digests that are blobs of the repository. */
  async blobSizes(repository: string, digests: string[]): Promise<Map<string, number>> {
    return this.sizes(
      'select repository_blobs.digest as digest, blobs.size as size from repository_blobs inner join blobs on blobs.digest = repository_blobs.digest ' +
        'where repository_blobs.repository_id = ? and repository_blobs.digest in (select value from json_each(?))',
      repository,
      digests,
    );
  }

  /** Sizes of those of these digests that are manifests of the repository. */
  async manifestSizes(repository: string, digests: string[]): Promise<Map<string, number>> {
    return this.sizes('select digest, size from manifests where repository_id = ? and digest in (select value from json_each(?))', repository, digests);
  }

  private sizes(sql: string, repository: string, digests: string[]): Map<string, number> {
    const found = new Map<string, number>();
    if (digests.length === 0) return found;
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return found;
    // One statement whatever the count: the digests go in as one JSON array parameter, so
    // manifests with thousands of layers stay below SQLite's bound-parameter limit.
    const rows = this.q(sql).all(repositoryId, JSON.stringify([...new Set(digests)])) as Array<{ digest: string; size: number }>;
    for (const r of rows) found.set(r.digest, Number(r.size));
    return found;
  }

  /** Stores a manifest (idempotent) with its references, and points `tag` at it when given. */
  async putManifest(repository: string, manifest: ManifestRecord, references: string[], tag?: string): Promise<void> {
    const repositoryId = this.ensureRepositorySync(repository);
    const now = Date.now();
    this.sqlite.transaction(() => {
      this.q(
        'insert into manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at) ' +
          'values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (repository_id, digest) do nothing',
      ).run(
        repositoryId,
        manifest.digest,
        manifest.mediaType,
        manifest.artifactType,
        manifest.subject,
        manifest.annotations ? JSON.stringify(manifest.annotations) : null,
        manifest.size,
        manifest.content,
        now,
      );
      const addReference = this.q(
        'insert into manifest_references (repository_id, manifest_digest, child_digest) values (?, ?, ?) on conflict do nothing',
      );
      for (const child of new Set(references)) addReference.run(repositoryId, manifest.digest, child);
      if (tag !== undefined) {
        this.q(
          'insert into tags (repository_id, name, digest, updated_at) values (?, ?, ?, ?) ' +
            'on conflict (repository_id, name) do update set digest = excluded.digest, updated_at = excluded.updated_at',
        ).run(repositoryId, tag, manifest.digest, now);
      }
    })();
    if (tag !== undefined) this.addToTagList(repositoryId, tag);
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return undefined;
    const row = this.q(
      'select digest, media_type, artifact_type, subject, annotations, size, content from manifests where repository_id = ? and digest = ?',
    ).get(repositoryId, digest) as
      | { digest: string; media_type: string; artifact_type: string | null; subject: string | null; annotations: string | null; size: number; content: Buffer }
      | undefined;
    if (!row) return undefined;
    return {
      digest: row.digest,
      mediaType: row.media_type,
      artifactType: row.artifact_type,
      subject: row.subject,
      annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
      size: Number(row.size),
      content: row.content,
    };
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return undefined;
    const row = this.q('select digest from tags where repository_id = ? and name = ?').get(repositoryId, tag) as { digest: string } | undefined;
    return row?.digest;
  }

  /** Deletes a manifest and every tag pointing at it. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return false;
    return this.sqlite.transaction(() => {
      if (this.q('delete from tags where repository_id = ? and digest = ?').run(repositoryId, digest).changes > 0) this.forgetTagList(repositoryId);
      this.q('delete from manifest_references where repository_id = ? and manifest_digest = ?').run(repositoryId, digest);
      return this.q('delete from manifests where repository_id = ? and digest = ?').run(repositoryId, digest).changes > 0;
    })();
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return false;
    const deleted = this.q('delete from tags where repository_id = ? and name = ?').run(repositoryId, tag).changes > 0;
    if (deleted) this.removeFromTagList(repositoryId, tag);
    return deleted;
  }

  /** Tags in lexical (byte) order after `last`, at most `limit`. */
  async listTags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return [];
    const names = this.tagList(repositoryId);
    const start = last === undefined ? 0 : firstAfter(names, last);
    return names.slice(start, start + limit);
  }

  private tagList(repositoryId: number): string[] {
    const cached = this.tagLists.get(repositoryId);
    if (cached) return cached;
    const names = this.q('select name from tags where repository_id = ? order by name').pluck().all(repositoryId) as string[];
    this.rememberTagList(repositoryId, names);
    return names;
  }

  private rememberTagList(repositoryId: number, names: string[]): void {
    this.tagLists.set(repositoryId, names);
    this.tagListsSize += names.length;
    this.trimTagLists(repositoryId);
  }

  /** Bounded: the oldest lists go first, never the one just used. */
  private trimTagLists(keep: number): void {
    for (const id of this.tagLists.keys()) {
      if (this.tagListsSize <= MAX_CACHED_TAGS) break;
      if (id !== keep) this.forgetTagList(id);
    }
  }

  private addToTagList(repositoryId: number, tag: string): void {
    const list = this.tagLists.get(repositoryId);
    if (!list) return;
    const at = firstAfter(list, tag);
    if (list[at - 1] === tag) return;
    list.splice(at, 0, tag);
    this.tagListsSize++;
    this.trimTagLists(repositoryId);
  }

  private removeFromTagList(repositoryId: number, tag: string): void {
    const list = this.tagLists.get(repositoryId);
    if (!list) return;
    const at = firstAfter(list, tag) - 1;
    if (list[at] !== tag) return;
    list.splice(at, 1);
    this.tagListsSize--;
  }

  private forgetTagList(repositoryId: number): void {
    const list = this.tagLists.get(repositoryId);
    if (!list) return;
    this.tagLists.delete(repositoryId);
    this.tagListsSize -= list.length;
  }

  /** Repository names in lexical order after `last`, at most `limit`. */
  async listRepositories(last: string | undefined, limit: number): Promise<string[]> {
    const rows =
      last === undefined
        ? this.q('select name from repositories order by name limit ?').all(limit)
        : this.q('select name from repositories where name > ? order by name limit ?').all(last, limit);
    return (rows as Array<{ name: string }>).map((r) => r.name);
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerDescriptor[]> {
    const repositoryId = this.repositoryIdSync(repository);
    if (repositoryId === undefined) return [];
    const columns = 'select digest, media_type, artifact_type, annotations, size from manifests where repository_id = ? and subject = ?';
    const rows = (
      artifactType === undefined
        ? this.q(`${columns} order by created_at, digest`).all(repositoryId, subject)
        : this.q(`${columns} and artifact_type = ? order by created_at, digest`).all(repositoryId, subject, artifactType)
    ) as Array<{ digest: string; media_type: string; artifact_type: string | null; annotations: string | null; size: number }>;
    return rows.map((r) => {
      const d: ReferrerDescriptor = { mediaType: r.media_type, digest: r.digest, size: Number(r.size) };
      if (r.artifact_type) d.artifactType = r.artifact_type;
      if (r.annotations) d.annotations = JSON.parse(r.annotations) as Record<string, string>;
      return d;
    });
  }

  async createUpload(id: string, repository: string): Promise<void> {
    this.emptyUploads.set(id, { id, repository, createdAt: Date.now() });
  }

  /** Records an upload in the database when its first bytes arrive, so that it survives a restart. */
  async persistUpload(id: string): Promise<void> {
    const upload = this.emptyUploads.get(id);
    if (!upload) return;
    this.q('insert into uploads (id, repository, created_at) values (?, ?, ?)').run(id, upload.repository, upload.createdAt);
    this.emptyUploads.delete(id);
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const empty = this.emptyUploads.get(id);
    if (empty) return empty;
    const row = this.q('select id, repository, created_at from uploads where id = ?').get(id) as
      | { id: string; repository: string; created_at: number }
      | undefined;
    return row ? { id: row.id, repository: row.repository, createdAt: Number(row.created_at) } : undefined;
  }

  async deleteUpload(id: string): Promise<void> {
    if (!this.emptyUploads.delete(id)) this.q('delete from uploads where id = ?').run(id);
  }

  async uploadsCreatedBefore(time: number): Promise<string[]> {
    const stored = this.q('select id from uploads where created_at < ?').pluck().all(time) as string[];
    for (const upload of this.emptyUploads.values()) if (upload.createdAt < time) stored.push(upload.id);
    return stored;
  }
}

/** Index of the first name after `last` in a sorted list. Tags are ASCII (the spec's grammar),
 *  so JavaScript's string order is SQLite's byte order. */
function firstAfter(names: readonly string[], last: string): number {
  let start = 0;
  let end = names.length;
  while (start < end) {
    const mid = (start + end) >>> 1;
    if (names[mid]! <= last) start = mid + 1;
    else end = mid;
  }
  return start;
}
