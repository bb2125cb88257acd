// The metadata store on PostgreSQL 15, for fleets: several minato replicas share one database.
//
// Transactions take one pooled connection each (postgres-tx.ts); reads run on the pool in
// autocommit and see committed state, so what one replica committed is what the next request
// reads on any replica (read-your-writes across replicas, no cache to invalidate). The hot reads
// (manifests, tags, blob sizes, uploads, the outbox) are named statements (statements.ts); Kysely
// builds the schema (migrations.ts) and the colder queries, as it does for SQLite.
//
// Errors: a failure that may pass (server down or restarting, connections exhausted, a timeout, a
// deadlock victim) is a MetadataUnavailableError (connection.ts); the pool recovers by itself.
import { Kysely, PostgresDialect } from 'kysely';
import { manifestFromRow, referrerFromRow, uploadFromRow, type ManifestRow, type ReferrerRow, type UploadRow } from '../rows.js';
import type { Logger } from 'pino';
import pg from 'pg';
import type { StoredEvent } from '../../events/events.js';
import type { BlobDeletion, ManifestRecord, MetadataStore, MetadataTx, PrincipalRecord, ProjectQuota, ReferrerDescriptor, StoredContent, UploadRecord } from '../metadata-store.js';
import { migrateToLatest } from '../migrations.js';
import { usageProjectsQuery } from '../project-usage.js';
import type { Database } from '../schema.js';
import { createPool, run, storeError, type Statement } from './connection.js';
import { PostgresTx, quotaFromRow, unheldFrom, type QuotaRow } from './postgres-tx.js';
import {
  BLOB_DELETION,
  BLOB_SIZE,
  CREATE_UPLOAD,
  BLOB_SIZES,
  EVENTS_AFTER,
  GET_MANIFEST,
  GET_UPLOAD,
  LIST_REFERRERS,
  LIST_TAGS,
  MANIFEST_SIZES,
  PROJECT_QUOTA,
  REPOSITORY_EXISTS,
  RESOLVE_TAG,
} from './statements.js';

export interface PostgresMetadataOptions {
  /** postgres://user:password@host:port/database (a secret: never log it, see describeTarget). */
  url: string;
  /** Pool size of this process. Default 10. */
  maxConnections?: number;
  /** Longest a statement may run before the server cancels it (an idle transaction: twice as long); 0: no limit. Default 30. */
  statementTimeoutSeconds?: number;
  log?: Logger;
}

/** Connects, brings the schema up to date (replicas starting together take turns: Kysely's migration lock), and opens the pool. */
export async function openPostgresMetadata(options: PostgresMetadataOptions): Promise<PostgresMetadataStore> {
  const target = describeTarget(options.url);
  // Migrations on a connection of their own without statement_timeout: a later migration that
  // rewrites a large table must not be cancelled half-way through start-up.
  const migrationPool = createPool({ url: options.url, maxConnections: 1, statementTimeoutSeconds: 0, log: options.log });
  const migrationDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: migrationPool }) });
  try {
    await migrateToLatest(migrationDb, 'postgres');
  } catch (err) {
    throw new Error(`cannot open the metadata database ${target}: ${(err as Error).message}; check database.url and that the server accepts connections`, { cause: err });
  } finally {
    await migrationDb.destroy();
  }
  const pool = createPool({
    url: options.url,
    maxConnections: options.maxConnections ?? 10,
    statementTimeoutSeconds: options.statementTimeoutSeconds ?? 30,
    log: options.log,
  });
  return new PostgresMetadataStore(pool);
}

/** user@host:port/database of a connection URL, without the password, for messages. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(an unparsable database.url)';
  }
}


export class PostgresMetadataStore implements MetadataStore {
  /** Kysely on the pool, for the modules that query with it (database users). */
  readonly db: Kysely<Database>;

  constructor(private readonly pool: pg.Pool) {
    this.db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }

  private query<R extends pg.QueryResultRow>(s: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
    return run<R>(this.pool, s, values);
  }

  /** A Kysely query, with the store's error mapping. */
  private async kysely<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await fn(this.db);
    } catch (err) {
      throw storeError(err);
    }
  }

  async transaction<T>(fn: (tx: MetadataTx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err);
    }
    const tx = new PostgresTx(client);
    let broken = false;
    try {
      await tx.begin();
      const result = await fn(tx);
      await tx.commit();
      return result;
    } catch (err) {
      broken = !(await tx.rollback());
      throw storeError(err);
    } finally {
      // A connection whose ROLLBACK failed is closed rather than handed to the next caller.
      client.release(broken);
    }
  }

  async repositoryExists(name: string): Promise<boolean> {
    return (await this.query(REPOSITORY_EXISTS, [name])).rows.length > 0;
  }

  async repositoryBlobSize(repository: string, digest: string): Promise<number | undefined> {
    return (await this.query<{ size: number }>(BLOB_SIZE, [repository, digest])).rows[0]?.size;
  }

  async blobDeletion(digest: string): Promise<BlobDeletion | undefined> {
    const row = (await this.query<{ state: BlobDeletion['state']; seq: string | number | null }>(BLOB_DELETION, [digest])).rows[0];
    return row && { state: row.state, seq: row.seq === null ? null : Number(row.seq) };
  }

  async repositoriesWithBlob(digest: string, limit: number): Promise<string[]> {
    const rows = await this.kysely((db) =>
      db
        .selectFrom('repository_blobs')
        .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
        .select('repositories.name')
        .where('repository_blobs.digest', '=', digest)
        .where('repository_blobs.released', '=', 0)
        .orderBy('repository_blobs.created_at')
        .orderBy('repository_blobs.repository_id')
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => r.name);
  }

  async blobSizes(repository: string, digests: string[]): Promise<Map<string, number>> {
    return this.sizes(BLOB_SIZES, repository, digests);
  }

  async manifestSizes(repository: string, digests: string[]): Promise<Map<string, number>> {
    return this.sizes(MANIFEST_SIZES, repository, digests);
  }

  /** One statement whatever the count: the digests go in as one array parameter. */
  private async sizes(s: Statement, repository: string, digests: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (digests.length === 0) return found;
    for (const r of (await this.query<{ digest: string; size: number }>(s, [repository, [...new Set(digests)]])).rows) found.set(r.digest, r.size);
    return found;
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = (await this.query<ManifestRow>(GET_MANIFEST, [repository, digest])).rows[0];
    return row && manifestFromRow(row);
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return (await this.query<{ digest: string }>(RESOLVE_TAG, [repository, tag])).rows[0]?.digest;
  }

  async listTags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    // '' sorts before every tag (tags are never empty), so one statement serves the first page too.
    return (await this.query<{ name: string }>(LIST_TAGS, [repository, last ?? '', limit])).rows.map((r) => r.name);
  }

  async listRepositories(last: string | undefined, limit: number): Promise<string[]> {
    const rows = await this.kysely((db) =>
      db
        .selectFrom('repositories')
        .select('name')
        .where('name', '>', last ?? '')
        .orderBy('name')
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => r.name);
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerDescriptor[]> {
    return (await this.query<ReferrerRow>(LIST_REFERRERS, [repository, subject, artifactType ?? null])).rows.map(referrerFromRow);
  }

  async createUpload(record: Omit<UploadRecord, 'updatedAt' | 'durable'>): Promise<void> {
    // Written at once, also without bytes: the PATCH that follows may reach another replica.
    await this.query(CREATE_UPLOAD, [record.id, record.repository, record.createdAt, record.state.offset, JSON.stringify(record.state)]);
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const row = (await this.query<UploadRow>(GET_UPLOAD, [id])).rows[0];
    return row ? uploadFromRow(row) : undefined;
  }

  async uploadsIdleSince(time: number): Promise<UploadRecord[]> {
    const rows = await this.kysely((db) =>
      db.selectFrom('uploads').select(['id', 'repository', 'created_at', 'updated_at', 'offset_bytes', 'state']).where('updated_at', '<', time).orderBy('updated_at').execute(),
    );
    return rows.map(uploadFromRow);
  }

  async projectQuota(project: string): Promise<ProjectQuota> {
    return quotaFromRow(project, (await this.query<QuotaRow>(PROJECT_QUOTA, [project])).rows[0]!);
  }

  async unheldBytes(project: string, content: StoredContent): Promise<number> {
    return unheldFrom((s, values) => this.query(s, values), project, content);
  }

  async usageProjects(): Promise<string[]> {
    const query = usageProjectsQuery('postgres');
    try {
      return (await this.pool.query<{ project: string }>(query.sql, [...query.parameters])).rows.map((r) => r.project);
    } catch (err) {
      throw storeError(err);
    }
  }

  async principal(kind: PrincipalRecord['kind'], name: string): Promise<PrincipalRecord> {
    const find = () =>
      this.kysely((db) => db.selectFrom('principals').select(['id', 'kind', 'name', 'created_at']).where('kind', '=', kind).where('name', '=', name).executeTakeFirst());
    // Known: one lookup. New: an insert that does nothing when another caller inserted it first
    // (it waits for that one to commit), then the lookup again finds that caller's row.
    const row =
      (await find()) ??
      (await this.kysely((db) =>
        db
          .insertInto('principals')
          .values({ kind, name, created_at: Date.now() })
          .onConflict((oc) => oc.columns(['kind', 'name']).doNothing())
          .returning(['id', 'kind', 'name', 'created_at'])
          .executeTakeFirst(),
      )) ??
      (await find());
    if (!row) throw new Error(`principal ${kind} ${name} could not be created`);
    return { id: row.id, kind: row.kind as PrincipalRecord['kind'], name: row.name, createdAt: row.created_at };
  }

  async eventsAfter(after: number, limit: number): Promise<StoredEvent[]> {
    const rows = (await this.query<{ id: number; payload: string }>(EVENTS_AFTER, [after, limit])).rows;
    return rows.map((r) => ({ ...(JSON.parse(r.payload) as StoredEvent), id: r.id }));
  }

  async lastEventId(): Promise<number> {
    // The largest committed id: with ids drawn in commit order (postgres-tx.ts), every event
    // committed later has a larger one.
    const row = await this.kysely((db) => db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst());
    return row?.id ?? 0;
  }

  async eventCursor(sink: string): Promise<number | undefined> {
    const row = await this.kysely((db) => db.selectFrom('event_cursors').select('last_id').where('sink', '=', sink).executeTakeFirst());
    return row?.last_id;
  }

  async saveEventCursor(sink: string, lastId: number): Promise<void> {
    await this.kysely((db) =>
      db
        .insertInto('event_cursors')
        .values({ sink, last_id: lastId })
        .onConflict((oc) => oc.column('sink').doUpdateSet({ last_id: lastId }))
        .execute(),
    );
  }

  async pruneEvents(before: number): Promise<number> {
    const result = await this.kysely((db) => db.deleteFrom('events').where('created_at', '<', before).executeTakeFirst());
    return Number(result.numDeletedRows);
  }

  outsideTransactions<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async ping(): Promise<void> {
    await this.kysely((db) => db.selectNoFrom((eb) => eb.lit(1).as('one')).execute());
  }

  async close(): Promise<void> {
    await this.db.destroy(); // ends the pool
  }
}

