// Online garbage collection: mark from the metadata, sweep the blob store, while pushes and pulls
// go on (docs/operations.md, "Garbage collection"). One run, in phases:
//  1. resume: finish the journal rows a dead run left (`deleting`: delete the bytes again, which is
//     idempotent; `marked`: sweep them as below);
//  2. manifests (gc.untagged: delete): untagged manifests that no index references and that are
//     not referrers of a subject still there, older than gc.untaggedMinAgeHours, deleted through
//     the core delete path (events, quota, caches, audit), re-checked in the deleting transaction;
//     repeated while it finds more (an index deleted frees its children, a subject its referrers);
//  3. blobs: those no repository holds and no manifest references (most garbage: the layers of
//     deleted manifests) lose their metadata in one transaction per batch (re-checked there) and
//     get a `marked` journal row; then the sweep, per batch: `marked` -> `deleting` (a blob a push
//     took back meanwhile is skipped), the bytes deleted, `deleting` -> `deleted` (pruned after a
//     day). The bytes go on their own threads (BlobStore.deleteMany) while the next batches are
//     marked, a batch or two behind (FileSweeper);
//  4. links: blob links no manifest of their repository references, made longer ago than the
//     grace window (gc.graceMinutes: a push uploads its layers before its manifest), unlinked and
//     counted as a blob DELETE is; then 3 again for the blobs they held;
//  5. uploads: the abandoned-upload purge.
// Candidates are read in batches (one set-based statement each, keyset paging); every change
// re-checks them inside its own transaction, so a stale candidate is only skipped. On SQLite,
// whose statements hold the event loop, batches are sized to take a few milliseconds and GC takes
// at most half of the loop (BatchSize, Pacer).
// Why a concurrent push is safe: MetadataTx.claimBlob and missingReferences (metadata-store.ts).
import { randomInt } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sleep } from '../util/async.js';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../metadata/db.js';
import type { CollectedBlob, MetadataStore } from '../metadata/metadata-store.js';
import { COLLECTABLE_MANIFEST } from '../metadata/gc-queries.js';
import { projectOf, type Digest } from '../oci/names.js';
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
/** On SQLite, what one GC transaction may hold the event loop for (ms): requests wait that long at most. */
const SQLITE_TX_MS = 8;
/**
 * On SQLite, the share of the event loop GC's statements may take: after each, GC waits as long
 * as it ran. Without it GC took nearly all of it and a pull's p99 went from 20 ms to 1 s under a
 * steady load (bench/gc.ts); with it, ~140 ms.
 */
const SQLITE_LOOP_SHARE = 0.5;

export class GarbageCollector {
  private readonly batch: number;
  private readonly postgres: boolean;
  /**
   * Rows per transaction, by what the transaction does. On PostgreSQL fixed: few enough that the
   * locks they take (projects' usage, digests) hold pushes up for a moment only, enough that
   * round trips are not the cost. On SQLite sized as they go to take about SQLITE_TX_MS each.
   */
  private readonly sizes: Record<'manifests' | 'links' | 'blobs', BatchSize>;
  /** GC's statements, one at a time, within their share of the event loop. */
  private readonly pacer: Pacer;

  constructor(private readonly deps: GcDeps) {
    this.batch = deps.batchSize ?? 2000;
    this.postgres = /postgres/i.test(deps.db.getExecutor().adapter.constructor.name);
    // A batch size the caller set (tests: paging) is kept as it is.
    const size = (postgres: number, sqlite: number) =>
      deps.batchSize !== undefined ? new BatchSize(Math.min(deps.batchSize, postgres), 0) : this.postgres ? new BatchSize(postgres, 0) : new BatchSize(sqlite, SQLITE_TX_MS);
    this.sizes = { manifests: size(250, 50), links: size(50, 100), blobs: size(500, 200) };
    this.pacer = new Pacer(this.postgres ? 1 : SQLITE_LOOP_SHARE);
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
    // The bytes of a batch are deleted while the next batches are marked (a file delete waits on
    // the filesystem, the marking on the database): FileSweeper keeps them a batch or two behind.
    const files = new FileSweeper((batch) => this.finishSweep(batch, result, timed, progress));
    try {
      // 1. What a dead run left.
      progress({ phase: 'resuming', done: 0 });
      result.resumed += await this.sweep(runId, 'deleting', files, timed, signal, progress, result);
      result.resumed += await this.sweep(runId, 'marked', files, timed, signal, progress, result);
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
      // 3. Blobs nothing holds (most garbage: the layers of deleted manifests): marked, swept.
      await this.markAndSweep(runId, files, timed, signal, progress, result);
      // 4. Links nothing references, past the grace window (while the files above go), then the blobs they held.
      await timed('links', () => this.unlinkUnreferenced(started - settings.graceMs, signal, progress, result));
      if (result.links > 0) await this.markAndSweep(runId, files, timed, signal, progress, result);
    } catch (err) {
      await files.drain().catch(() => undefined);
      throw err;
    }
    await files.drain();
    // 5. Upload leftovers, and the journal's old rows.
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
      const rows = await this.pacer.run(() => this.manifestCandidates(before, after, this.batch));
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      after = [last.repository_id, last.digest];
      for (let i = 0; i < rows.length; ) {
        const chunk = rows.slice(i, (i += this.sizes.manifests.value));
        deleted += (await this.pacer.run(() => this.sizes.manifests.measure(chunk.length, () => this.deps.collectManifests(chunk, before)))).length;
      }
      progress({ phase: 'manifests', done: result.manifests + deleted, unit: 'manifests' });
    }
    result.manifests += deleted;
    return deleted;
  }

  private async unlinkUnreferenced(before: number, signal: AbortSignal, progress: (p: JobProgress) => void, result: GcResult): Promise<void> {
    const { meta } = this.deps;
    for (let after: [number, string] = [0, '']; !signal.aborted; ) {
      const rows = await this.pacer.run(() => this.deps.db
        .selectFrom('repository_blobs as rb')
        .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
        .select(['r.name as repository', 'rb.repository_id', 'rb.digest'])
        .where('rb.released', '=', 0)
        .where('rb.created_at', '<', before)
        .where(sql<boolean>`(rb.repository_id, rb.digest) > (${after[0]}, ${after[1]})`)
        .where(sql<boolean>`not exists (select 1 from manifest_references mr where mr.repository_id = rb.repository_id and mr.child_digest = rb.digest)`)
        .orderBy('rb.repository_id')
        .orderBy('rb.digest')
        .limit(this.sizes.links.value * 4)
        .execute());
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      after = [Number(last.repository_id), last.digest];
      // One transaction per batch of links (sizes.links), over as many repositories as they come from.
      for (let i = 0; i < rows.length; ) {
        const chunk = rows.slice(i, (i += this.sizes.links.value));
        result.links += await this.pacer.run(() => this.sizes.links.measure(chunk.length, () => meta.transaction(async (tx) => {
          const at = eventTime();
          const events: RegistryEvent[] = [];
          for (const [repository, digests] of groupBy(chunk, (r) => r.repository, (r) => r.digest)) {
            for (const digest of await tx.unlinkUnreferenced(repository, digests, before)) events.push({ type: 'blob.deleted', at, actor: SYSTEM_ACTOR, repository, digest });
          }
          await tx.appendEvents(events);
          return events.length;
        })));
      }
      progress({ phase: 'links', done: result.links, unit: 'links' });
    }
  }

  /** Marks the blobs no repository holds and no manifest references, a batch at a time, and sweeps each batch. */
  private async markAndSweep(runId: number, files: FileSweeper, timed: Timed, signal: AbortSignal, progress: (p: JobProgress) => void, result: GcResult): Promise<void> {
    for (let after = ''; !signal.aborted; ) {
      const candidates = await timed('mark', () => this.pacer.run(() => this.blobCandidates(after, this.sizes.blobs.value)));
      if (candidates.length === 0) break;
      after = candidates[candidates.length - 1]!;
      progress({ phase: 'marking', done: result.blobs, unit: 'blobs' });
      await timed('mark', () => this.pacer.run(() => this.sizes.blobs.measure(candidates.length, () => this.deps.meta.transaction((tx) => tx.markBlobs(candidates, runId)))));
      await this.sweep(runId, 'marked', files, timed, signal, progress, result);
    }
  }

  /**
   * Sweeps the journal's rows in `state` (`marked`: start deleting them; `deleting`: a dead run's,
   * deleted again) in batches, handing each to `files`; returns how many blobs it handed over.
   */
  private async sweep(runId: number, state: 'marked' | 'deleting', files: FileSweeper, timed: Timed, signal: AbortSignal, progress: (p: JobProgress) => void, result: GcResult): Promise<number> {
    const { meta, db } = this.deps;
    let count = 0;
    for (let after = ''; !signal.aborted; ) {
      const rows = await timed('sweep: metadata', () => this.pacer.run(() =>
        db.selectFrom('blob_deletions').select(['digest', 'size']).where('state', '=', state).where('digest', '>', after).orderBy('digest').limit(this.sizes.blobs.value).execute(),
      ));
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.digest;
      const digests = rows.map((r) => r.digest);
      const deleting: CollectedBlob[] =
        state === 'marked'
          ? await timed('sweep: metadata', () => this.pacer.run(() => meta.transaction((tx) => tx.startDeleting(digests, randomInt(1, 2 ** 47)))))
          : rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
      if (deleting.length === 0) continue;
      count += deleting.length;
      progress({ phase: state === 'deleting' ? 'resuming' : 'sweeping', done: result.blobs, unit: 'blobs' });
      await files.add(deleting);
    }
    if (count > 0 && state === 'deleting') this.deps.log.info({ run: runId, blobs: count }, 'finishing the deletions of a run that ended early');
    return count;
  }

  /** A batch in `deleting`: its bytes deleted, then its rows `deleted`. */
  private async finishSweep(batch: readonly CollectedBlob[], result: GcResult, timed: Timed, progress: (p: JobProgress) => void): Promise<void> {
    if (this.deps.sweepPauseMs) await new Promise((resolve) => setTimeout(resolve, this.deps.sweepPauseMs));
    await timed('sweep: files', () => this.deleteBytes(batch.map((b) => b.digest)));
    await timed('sweep: metadata', () => this.pacer.run(() => this.deps.meta.transaction((tx) => tx.finishDeleting(batch.map((b) => b.digest)))));
    result.blobs += batch.length;
    result.bytes += batch.reduce((sum, b) => sum + b.size, 0);
    progress({ phase: 'sweeping', done: result.blobs, unit: 'blobs' });
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

  /** Deletes the bytes; a failure stops the run (the rows stay `deleting` and the next run deletes them again). */
  private deleteBytes(digests: readonly string[]): Promise<void> {
    return this.deps.blobs.deleteMany(digests as Digest[]);
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

/** A number of rows per batch; with a target (ms), adjusted after each batch to take about that long. */
class BatchSize {
  private size: number;

  constructor(
    initial: number,
    private readonly targetMs: number,
    private readonly max = initial * 10,
  ) {
    this.size = initial;
  }

  get value(): number {
    return Math.max(1, Math.round(this.size));
  }

  /** Runs `fn` on a batch of `rows`, and moves the size halfway to what would have taken the target. */
  async measure<T>(rows: number, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const out = await fn();
    if (this.targetMs > 0 && rows > 0) {
      const fit = (rows / Math.max(performance.now() - start, 0.1)) * this.targetMs;
      this.size = Math.min(this.max, Math.max(10, (this.size + fit) / 2));
    }
    return out;
  }
}

/**
 * Runs work one piece at a time, and after each waits so that the work takes at most `share` of
 * the time (share 1: no wait beyond a turn of the event loop).
 */
class Pacer {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly share: number) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.last.then(async () => {
      const start = performance.now();
      try {
        return await fn();
      } finally {
        const rest = ((performance.now() - start) * (1 - this.share)) / this.share;
        await (rest >= 1 ? sleep(rest) : yieldToEventLoop());
      }
    });
    this.last = result.catch(() => undefined);
    return result;
  }
}

/** Runs `fn`, adding the time it takes to its phase's. */
type Timed = <T>(phase: string, fn: () => Promise<T>) => Promise<T>;

/** Adds the time `fn` takes to `phases[phase]` (seconds). */
function timer(phases: Record<string, number>): Timed {
  return async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      phases[phase] = (phases[phase] ?? 0) + (performance.now() - start) / 1000;
    }
  };
}

/**
 * Batches of blobs whose bytes are being deleted, at most `depth` at once, behind the metadata
 * work that hands them over. A batch that fails fails the run at the next add or at drain (its
 * rows stay `deleting`: the next run deletes them again).
 */
class FileSweeper {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly work: (batch: readonly CollectedBlob[]) => Promise<void>,
    private readonly depth = 2,
  ) {}

  async add(batch: readonly CollectedBlob[]): Promise<void> {
    while (this.inFlight.size >= this.depth) await Promise.race(this.inFlight);
    this.rethrow();
    const done: Promise<void> = this.work(batch)
      .catch((err: unknown) => {
        this.failure ??= { err };
      })
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  /** Waits for every batch; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.err;
  }
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
