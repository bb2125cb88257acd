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
// Project usage: every change of a project's links and manifests first locks the project's row
// of project_usage (once per transaction: with the repository's id for a link or a manifest put,
// else on its own), and a quota check of a project with a limit reads it under the same lock
// (projectQuota), so the changes and checks of one project run one transaction at a time and
// always take their locks in one order (usage row, then counted entries, then the outbox at
// commit). The price: on PostgreSQL the pushes of one project take turns for the rest of their
// transaction (two or three round trips). One exception to the order: a tag move takes its tag's
// lock (resolveTag) after the usage lock in a project with a limit (its quota check comes first)
// and before it in one without, so two moves of one tag racing a change of that project's limit
// could deadlock; PostgreSQL then fails one of them (503, the client retries).
//
// Advisory lock keys use the two-integer form, whose key space does not overlap the one-bigint
// form (Kysely's migration lock, coordination/): key1 0x6d696e61 ("mina") is the outbox, key1
// 0x6d696e62 locks one tag, key2 a hash of repository and tag; key1 0x6d696e63 is garbage
// collection's lock of one digest (gc-queries.ts), which a commit linking a blob, a manifest put
// (for its references) and GC's mark take, after the usage lock when they take both.
import type pg from 'pg';
import { manifestColumns } from '../rows.js';
import type { RegistryEvent } from '../../events/events.js';
import { eventRepository } from '../../events/events.js';
import type { UploadState } from '../../storage/blob-store.js';
import type { BlobDeletion, CollectedBlob, DeletedManifest, ManifestRecord, MetadataTx, ProjectQuota, StoredContent, UsageRecount } from '../metadata-store.js';
import { projectOf } from '../../oci/names.js';
import { recountProjectUsage, type QueryRunner } from '../project-usage.js';
import * as gc from '../gc-queries.js';
import { run, storeError, type Statement } from './connection.js';
import {
  DELETE_MANIFEST,
  DELETE_TAG,
  DELETE_UPLOAD,
  INSERT_EVENTS,
  INSERT_REPOSITORY,
  LINK_BLOB,
  LOCK_TAG,
  LOCK_REPOSITORY,
  LOCK_USAGE,
  PROJECT_HOLDS,
  QUOTA_CHECK,
  PUT_MANIFEST,
  PUT_MANIFEST_TAG,
  RESOLVE_TAG,
  SELECT_REPOSITORY_ID,
  SET_STORAGE_LIMIT,
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
  // Projects whose usage row this transaction holds locked.
  private readonly lockedProjects = new Set<string>();
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

  /** The repository's id (made if new), its project's usage locked (see the top of this file). */
  private async repositoryId(name: string): Promise<number> {
    const project = projectOf(name);
    const locked = this.lockedProjects.has(project);
    const known = this.repositoryIds.get(name);
    if (known !== undefined && locked) return known;
    this.lockedProjects.add(project);
    // Usually one lookup, which also takes the lock. A repository's first push inserts it; when
    // another transaction inserted it first, this INSERT waits for that one to commit and then
    // does nothing, and the second SELECT (a new statement, so a new snapshot) sees its row.
    let id =
      (await this.q<{ id: number }>(locked ? SELECT_REPOSITORY_ID : LOCK_REPOSITORY, locked ? [name] : [name, project])).rows[0]?.id ??
      (await this.q<{ id: number }>(INSERT_REPOSITORY, [name, Date.now()])).rows[0]?.id ??
      (await this.q<{ id: number }>(SELECT_REPOSITORY_ID, [name])).rows[0]?.id;
    if (id === undefined) throw new Error(`repository ${name} could not be created`);
    this.repositoryIds.set(name, id);
    return id;
  }

  /** Locks the project's usage row until commit (see the top of this file); returns it. */
  private async lockUsage(project: string): Promise<ProjectQuota> {
    const row = (await this.q<QuotaRow>(LOCK_USAGE, [project])).rows[0]!;
    this.lockedProjects.add(project);
    return quotaFromRow(project, row);
  }

  /** The project of a repository, its usage locked (once per transaction). */
  private async lockedProjectOf(repository: string): Promise<string> {
    const project = projectOf(repository);
    if (!this.lockedProjects.has(project)) await this.lockUsage(project);
    return project;
  }

  async linkBlob(repository: string, digest: string, size: number): Promise<void> {
    const id = await this.repositoryId(repository);
    await this.q(LINK_BLOB, [id, digest, size, Date.now(), projectOf(repository)]);
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const project = await this.lockedProjectOf(repository);
    return (await this.q<{ unlinked: boolean }>(UNLINK_BLOB, [repository, digest, project])).rows[0]!.unlinked;
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
      projectOf(repository),
    ];
    // The GC locks of what it references (after the usage lock repositoryId took): a mark of one
    // of them waits for this transaction, or this one for the mark, and then missingReferences sees it.
    await gc.lockDigests(this.run, references);
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
    const project = await this.lockedProjectOf(repository);
    const row = (await this.q<{ deleted: boolean; tags: string[] }>(DELETE_MANIFEST, [repository, digest, project])).rows[0]!;
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

  async projectQuota(project: string): Promise<ProjectQuota> {
    if (this.lockedProjects.has(project)) return this.lockUsage(project); // re-read: this transaction's own changes
    const row = (await this.q<QuotaRow & { locked: boolean }>(QUOTA_CHECK, [project])).rows[0]!;
    if (row.locked) this.lockedProjects.add(project);
    return quotaFromRow(project, row);
  }

  async unheldBytes(project: string, content: StoredContent): Promise<number> {
    return unheldFrom((s, values) => this.q(s, values), project, content);
  }

  async setStorageLimit(project: string, limit: number): Promise<boolean> {
    return ((await this.q(SET_STORAGE_LIMIT, [project, limit, Date.now()])).rowCount ?? 0) > 0;
  }

  /** Runs the shared queries (project-usage.ts, gc-queries.ts) on this transaction's connection. */
  private readonly run: QueryRunner = {
    rows: async <R>(q: { sql: string; parameters: readonly unknown[] }) => (await this.text(q.sql, q.parameters)).rows as R[],
    change: async (q) => (await this.text(q.sql, q.parameters)).rowCount ?? 0,
  };

  private async text<R extends pg.QueryResultRow>(text: string, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.client.query<R>(text, [...values]);
    } catch (err) {
      this.failure ??= err;
      throw storeError(err);
    }
  }

  async recountProjectUsage(project: string): Promise<UsageRecount> {
    await this.lockUsage(project);
    return recountProjectUsage(this.run, 'postgres', project);
  }

  // Garbage collection: usage lock first, then the digests' GC locks (see the top of this file).
  async claimBlob(repository: string, digest: string, seen: BlobDeletion | undefined): Promise<boolean> {
    await this.lockedProjectOf(repository);
    await gc.lockDigests(this.run, [digest]);
    return gc.claimBlob(this.run, 'postgres', digest, seen);
  }

  missingReferences(repository: string, blobs: readonly string[], manifests: readonly string[]): Promise<string[]> {
    return gc.missingReferences(this.run, 'postgres', repository, blobs, manifests);
  }

  async manifestCollectable(repository: string, digest: string, before: number): Promise<boolean> {
    await this.lockedProjectOf(repository);
    return gc.manifestCollectable(this.run, 'postgres', repository, digest, before);
  }

  async unlinkUnreferenced(repository: string, digests: readonly string[], before: number): Promise<string[]> {
    await this.lockedProjectOf(repository);
    const unreferenced = await gc.unreferencedLinks(this.run, 'postgres', repository, digests, before);
    for (const digest of unreferenced) await this.unlinkBlob(repository, digest);
    return unreferenced;
  }

  async markBlobs(digests: readonly string[], runId: number): Promise<CollectedBlob[]> {
    await gc.lockDigests(this.run, digests);
    return gc.markBlobs(this.run, 'postgres', digests, runId);
  }

  async markOrphans(blobs: readonly CollectedBlob[], runId: number): Promise<CollectedBlob[]> {
    await gc.lockDigests(this.run, blobs.map((b) => b.digest));
    return gc.markOrphans(this.run, 'postgres', blobs, runId);
  }

  startDeleting(digests: readonly string[], seq: number): Promise<CollectedBlob[]> {
    return gc.startDeleting(this.run, 'postgres', digests, seq);
  }

  finishDeleting(digests: readonly string[]): Promise<void> {
    return gc.finishDeleting(this.run, 'postgres', digests);
  }

  pruneDeletions(before: number): Promise<number> {
    return gc.pruneDeletions(this.run, 'postgres', before);
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

export type QuotaRow = { used: number; project_id: number | null; storage_limit: number };

export function quotaFromRow(project: string, row: QuotaRow): ProjectQuota {
  return { project, projectId: row.project_id ?? undefined, limit: row.storage_limit, used: row.used };
}

/** Bytes of `content` the project does not hold (PROJECT_HOLDS), on the pool or in a transaction. */
export async function unheldFrom(
  query: (s: Statement, values: unknown[]) => Promise<pg.QueryResult<{ blobs: string[]; manifest: boolean }>>,
  project: string,
  content: StoredContent,
): Promise<number> {
  const blobs = new Map(content.blobs.map((b) => [b.digest, b.size]));
  const { manifest } = content;
  if (blobs.size === 0 && !manifest) return 0;
  const held = (await query(PROJECT_HOLDS, [project, [...blobs.keys()], manifest?.digest ?? null])).rows[0]!;
  for (const digest of held.blobs) blobs.delete(digest);
  let bytes = 0;
  for (const size of blobs.values()) bytes += size;
  return manifest && !held.manifest ? bytes + manifest.size : bytes;
}
