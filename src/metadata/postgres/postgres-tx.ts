// MetadataTx on one pooled PostgreSQL connection, inside BEGIN ... COMMIT (READ COMMITTED).
//
// Each method is one or two named statements; several writes that belong together are one
// statement with data-modifying CTEs (a manifest, its references and its tag), because every
// statement is a network round trip and these run on every push.
//
// Commit order of the outbox: ids come from a sequence, but a transaction that drew its ids first
// may commit last, so a reader that saw id 8 and moved its cursor there could skip id 7 when it
// commits a moment later. So the events of a transaction are buffered and written just before
// COMMIT, under a transaction-level advisory lock that COMMIT releases: only one transaction at a
// time draws event ids and commits, every id is drawn after all smaller ids were committed or
// rolled back, and `id > cursor` never misses one. The lock is held for one INSERT (which takes
// it, statements.ts) and the COMMIT (the WAL flush, with synchronous_commit on): event-writing
// commits of the fleet are serialised.
//
// Advisory lock keys use the two-integer form, whose key space does not overlap the one-bigint
// form (Kysely's migration lock, coordination/): key1 0x6d696e61 ("mina") is the outbox, key1
// 0x6d696e62 locks one tag, key2 a hash of repository and tag.
import type pg from 'pg';
import { manifestColumns } from '../rows.js';
import type { RegistryEvent } from '../../events/events.js';
import { eventRepository } from '../../events/events.js';
import type { UploadState } from '../../storage/blob-store.js';
import type { DeletedManifest, ManifestRecord, MetadataTx } from '../metadata-store.js';
import { run, storeError, type Statement } from './connection.js';
import {
  DELETE_MANIFEST,
  DELETE_TAG,
  DELETE_UPLOAD,
  INSERT_EVENTS,
  INSERT_REPOSITORY,
  LINK_BLOB,
  LOCK_TAG,
  PUT_MANIFEST,
  PUT_MANIFEST_TAG,
  RESOLVE_TAG,
  SELECT_REPOSITORY_ID,
  UNLINK_BLOB,
  UPDATE_UPLOAD,
} from './statements.js';

export class PostgresTx implements MetadataTx {
  private readonly types: string[] = [];
  private readonly repositories: Array<string | null> = [];
  private readonly payloads: string[] = [];
  private readonly times: number[] = [];
  // Ids of repositories this transaction made or looked up (ids never change once assigned).
  private readonly repositoryIds = new Map<string, number>();
  // The first statement that failed: PostgreSQL has aborted the transaction, and a COMMIT would
  // quietly roll back, so commit() throws this instead.
  private failure: unknown;

  constructor(private readonly client: pg.PoolClient) {}

  private async q<R extends pg.QueryResultRow>(s: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await run<R>(this.client, s, values);
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  private async control(command: 'begin' | 'commit'): Promise<void> {
    try {
      await this.client.query(command);
    } catch (err) {
      this.failure ??= err;
      throw storeError(err);
    }
  }

  private async repositoryId(name: string): Promise<number> {
    const known = this.repositoryIds.get(name);
    if (known !== undefined) return known;
    // Usually one lookup. A repository's first push inserts it; when another transaction inserted
    // it first, this INSERT waits for that one to commit and then does nothing, and the second
    // SELECT (a new statement, so a new snapshot) sees its row.
    let id =
      (await this.q<{ id: number }>(SELECT_REPOSITORY_ID, [name])).rows[0]?.id ??
      (await this.q<{ id: number }>(INSERT_REPOSITORY, [name, Date.now()])).rows[0]?.id ??
      (await this.q<{ id: number }>(SELECT_REPOSITORY_ID, [name])).rows[0]?.id;
    if (id === undefined) throw new Error(`repository ${name} could not be created`);
    this.repositoryIds.set(name, id);
    return id;
  }

  async linkBlob(repository: string, digest: string, size: number): Promise<void> {
    const id = await this.repositoryId(repository);
    await this.q(LINK_BLOB, [id, digest, size, Date.now()]);
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    return ((await this.q(UNLINK_BLOB, [repository, digest])).rowCount ?? 0) > 0;
  }

  async putManifest(repository: string, manifest: ManifestRecord, references: string[], tag?: string): Promise<void> {
    const id = await this.repositoryId(repository);
    const values: unknown[] = [
      id,
      ...manifestColumns(manifest),
      Date.now(),
      // Sorted: two transactions storing the same manifest insert its rows in the same order, so
      // they wait for each other instead of deadlocking.
      [...new Set(references)].sort(),
    ];
    if (tag === undefined) await this.q(PUT_MANIFEST, values);
    else await this.q(PUT_MANIFEST_TAG, [...values, tag]);
  }

  /**
   * Locks the tag until commit first: a tag move reads what it replaces here, and two moves of one
   * tag that raced would otherwise both read the same digest (READ COMMITTED) and one "previous"
   * would be wrong. The lock also covers a tag that does not exist yet, which no row lock could.
   * The SELECT after it is a new statement, so it sees what the other mover committed.
   */
  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    await this.q(LOCK_TAG, [repository, tag]);
    return (await this.q<{ digest: string }>(RESOLVE_TAG, [repository, tag])).rows[0]?.digest;
  }

  async deleteManifest(repository: string, digest: string): Promise<DeletedManifest> {
    const row = (await this.q<{ deleted: boolean; tags: string[] }>(DELETE_MANIFEST, [repository, digest])).rows[0]!;
    return { deleted: row.deleted, tags: row.tags };
  }

  async deleteTag(repository: string, tag: string): Promise<string | undefined> {
    return (await this.q<{ digest: string }>(DELETE_TAG, [repository, tag])).rows[0]?.digest;
  }

  async updateUpload(id: string, state: UploadState, expectedOffset: number): Promise<boolean> {
    return ((await this.q(UPDATE_UPLOAD, [id, JSON.stringify(state), state.offset, Date.now(), expectedOffset])).rowCount ?? 0) > 0;
  }

  async deleteUpload(id: string): Promise<void> {
    await this.q(DELETE_UPLOAD, [id]);
  }

  async appendEvents(events: RegistryEvent[]): Promise<void> {
    const now = Date.now();
    for (const event of events) {
      this.types.push(event.type);
      this.repositories.push(eventRepository(event) ?? null);
      this.payloads.push(JSON.stringify(event));
      this.times.push(now);
    }
  }

  async begin(): Promise<void> {
    await this.control('begin');
  }

  /** Writes the buffered events (see the top of this file) and commits. */
  async commit(): Promise<void> {
    if (this.failure !== undefined) throw storeError(this.failure);
    if (this.types.length > 0) await this.q(INSERT_EVENTS, [this.types, this.repositories, this.payloads, this.times]);
    await this.control('commit');
  }

  /** False when even ROLLBACK failed: the connection is broken and must not go back to the pool. */
  async rollback(): Promise<boolean> {
    try {
      await this.client.query('rollback');
      return true;
    } catch {
      return false;
    }
  }
}
