// The reads a scrub (core/scrub.ts) makes of the metadata: blobs, manifests and their references
// in keyset pages (so 50,000 blobs or manifests never sit in memory at once), which of a page of
// stored digests the metadata knows, and what uses a blob (for the findings' advice). Kysely, so
// it runs on SQLite and PostgreSQL alike; the scrub's repairs are changes of the MetadataStore
// (transactions with events), never writes from here.
//
// Keyset pages order by the same columns they compare, so they are right on any collation.
// Cost: every page is one index range scan of its table's primary key.
import { type ExpressionBuilder } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export interface ScrubBlobRow {
  digest: string;
  size: number;
  /** Some repository links it (held or released): a client may be sent its bytes, or a manifest needs them. */
  linked: boolean;
}

export interface ScrubManifestRow {
  repositoryId: number;
  repository: string;
  digest: string;
  mediaType: string;
  content: Buffer;
}

/** Where a manifest page continues: after this (repository id, digest). */
export interface ManifestKey {
  repositoryId: number;
  digest: string;
}

/** A reference whose child the repository neither holds as a blob nor stores as a manifest. */
export interface DanglingReference {
  repositoryId: number;
  repository: string;
  manifest: string;
  child: string;
  /** The repository links the child but released it (a manifest delete): not served. */
  released: boolean;
  mediaType: string;
  content: Buffer;
}

export interface ReferenceKey {
  repositoryId: number;
  manifest: string;
  child: string;
}

/** An image a finding breaks: a manifest of a repository, with its tags (and those of indexes over it). */
export interface ImageRef {
  repository: string;
  manifest: string;
  tags: string[];
}

type Eb = ExpressionBuilder<Database, any>;

export class ScrubQueries {
  constructor(private readonly db: Db) {}

  /** Blobs the metadata knows, and their bytes in all: the hashing's total. */
  async blobTotals(): Promise<{ count: number; bytes: number }> {
    const row = await this.db
      .selectFrom('blobs')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
      .executeTakeFirstOrThrow();
    return { count: Number(row.n), bytes: Number(row.bytes ?? 0) };
  }

  /** Blob rows in digest order after `after`, at most `limit`. */
  async blobsAfter(after: string | undefined, limit: number): Promise<ScrubBlobRow[]> {
    let q = this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .select((eb) => eb.exists(eb.selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.digest', '=', 'b.digest')).as('linked'))
      .orderBy('b.digest')
      .limit(limit);
    if (after !== undefined) q = q.where('b.digest', '>', after);
    const rows = await q.execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size), linked: Boolean(r.linked) }));
  }

  /** Those of `digests` that have a blob row. One query. */
  async knownBlobs(digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db.selectFrom('blobs').select('digest').where('digest', 'in', [...digests]).execute();
    return new Set(rows.map((r) => r.digest));
  }

  async manifestCount(): Promise<number> {
    const row = await this.db.selectFrom('manifests').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Manifests in (repository id, digest) order after `after`, at most `limit`, with their stored bytes. */
  async manifestsAfter(after: ManifestKey | undefined, limit: number): Promise<ScrubManifestRow[]> {
    let q = this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.repository_id', 'r.name', 'm.digest', 'm.media_type', 'm.content'])
      .orderBy('m.repository_id')
      .orderBy('m.digest')
      .limit(limit);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('m.repository_id', '>', a.repositoryId), eb.and([eb('m.repository_id', '=', a.repositoryId), eb('m.digest', '>', a.digest)])]));
    }
    const rows = await q.execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), repository: r.name, digest: r.digest, mediaType: r.media_type, content: Buffer.from(r.content) }));
  }

  /**
   * References (in primary key order after `after`, at most `limit`) whose child is neither a blob
   * the repository holds (linked and not released) nor a manifest of the repository. A reference
   * to a foreign layer (a descriptor with urls, never pushed) is among them: the caller tells it
   * apart from the manifest's content.
   */
  async danglingReferencesAfter(after: ReferenceKey | undefined, limit: number): Promise<DanglingReference[]> {
    const held = (eb: Eb) =>
      eb.exists(
        eb.selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.repository_id', '=', 'mr.repository_id').whereRef('rb.digest', '=', 'mr.child_digest').where('rb.released', '=', 0),
      );
    const stored = (eb: Eb) =>
      eb.exists(eb.selectFrom('manifests as cm').select('cm.digest').whereRef('cm.repository_id', '=', 'mr.repository_id').whereRef('cm.digest', '=', 'mr.child_digest'));
    let q = this.db
      .selectFrom('manifest_references as mr')
      .innerJoin('repositories as r', 'r.id', 'mr.repository_id')
      .innerJoin('manifests as m', (j) => j.onRef('m.repository_id', '=', 'mr.repository_id').onRef('m.digest', '=', 'mr.manifest_digest'))
      .select(['mr.repository_id', 'r.name', 'mr.manifest_digest', 'mr.child_digest', 'm.media_type', 'm.content'])
      .select((eb) =>
        eb.exists(eb.selectFrom('repository_blobs as rr').select('rr.digest').whereRef('rr.repository_id', '=', 'mr.repository_id').whereRef('rr.digest', '=', 'mr.child_digest')).as('linked'),
      )
      .where((eb) => eb.and([eb.not(held(eb)), eb.not(stored(eb))]))
      .orderBy('mr.repository_id')
      .orderBy('mr.manifest_digest')
      .orderBy('mr.child_digest')
      .limit(limit);
    if (after) {
      const a = after;
      q = q.where((eb) =>
        eb.or([
          eb('mr.repository_id', '>', a.repositoryId),
          eb.and([eb('mr.repository_id', '=', a.repositoryId), eb('mr.manifest_digest', '>', a.manifest)]),
          eb.and([eb('mr.repository_id', '=', a.repositoryId), eb('mr.manifest_digest', '=', a.manifest), eb('mr.child_digest', '>', a.child)]),
        ]),
      );
    }
    const rows = await q.execute();
    return rows.map((r) => ({
      repositoryId: Number(r.repository_id),
      repository: r.name,
      manifest: r.manifest_digest,
      child: r.child_digest,
      released: Boolean(r.linked),
      mediaType: r.media_type,
      content: Buffer.from(r.content),
    }));
  }

  /** Repositories that link a blob, held or released (what a repair unlinks). */
  async repositoriesLinking(digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .select('r.name')
      .where('rb.digest', '=', digest)
      .orderBy('r.name')
      .execute();
    return rows.map((r) => r.name);
  }

  /**
   * The images that use `digest` (a blob or a child manifest): the manifests referencing it and
   * the indexes referencing those, each with its tags; at most `limit` manifests.
   */
  async imagesUsing(digest: string, limit: number): Promise<ImageRef[]> {
    const direct = await this.referencing([digest], limit);
    const parents = direct.length ? await this.referencing(direct.map((d) => d.manifest), limit) : [];
    const all = [...direct, ...parents.filter((p) => !direct.some((d) => d.repositoryId === p.repositoryId && d.manifest === p.manifest))].slice(0, limit);
    if (all.length === 0) return [];
    const tags = await this.db
      .selectFrom('tags')
      .select(['repository_id', 'digest', 'name'])
      .where((eb) => eb.or(all.map((m) => eb.and([eb('repository_id', '=', m.repositoryId), eb('digest', '=', m.manifest)]))))
      .execute();
    return all.map((m) => ({
      repository: m.repository,
      manifest: m.manifest,
      tags: tags
        .filter((t) => Number(t.repository_id) === m.repositoryId && t.digest === m.manifest)
        .map((t) => t.name)
        .sort(),
    }));
  }

  /** The tags of one manifest of a repository, sorted. */
  async tagsOf(repository: string, manifest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .select('t.name')
      .where('r.name', '=', repository)
      .where('t.digest', '=', manifest)
      .orderBy('t.name')
      .execute();
    return rows.map((r) => r.name);
  }

  private async referencing(children: readonly string[], limit: number): Promise<Array<{ repositoryId: number; repository: string; manifest: string }>> {
    const rows = await this.db
      .selectFrom('manifest_references as mr')
      .innerJoin('repositories as r', 'r.id', 'mr.repository_id')
      .select(['mr.repository_id', 'r.name', 'mr.manifest_digest'])
      .where('mr.child_digest', 'in', [...children])
      .orderBy('r.name')
      .orderBy('mr.manifest_digest')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), repository: r.name, manifest: r.manifest_digest }));
  }
}
