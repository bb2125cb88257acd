// Queries for repositories, blobs, manifests, tags, referrers and uploads. Every listing is an
// index range scan (`WHERE name > last ORDER BY name LIMIT n`), never a walk over storage.
import type { Db } from './db.js';

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

export class RegistryMetadata {
  // Repository ids never change once assigned, so a name -> id cache is always right.
  private readonly repoIds = new Map<string, number>();

  constructor(readonly db: Db) {}

  async repositoryId(name: string): Promise<number | undefined> {
    const cached = this.repoIds.get(name);
    if (cached !== undefined) return cached;
    const row = await this.db.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirst();
    if (row) this.repoIds.set(name, row.id);
    return row?.id;
  }

  async ensureRepository(name: string): Promise<number> {
    const existing = await this.repositoryId(name);
    if (existing !== undefined) return existing;
    await this.db
      .insertInto('repositories')
      .values({ name, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const id = await this.repositoryId(name);
    if (id === undefined) throw new Error(`repository ${name} vanished while being created`);
    return id;
  }

  /**
   * Records a committed blob and makes it part of the repository; when it came from an upload,
   * the upload record goes in the same transaction.
   */
  async linkBlob(repository: string, digest: string, size: number, finishedUpload?: string): Promise<void> {
    const repositoryId = await this.ensureRepository(repository);
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('blobs')
        .values({ digest, size, created_at: now })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
      await tx
        .insertInto('repository_blobs')
        .values({ repository_id: repositoryId, digest, created_at: now })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
      if (finishedUpload !== undefined) await tx.deleteFrom('uploads').where('id', '=', finishedUpload).execute();
    });
  }

  /** Size of a blob the repository holds, or undefined. */
  async repositoryBlobSize(repository: string, digest: string): Promise<number | undefined> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    const row = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select('blobs.size')
      .where('repository_blobs.repository_id', '=', repositoryId)
      .where('repository_blobs.digest', '=', digest)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.size);
  }

  /** Size of a blob known to the registry in any repository, or undefined. */
  async blobSize(digest: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('blobs').select('size').where('digest', '=', digest).executeTakeFirst();
    return row === undefined ? undefined : Number(row.size);
  }

  /** Removes a blob from a repository (the bytes stay until garbage collection). */
  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return false;
    const res = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Which of these digests are not blobs of the repository. */
  async missingBlobs(repository: string, digests: string[]): Promise<string[]> {
    return this.missing('repository_blobs', repository, digests);
  }

  /** Which of these digests are not manifests of the repository. */
  async missingManifests(repository: string, digests: string[]): Promise<string[]> {
    return this.missing('manifests', repository, digests);
  }

  private async missing(table: 'repository_blobs' | 'manifests', repository: string, digests: string[]): Promise<string[]> {
    const wanted = [...new Set(digests)];
    if (wanted.length === 0) return [];
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return wanted;
    const found = new Set<string>();
    // Chunked to stay below SQLite's bound-parameter limit for manifests with thousands of layers.
    for (let i = 0; i < wanted.length; i += 500) {
      const rows = await this.db
        .selectFrom(table)
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', wanted.slice(i, i + 500))
        .execute();
      for (const r of rows) found.add(r.digest);
    }
    return wanted.filter((d) => !found.has(d));
  }

  /** Stores a manifest (idempotent) with its references, and points `tag` at it when given. */
  async putManifest(repository: string, manifest: ManifestRecord, references: string[], tag?: string): Promise<void> {
    const repositoryId = await this.ensureRepository(repository);
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('manifests')
        .values({
          repository_id: repositoryId,
          digest: manifest.digest,
          media_type: manifest.mediaType,
          artifact_type: manifest.artifactType,
          subject: manifest.subject,
          annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
          size: manifest.size,
          content: manifest.content,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
      const refs = [...new Set(references)];
      for (let i = 0; i < refs.length; i += 300) {
        await tx
          .insertInto('manifest_references')
          .values(refs.slice(i, i + 300).map((child) => ({ repository_id: repositoryId, manifest_digest: manifest.digest, child_digest: child })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      if (tag !== undefined) {
        await tx
          .insertInto('tags')
          .values({ repository_id: repositoryId, name: tag, digest: manifest.digest, updated_at: now })
          .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ digest: manifest.digest, updated_at: now }))
          .execute();
      }
    });
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    const row = await this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'artifact_type', 'subject', 'annotations', 'size', 'content'])
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
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

  /** Whether the repository holds this manifest, without reading its content. */
  async manifestMediaType(repository: string, digest: string): Promise<{ mediaType: string; size: number } | undefined> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    const row = await this.db
      .selectFrom('manifests')
      .select(['media_type', 'size'])
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row ? { mediaType: row.media_type, size: Number(row.size) } : undefined;
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return undefined;
    const row = await this.db
      .selectFrom('tags')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', tag)
      .executeTakeFirst();
    return row?.digest;
  }

  /** Deletes a manifest and every tag pointing at it. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return false;
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('tags').where('repository_id', '=', repositoryId).where('digest', '=', digest).execute();
      await tx
        .deleteFrom('manifest_references')
        .where('repository_id', '=', repositoryId)
        .where('manifest_digest', '=', digest)
        .execute();
      const res = await tx
        .deleteFrom('manifests')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return false;
    const res = await this.db
      .deleteFrom('tags')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', tag)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Tags in lexical (byte) order after `last`, at most `limit`. */
  async listTags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return [];
    let q = this.db.selectFrom('tags').select('name').where('repository_id', '=', repositoryId);
    if (last !== undefined) q = q.where('name', '>', last);
    const rows = await q.orderBy('name').limit(limit).execute();
    return rows.map((r) => r.name);
  }

  /** Repository names in lexical order after `last`, at most `limit`. */
  async listRepositories(last: string | undefined, limit: number): Promise<string[]> {
    let q = this.db.selectFrom('repositories').select('name');
    if (last !== undefined) q = q.where('name', '>', last);
    const rows = await q.orderBy('name').limit(limit).execute();
    return rows.map((r) => r.name);
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerDescriptor[]> {
    const repositoryId = await this.repositoryId(repository);
    if (repositoryId === undefined) return [];
    let q = this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'artifact_type', 'annotations', 'size'])
      .where('repository_id', '=', repositoryId)
      .where('subject', '=', subject);
    if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
    const rows = await q.orderBy('created_at').orderBy('digest').execute();
    return rows.map((r) => {
      const d: ReferrerDescriptor = { mediaType: r.media_type, digest: r.digest, size: Number(r.size) };
      if (r.artifact_type) d.artifactType = r.artifact_type;
      if (r.annotations) d.annotations = JSON.parse(r.annotations) as Record<string, string>;
      return d;
    });
  }

  async createUpload(id: string, repository: string): Promise<void> {
    await this.db.insertInto('uploads').values({ id, repository, created_at: Date.now() }).execute();
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { id: row.id, repository: row.repository, createdAt: Number(row.created_at) } : undefined;
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  async uploadsCreatedBefore(time: number): Promise<string[]> {
    const rows = await this.db.selectFrom('uploads').select('id').where('created_at', '<', time).execute();
    return rows.map((r) => r.id);
  }
}
