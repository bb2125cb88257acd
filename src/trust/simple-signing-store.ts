// Where simple signatures live (table simple_signatures, migration 0010): the bytes a client
// stored for a manifest through the signatures extension, on Kysely so one implementation runs on
// SQLite and PostgreSQL. A signature belongs to a manifest of a repository; the foreign key
// removes it with that manifest, whatever removes the manifest.
//
// Concurrency: `add` is one transaction that finds the manifest and inserts; identical content
// for the same manifest is stored once (a unique index, `on conflict do nothing`), so two clients
// adding the same signature at once store it once. A manifest deleted while a signature is added
// makes the insert fail on the foreign key (PostgreSQL) or not find the manifest (SQLite writes
// one at a time): never a signature without its manifest. Cost: listing is one indexed query.
import { createHash } from 'node:crypto';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';

/** A stored signature, without its bytes (what a listing needs). */
export interface SimpleSignatureEntry {
  name: string;
  /** `sha256:` of the signature bytes. */
  digest: string;
  createdAt: number;
}

export type AddOutcome = { kind: 'added'; added: number; total: number } | { kind: 'manifest-unknown' } | { kind: 'too-many'; total: number };

export class SimpleSignatureStore {
  constructor(
    private readonly db: Db,
    private readonly writes: WriteGate = directWrites,
  ) {}

  /** The signatures of a manifest, oldest first (empty when there are none, or no such manifest). */
  async list(repository: string, manifestDigest: string): Promise<SimpleSignatureEntry[]> {
    const rows = await this.db
      .selectFrom('simple_signatures as s')
      .innerJoin('repositories as r', 'r.id', 's.repository_id')
      .select(['s.name', 's.content_digest', 's.created_at'])
      .where('r.name', '=', repository)
      .where('s.manifest_digest', '=', manifestDigest)
      .orderBy('s.id')
      .execute();
    return rows.map((r) => ({ name: r.name, digest: r.content_digest, createdAt: Number(r.created_at) }));
  }

  /** The signatures of a manifest with their bytes, oldest first. */
  async listWithContent(repository: string, manifestDigest: string): Promise<Array<SimpleSignatureEntry & { content: Buffer }>> {
    const rows = await this.db
      .selectFrom('simple_signatures as s')
      .innerJoin('repositories as r', 'r.id', 's.repository_id')
      .select(['s.name', 's.content_digest', 's.created_at', 's.content'])
      .where('r.name', '=', repository)
      .where('s.manifest_digest', '=', manifestDigest)
      .orderBy('s.id')
      .execute();
    return rows.map((r) => ({ name: r.name, digest: r.content_digest, createdAt: Number(r.created_at), content: Buffer.from(r.content) }));
  }

  /** The bytes of one signature, by their digest; undefined once it (or its manifest) is gone. */
  async content(repository: string, manifestDigest: string, contentDigest: string): Promise<Buffer | undefined> {
    const row = await this.db
      .selectFrom('simple_signatures as s')
      .innerJoin('repositories as r', 'r.id', 's.repository_id')
      .select('s.content')
      .where('r.name', '=', repository)
      .where('s.manifest_digest', '=', manifestDigest)
      .where('s.content_digest', '=', contentDigest)
      .executeTakeFirst();
    return row && Buffer.from(row.content);
  }

  /** Whether the repository holds the manifest. */
  async hasManifest(repository: string, manifestDigest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select('m.digest')
      .where('r.name', '=', repository)
      .where('m.digest', '=', manifestDigest)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Stores the signatures whose content the manifest does not have yet, unless the manifest would
   * then hold more than `max`.
   */
  async add(repository: string, manifestDigest: string, signatures: ReadonlyArray<{ name: string; content: Buffer }>, max: number): Promise<AddOutcome> {
    return this.writes(() =>
      this.db.transaction().execute(async (trx): Promise<AddOutcome> => {
        const manifest = await trx
          .selectFrom('manifests as m')
          .innerJoin('repositories as r', 'r.id', 'm.repository_id')
          .select('m.repository_id')
          .where('r.name', '=', repository)
          .where('m.digest', '=', manifestDigest)
          .executeTakeFirst();
        if (!manifest) return { kind: 'manifest-unknown' };
        const repositoryId = Number(manifest.repository_id);
        const existing = new Set(
          (await trx.selectFrom('simple_signatures').select('content_digest').where('repository_id', '=', repositoryId).where('manifest_digest', '=', manifestDigest).execute()).map(
            (r) => r.content_digest,
          ),
        );
        const fresh = new Map<string, { name: string; content: Buffer }>();
        for (const s of signatures) {
          const digest = `sha256:${createHash('sha256').update(s.content).digest('hex')}`;
          if (!existing.has(digest) && !fresh.has(digest)) fresh.set(digest, s);
        }
        const total = existing.size + fresh.size;
        if (total > max) return { kind: 'too-many', total: existing.size };
        if (fresh.size === 0) return { kind: 'added', added: 0, total };
        const now = Date.now();
        await trx
          .insertInto('simple_signatures')
          .values([...fresh].map(([digest, s]) => ({ repository_id: repositoryId, manifest_digest: manifestDigest, name: s.name, content: s.content, content_digest: digest, created_at: now })))
          .onConflict((oc) => oc.columns(['repository_id', 'manifest_digest', 'content_digest']).doNothing())
          .execute();
        return { kind: 'added', added: fresh.size, total };
      }),
    );
  }
}
