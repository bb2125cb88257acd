// Online garbage collection: mark from the metadata, sweep the blob store, while pushes and pulls
// go on (docs/operations.md, "Garbage collection"). One run, in phases:
//  1. resume: finish the journal rows a dead run left (`deleting`: delete the bytes again, which is
//     idempotent; `marked`: sweep them as below);
//  2. manifests (gc.untagged: delete): untagged manifests that no index references and that are
//     not referrers of a subject still there, older than gc.untaggedMinAgeHours, deleted through
//     the core delete path (events, quota, caches, audit), re-checked in the deleting transaction;
//     repeated while it finds more (an index deleted frees its children, a subject its referrers);
//  3. links: blob links no manifest of their repository references, made longer ago than the
//     grace window (gc.graceMinutes: a push uploads its layers before its manifest), unlinked and
//     counted as a blob DELETE is;
//  4. mark: blobs no repository holds and no manifest references lose their metadata in one
//     transaction per batch (re-checked there) and get a `marked` journal row;
//  5. sweep: per batch, `marked` -> `deleting` (a blob a push took back meanwhile is skipped), the
//     bytes deleted, `deleting` -> `deleted` (pruned after a day);
//  6. uploads: the abandoned-upload purge.
// Candidates are read in batches of a few thousand (one set-based statement each, keyset paging);
// every change re-checks them inside its own transaction, so a stale candidate is only skipped.
// Why a concurrent push is safe: MetadataTx.claimBlob and missingReferences (metadata-store.ts).
import { randomInt } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../metadata/db.js';
import type { CollectedBlob, MetadataStore } from '../metadata/metadata-store.js';
import { COLLECTABLE_MANIFEST } from '../metadata/gc-queries.js';
import { projectOf } from '../oci/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import { eventTime, SYSTEM_ACTOR, type RegistryEvent } from '../events/events.js';
import type { JobProgress } from '../jobs/scheduler.js';

export interface GcSettings {
  /** Delete untagged manifests (gc.untagged: delete). */
  deleteUntagged: boolean;
  /** Untagged manifests younger than this are kept (ms). */
  untaggedMinAgeMs: number;
  /** Links no manifest references are kept this long after they were made (ms). */
  graceMs: number;
  dryRun: boolean;
}

export interface GcDeps {
  meta: MetadataStore;
  /** Kysely on the metadata database: the candidate scans (committed state, no transaction). */
  db: Db;
  blobs: BlobStore;
  /** Deletes these manifests, in one transaction, if they are still garbage (core/artifacts.ts collectManifests); returns those deleted. */
  collectManifests(manifests: ReadonlyArray<{ repository: string; digest: string }>, before: number): Promise<unknown[]>;
  /** The abandoned-upload purge (core/upload-purger.ts); returns how many went. */
  purgeUploads(): Promise<number>;
  log: Logger;
  /** Rows per candidate batch. Default 2,000 (500 on PostgreSQL for the mark: a lock per digest). */
  batchSize?: number;
  /** Blob deletions in flight at once. Default 16. */
  deleteConcurrency?: number;
  /** Tests only: a pause in each sweep batch, its rows `deleting` and their bytes not yet deleted, so a test can kill the server there. */
  sweepPauseMs?: number;
}

/** What one project would free (dry run). */
export interface ProjectReclaim {
  project: string;
  manifests: number;
  blobs: number;
  bytes: number;
}

export interface GcResult {
  dryRun: boolean;
  manifests: number;
  /** Blob links removed (unreferenced past the grace window). */
  links: number;
  blobs: number;
  bytes: number;
  uploads: number;
  /** Blobs of a run that died, finished by this one. */
  resumed: number;
  seconds: number;
  /** Seconds spent in each phase (resume, manifests, links, mark, sweep: metadata, files; uploads), for the run's log. */
  phases?: Record<string, number>;
  /**
   * Dry run: what each project would free, in the bytes its quota counts (manifests and blobs; a
   * blob linked from several projects is in each). `bytes` above is storage: blobs, each once.
   */
  projects?: ProjectReclaim[];
}

const DAY_MS = 86_400_000;
/**
 * Manifests deleted per transaction: few enough that the projects' usage locks it takes
 * (PostgreSQL) hold pushes up for a moment only, enough that commits are not the cost.
 */
const TX_BATCH = 250;

export class GarbageCollector {
  private readonly batch: number;
  private readonly markBatch: number;
  private readonly postgres: boolean;

  constructor(private readonly deps: GcDeps) {
    this.batch = deps.batchSize ?? 2000;
    this.postgres = /postgres/i.test(deps.db.getExecutor().adapter.constructor.name);
    this.markBatch = this.postgres ? Math.min(this.batch, 500) : this.batch;
  }

  /** One run; `runId` names its journal rows. Ends early (consistent, resumable) when `signal` aborts. */
  async run(runId: number, settings: GcSettings, signal: AbortSignal, progress: (p: JobProgress) => void = () => undefined): Promise<GcResult> {
    const started = Date.now();
    const result: GcResult = { dryRun: settings.dryRun, manifests: 0, links: 0, blobs: 0, bytes: 0, uploads: 0, resumed: 0, seconds: 0 };
    if (settings.dryRun) {
      const estimate = await this.estimate(settings, started);
      result.projects = estimate.projects;
      result.manifests = estimate.manifests;
      result.blobs = estimate.blobs;
      result.bytes = estimate.bytes;
      result.seconds = (Date.now() - started) / 1000;
      await this.completed(runId, result, signal);
      return result;
    }
    const { meta } = this.deps;
    result.phases = {};
    const timed = timer(result.phases);
    // 1. What a dead run left.
    progress({ phase: 'resuming', done: 0 });
    const resumedDeleting = await this.sweep(runId, 'deleting', result, signal, progress);
    const resumedMarked = await this.sweep(runId, 'marked', result, signal, progress);
    result.resumed = resumedDeleting + resumedMarked;
    // 2. Untagged manifests.
    if (settings.deleteUntagged) {
      const before = started - settings.untaggedMinAgeMs;
      await timed('manifests', async () => {
        for (let round = 0; round < 16 && !signal.aborted; round++) {
          const deleted = await this.collectManifests(before, signal, progress, result);
          if (deleted === 0) break;
        }
      });
    }
    // 3. Links nothing references, past the grace window.
    await timed('links', () => this.unlinkUnreferenced(started - settings.graceMs, signal, progress, result));
    // 4 and 5. Blobs nothing holds: mark a batch, sweep it.
    for (let after = ''; !signal.aborted; ) {
      const candidates = await timed('mark', () => this.blobCandidates(after, this.markBatch));
      if (candidates.length === 0) break;
      after = candidates[candidates.length - 1]!;
      progress({ phase: 'marking', done: result.blobs, unit: 'blobs' });
      await timed('mark', () => meta.transaction((tx) => tx.markBlobs(candidates, runId)));
      await this.sweep(runId, 'marked', result, signal, progress);
    }
    // 6. Upload leftovers, and the journal's old rows.
    if (!signal.aborted) {
      progress({ phase: 'uploads', done: 0 });
      await timed('uploads', async () => {
        result.uploads = await this.deps.purgeUploads();
        await meta.transaction((tx) => tx.pruneDeletions(Date.now() - DAY_MS));
      });
    }
    result.seconds = (Date.now() - started) / 1000;
    await this.completed(runId, result, signal);
    return result;
  }

  private async completed(runId: number, result: GcResult, signal: AbortSignal): Promise<void> {
    const event: RegistryEvent = {
      type: 'gc.completed',
      at: eventTime(),
      actor: SYSTEM_ACTOR,
      runId,
      dryRun: result.dryRun,
      status: signal.aborted ? 'stopped' : 'succeeded',
      manifests: result.manifests,
      blobs: result.blobs,
      bytes: result.bytes,
      seconds: result.seconds,
    };
    await this.deps.meta.transaction((tx) => tx.appendEvents([event]));
  }

  /** One pass over the untagged manifests; returns how many it deleted. */
  private async collectManifests(before: number, signal: AbortSignal, progress: (p: JobProgress) => void, result: GcResult): Promise<number> {
    let deleted = 0;
    for (let after: [number, string] = [0, '']; !signal.aborted; ) {
      const rows = await this.manifestCandidates(before, after, this.batch);
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      after = [last.repository_id, last.digest];
      for (let i = 0; i < rows.length; i += TX_BATCH) deleted += (await this.deps.collectManifests(rows.slice(i, i + TX_BATCH), before)).length;
      progress({ phase: 'manifests', done: result.manifests + deleted, unit: 'manifests' });
    }
    result.manifests += deleted;
    return deleted;
  }

  private async unlinkUnreferenced(before: number, signal: AbortSignal, progress: (p: JobProgress) => void, result: GcResult): Promise<void> {
    const { meta } = this.deps;
    for (let after: [number, string] = [0, '']; !signal.aborted; ) {
      const rows = await this.deps.db
        .selectFrom('repository_blobs as rb')
        .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
        .select(['r.name as repository', 'rb.repository_id', 'rb.digest'])
        .where('rb.released', '=', 0)
        .where('rb.created_at', '<', before)
        .where(sql<boolean>`(rb.repository_id, rb.digest) > (${after[0]}, ${after[1]})`)
        .where(sql<boolean>`not exists (select 1 from manifest_references mr where mr.repository_id = rb.repository_id and mr.child_digest = rb.digest)`)
        .orderBy('rb.repository_id')
        .orderBy('rb.digest')
        .limit(this.batch)
        .execute();
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      after = [Number(last.repository_id), last.digest];
      for (const [repository, digests] of groupBy(rows, (r) => r.repository, (r) => r.digest)) {
        await meta.transaction(async (tx) => {
          const gone = await tx.unlinkUnreferenced(repository, digests, before);
          const at = eventTime();
          await tx.appendEvents(gone.map((digest): RegistryEvent => ({ type: 'blob.deleted', at, actor: SYSTEM_ACTOR, repository, digest })));
          result.links += gone.length;
        });
      }
      progress({ phase: 'links', done: result.links, unit: 'links' });
    }
  }

  /**
   * Sweeps the journal's rows in `state` (`marked`: start deleting them; `deleting`: a dead run's,
   * deleted again) in batches; returns how many blobs it deleted.
   */
  private async sweep(runId: number, state: 'marked' | 'deleting', result: GcResult, signal: AbortSignal, progress: (p: JobProgress) => void): Promise<number> {
    const { meta, db } = this.deps;
    const timed = timer((result.phases ??= {}));
    let count = 0;
    for (let after = ''; !signal.aborted; ) {
      const rows = await timed('sweep: metadata', () => db
        .selectFrom('blob_deletions')
        .select(['digest', 'size'])
        .where('state', '=', state)
        .where('digest', '>', after)
        .orderBy('digest')
        .limit(this.batch)
        .execute());
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.digest;
      const digests = rows.map((r) => r.digest);
      const deleting: CollectedBlob[] =
        state === 'marked'
          ? await timed('sweep: metadata', () => meta.transaction((tx) => tx.startDeleting(digests, randomInt(1, 2 ** 47))))
          : rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
      progress({ phase: state === 'deleting' ? 'resuming' : 'sweeping', done: result.blobs, total: result.blobs + deleting.length, unit: 'blobs' });
      if (this.deps.sweepPauseMs && deleting.length > 0) await new Promise((resolve) => setTimeout(resolve, this.deps.sweepPauseMs));
      await timed('sweep: files', () => this.deleteBytes(deleting.map((b) => b.digest)));
      await timed('sweep: metadata', () => meta.transaction((tx) => tx.finishDeleting(deleting.map((b) => b.digest))));
      count += deleting.length;
      result.blobs += deleting.length;
      result.bytes += deleting.reduce((sum, b) => sum + b.size, 0);
      progress({ phase: state === 'deleting' ? 'resuming' : 'sweeping', done: result.blobs, unit: 'blobs' });
    }
    if (count > 0) this.deps.log.info({ run: runId, blobs: count, state }, state === 'deleting' ? 'finished the deletions of a run that ended early' : 'deleted blobs');
    return count;
  }

  /**
   * Deletes stored bytes no metadata knows (scrub's orphans, core/scrub.ts) through the journal,
   * as the sweep deletes a marked blob: marked, `deleting`, the bytes deleted, `deleted`. A commit
   * of the same digest meanwhile rescues it (claimBlob) or is refused and retried, never loses its
   * bytes. Returns the digests deleted (those a commit linked meanwhile are not).
   */
  async reclaimOrphans(orphans: readonly CollectedBlob[], runId: number): Promise<string[]> {
    const { meta } = this.deps;
    const marked = await meta.transaction((tx) => tx.markOrphans(orphans, runId));
    if (marked.length === 0) return [];
    const deleting = await meta.transaction((tx) => tx.startDeleting(marked.map((b) => b.digest), randomInt(1, 2 ** 47)));
    await this.deleteBytes(deleting.map((b) => b.digest));
    await meta.transaction((tx) => tx.finishDeleting(deleting.map((b) => b.digest)));
    return deleting.map((b) => b.digest);
  }

  /** Deletes the bytes, a few at a time; a failure stops the run (the rows stay `deleting` and the next run deletes them again). */
  private async deleteBytes(digests: readonly string[]): Promise<void> {
    const { blobs } = this.deps;
    const queue = [...digests];
    const worker = async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) await blobs.delete(d as `sha256:${string}`);
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.deleteConcurrency ?? 16, queue.length) }, worker));
  }

  private manifestCandidates(before: number, after: [number, string], limit: number) {
    return this.deps.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['r.name as repository', 'm.repository_id', 'm.digest', 'm.size'])
      .where('m.created_at', '<', before)
      .where(sql<boolean>`(m.repository_id, m.digest) > (${after[0]}, ${after[1]})`)
      .where(sql.raw<boolean>(COLLECTABLE_MANIFEST))
      .orderBy('m.repository_id')
      .orderBy('m.digest')
      .limit(limit)
      .execute()
      .then((rows) => rows.map((r) => ({ ...r, repository_id: Number(r.repository_id), size: Number(r.size) })));
  }

  /** Digests after `after` that no repository holds and no manifest references. */
  private async blobCandidates(after: string, limit: number): Promise<string[]> {
    const rows = await this.deps.db
      .selectFrom('blobs as b')
      .select('b.digest')
      .where('b.digest', '>', after)
      .where(sql<boolean>`not exists (select 1 from repository_blobs rb where rb.digest = b.digest and rb.released = 0)`)
      .where(sql<boolean>`not exists (select 1 from manifest_references mr where mr.child_digest = b.digest)`)
      .orderBy('b.digest')
      .limit(limit)
      .execute();
    return rows.map((r) => r.digest);
  }

  /**
   * A dry run's estimate per project: the manifests the first pass would delete, and the blobs
   * whose every link would go (held ones: unreferenced past the grace window, or referenced only
   * by those manifests), counted in each project that links them. Cascades (an index's children,
   * a subject's referrers) are left to the real run.
   */
  private async estimate(settings: GcSettings, now: number): Promise<{ projects: ProjectReclaim[]; manifests: number; blobs: number; bytes: number }> {
    const byProject = new Map<string, ProjectReclaim>();
    const entry = (project: string) => {
      let e = byProject.get(project);
      if (!e) byProject.set(project, (e = { project, manifests: 0, blobs: 0, bytes: 0 }));
      return e;
    };
    let manifests = 0;
    let bytes = 0;
    if (settings.deleteUntagged) {
      for (let after: [number, string] = [0, '']; ; ) {
        const rows = await this.manifestCandidates(now - settings.untaggedMinAgeMs, after, this.batch);
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        after = [last.repository_id, last.digest];
        for (const r of rows) {
          const e = entry(projectOf(r.repository));
          e.manifests++;
          e.bytes += r.size;
          manifests++;
        }
      }
    }
    // Each blob once in the totals; once per project that links it in that project's line.
    const counted = new Set<string>();
    const freed = new Set<string>();
    for (const r of await this.freedBlobs(settings, now)) {
      if (!freed.has(r.digest)) {
        freed.add(r.digest);
        bytes += r.size;
      }
      if (r.repository === undefined) continue; // linked nowhere: in the totals only
      const project = projectOf(r.repository);
      if (counted.has(`${project} ${r.digest}`)) continue;
      counted.add(`${project} ${r.digest}`);
      const e = entry(project);
      e.blobs++;
      e.bytes += r.size;
    }
    const projects = [...byProject.values()].sort((a, b) => (a.project < b.project ? -1 : a.project > b.project ? 1 : 0));
    return { projects, manifests, blobs: freed.size, bytes };
  }

  /** Links (repository, digest, size) of the blobs a run would delete (a dry run's read). */
  private async freedBlobs(settings: GcSettings, now: number): Promise<Array<{ repository: string | undefined; digest: string; size: number }>> {
    const before = now - settings.untaggedMinAgeMs;
    const grace = now - settings.graceMs;
    // A manifest that stays: not collectable (or untagged manifests are kept).
    const stays = settings.deleteUntagged ? sql`not (m.created_at < ${before} and ${sql.raw(COLLECTABLE_MANIFEST)})` : sql`1 = 1`;
    const rows = await this.deps.db
      .selectFrom('blobs as b')
      .leftJoin('repository_blobs as l', 'l.digest', 'b.digest')
      .leftJoin('repositories as r', 'r.id', 'l.repository_id')
      .select(['r.name as repository', 'b.digest', 'b.size'])
      .where(sql<boolean>`not exists (select 1 from repository_blobs k where k.digest = b.digest and k.released = 0 and k.created_at >= ${grace})`)
      .where(
        sql<boolean>`not exists (select 1 from manifest_references mr join manifests m on m.repository_id = mr.repository_id and m.digest = mr.manifest_digest where mr.child_digest = b.digest and ${stays})`,
      )
      .execute();
    return rows.map((r) => ({ repository: r.repository ?? undefined, digest: r.digest, size: Number(r.size) }));
  }
}

/** Adds the time `fn` takes to `phases[phase]` (seconds). */
function timer(phases: Record<string, number>) {
  return async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      phases[phase] = (phases[phase] ?? 0) + (performance.now() - start) / 1000;
    }
  };
}

/** Groups rows by a key, keeping their order: [key, values][]. */
function groupBy<T>(rows: readonly T[], key: (row: T) => string, value: (row: T) => string): Array<[string, string[]]> {
  const groups = new Map<string, string[]>();
  for (const row of rows) {
    const k = key(row);
    const list = groups.get(k) ?? [];
    list.push(value(row));
    groups.set(k, list);
  }
  return [...groups];
}
