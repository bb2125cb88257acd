// The scrub: proves that what the registry serves is whole, and says what is not and what to do.
//  1. Every blob the metadata knows is read back and re-hashed (streamed, paced by a token bucket
//     so that serving goes on), and its size compared: bytes that hash to another digest are a
//     corrupt blob; a linked blob with no bytes (or bytes of another size) is a missing blob.
//  2. Every stored manifest's bytes are hashed against its digest, and every reference of every
//     manifest must be a blob its repository holds or a manifest of its repository.
//  3. The storage is listed against the metadata: bytes no blob row knows are orphans.
// Everything is read in keyset pages (metadata/scrub-queries.ts, BlobStore.list), so the size of
// the registry never sits in memory. Each finding says what it means and what repair does.
//
// Repair (`repair: true`) fixes what can be fixed without guessing:
//  - a corrupt or missing blob: the bad bytes are deleted and the blob is unlinked from every
//    repository (events and quotas follow, as for a blob DELETE), so the next push of that layer
//    uploads it again; left linked, a client's HEAD says "exists" and it never re-sends the layer;
//  - orphan bytes older than the grace window, still unknown on a re-check right before: deleted
//    through `reclaimOrphans` (see ScrubDeps);
//  - a broken reference or a corrupt manifest is only reported: a manifest is never deleted on
//    its own; the finding names the push that heals it.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, eventTime, type RegistryEvent } from '../events/events.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { ScrubQueries } from '../metadata/scrub-queries.js';
import { adviceFor, FINDING_KINDS, type FindingFacts, type FindingKind, type ScrubFinding } from './scrub-findings.js';
import { parseManifest } from '../oci/manifest-parse.js';
import { digestAlgorithm, isDigest, type Digest } from '../oci/names.js';
import { BlobNotFoundError, type BlobStore } from '../storage/blob-store.js';
import { TokenBucket } from '../util/token-bucket.js';

export interface ScrubProgress {
  phase: 'blobs' | 'manifests' | 'references' | 'orphans';
  done: number;
  total?: number;
  unit: string;
}

export interface ScrubReport {
  repair: boolean;
  /** The run was stopped before the end: what it checked so far. */
  stopped: boolean;
  blobs: { checked: number; bytes: number; total: number };
  manifests: { checked: number; references: number };
  storage: { listed: number; orphansInGrace: number };
  counts: Record<FindingKind, number>;
  /** Findings of each kind that remain (not repaired by this run). */
  remaining: Record<FindingKind, number>;
  repaired: number;
  /** The first MAX_FINDINGS findings (counts stay exact beyond). */
  findings: ScrubFinding[];
  findingsTruncated: boolean;
}

export interface ScrubDeps {
  /** Repairs unlink blobs in its transactions, with events (the audit log and other replicas' caches follow). */
  meta: MetadataStore;
  queries: ScrubQueries;
  blobs: BlobStore;
  /** Pace of the re-hashing, bytes per second; 0: unlimited. */
  rateBytesPerSecond: number;
  /** Orphan bytes younger than this are left alone (a commit in flight, or one about to reuse them). */
  orphanGraceMs: number;
  /**
   * Deletes orphan bytes through garbage collection's deletion journal (GarbageCollector
   * reclaimOrphans: blob_deletions marked -> deleting -> deleted, which blob commits check), so a
   * commit that reuses the bytes between the scrub's look and the delete keeps them. Returns the
   * digests deleted.
   */
  reclaimOrphans(orphans: Array<{ digest: Digest; size: number }>): Promise<string[]>;
  log: Logger;
  /** Counts bytes re-hashed (metrics). */
  onBytesVerified?(bytes: number): void;
  now?(): number;
}

export interface ScrubOptions {
  repair: boolean;
  signal?: AbortSignal;
  progress?(progress: ScrubProgress): void;
}

export const MAX_FINDINGS = 5000;
const IMAGES_PER_FINDING = 20;
const BLOB_PAGE = 500;
const MANIFEST_PAGE = 200;
const STORAGE_PAGE = 1000;
const READ_CHUNK = 1 << 20;

export function emptyReport(repair: boolean): ScrubReport {
  const zero = () => Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  return {
    repair,
    stopped: false,
    blobs: { checked: 0, bytes: 0, total: 0 },
    manifests: { checked: 0, references: 0 },
    storage: { listed: 0, orphansInGrace: 0 },
    counts: zero(),
    remaining: zero(),
    repaired: 0,
    findings: [],
    findingsTruncated: false,
  };
}

export class Scrub {
  constructor(private readonly deps: ScrubDeps) {}

  /**
   * One whole scrub. Resolves with the report (filled as it goes: pass `report` to watch it); a
   * stop (signal) ends it early with what was checked.
   */
  async run(options: ScrubOptions, report: ScrubReport = emptyReport(options.repair)): Promise<ScrubReport> {
    const run = new ScrubRun(this.deps, options, report);
    try {
      await run.blobs();
      await run.manifests();
      await run.references();
      await run.orphans();
    } catch (err) {
      if (!options.signal?.aborted) throw err;
      report.stopped = true;
    }
    return report;
  }
}

/** The state of one run: the report it fills, the pace, the options. */
class ScrubRun {
  private readonly bucket: TokenBucket;
  private readonly now: () => number;

  constructor(
    private readonly deps: ScrubDeps,
    private readonly options: ScrubOptions,
    private readonly report: ScrubReport,
  ) {
    this.bucket = new TokenBucket(deps.rateBytesPerSecond);
    this.now = deps.now ?? Date.now;
  }

  private get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** Re-hashes every blob row's bytes (and checks that linked blobs have them). */
  async blobs(): Promise<void> {
    const { queries, blobs } = this.deps;
    const { report } = this;
    const totals = await queries.blobTotals();
    report.blobs.total = totals.bytes;
    this.progress({ phase: 'blobs', done: 0, total: totals.bytes, unit: 'bytes' });
    for (let after: string | undefined; ; ) {
      this.signal?.throwIfAborted();
      const page = await queries.blobsAfter(after, BLOB_PAGE);
      for (const row of page) {
        this.signal?.throwIfAborted();
        if (!isDigest(row.digest)) continue;
        const stat = await blobs.stat(row.digest);
        if (!stat) {
          // No bytes: a problem only while a repository links it (an unlinked row is garbage
          // collection's). Asked again now: the page is a moment old.
          if (row.linked && (await queries.repositoriesLinking(row.digest)).length > 0) {
            await this.blobFinding('missing-blob', row.digest, `no bytes in ${blobs.kind} storage (the metadata says ${row.size} bytes)`, false);
          }
        } else if (stat.size !== row.size) {
          await this.blobFinding('missing-blob', row.digest, `the stored bytes are ${stat.size} long, the metadata says ${row.size}`, true);
        } else {
          const actual = await this.hash(row.digest, stat.size);
          if (actual !== undefined && actual !== row.digest) await this.blobFinding('corrupt-blob', row.digest, `the stored bytes hash to ${actual}`, true);
        }
        report.blobs.checked++;
      }
      if (page.length < BLOB_PAGE) break;
      after = page[page.length - 1]!.digest;
    }
  }

  /** The digest of a blob's stored bytes, read at the paced rate; undefined when they went meanwhile. */
  private async hash(digest: Digest, size: number): Promise<string | undefined> {
    const algorithm = digestAlgorithm(digest);
    const hash = createHash(algorithm);
    let chunks: AsyncIterable<Buffer>;
    try {
      chunks = await this.chunks(digest, size);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return undefined;
      throw err;
    }
    try {
      for await (const chunk of chunks) {
        // Paced before the bytes are counted: nothing more is read while we wait.
        await this.bucket.take(chunk.length, this.signal);
        hash.update(chunk);
        this.report.blobs.bytes += chunk.length;
        this.deps.onBytesVerified?.(chunk.length);
        this.progress({ phase: 'blobs', done: this.report.blobs.bytes, total: this.report.blobs.total, unit: 'bytes' });
      }
    } catch (err) {
      if (err instanceof BlobNotFoundError || (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return `${algorithm}:${hash.digest('hex')}`;
  }

  /**
   * A blob's bytes in order. Where the store has positional reads (the filesystem), through them:
   * large blobs are then read with direct I/O into reused buffers, as pulls are, instead of filling
   * the page cache with a whole registry's worth of fresh pages (expensive on VMs, and it evicts
   * what pulls need). Elsewhere, the store's stream.
   */
  private async chunks(digest: Digest, size: number): Promise<AsyncIterable<Buffer>> {
    const { blobs } = this.deps;
    if (!blobs.openReader) return (await blobs.open(digest)) as AsyncIterable<Buffer>;
    const reader = await blobs.openReader(digest);
    return (async function* () {
      try {
        for (let position = 0; position < size; ) {
          // Each chunk is hashed before the next read reuses its buffer (depth >= 1).
          const chunk = await reader.read(position, READ_CHUNK);
          if (chunk.length === 0) return;
          position += chunk.length;
          yield chunk;
        }
      } finally {
        await reader.close();
      }
    })();
  }

  /** A corrupt or missing blob: reported with the images it breaks; repaired when asked. */
  private async blobFinding(kind: 'corrupt-blob' | 'missing-blob', digest: Digest, detail: string, hasBytes: boolean): Promise<void> {
    const { queries, blobs, log } = this.deps;
    const images = await queries.imagesUsing(digest, IMAGES_PER_FINDING);
    let repaired = false;
    if (this.options.repair) {
      // Bytes first, then the links: a push racing the repair then either finds the blob still
      // linked (and the image stays broken until the next push) or uploads good bytes anew.
      if (hasBytes) await blobs.delete(digest);
      const unlinked = await this.unlinkEverywhere(digest);
      repaired = true;
      log.warn({ digest, kind, unlinked }, `scrub repaired ${kind} ${digest}: ${hasBytes ? 'bytes deleted, ' : ''}unlinked from ${unlinked.length} repositories; pushing the images that use it again heals them`);
    } else {
      log.warn({ digest, kind, detail }, `scrub found ${kind} ${digest}: ${detail}. Run minato scrub --repair, then push the images that use it again`);
    }
    this.add({ kind, digest, detail, repaired, images });
  }

  /** Unlinks a blob from every repository in one transaction, with an event per link (as a blob DELETE). */
  private async unlinkEverywhere(digest: Digest): Promise<string[]> {
    const { meta, queries } = this.deps;
    const repositories = await queries.repositoriesLinking(digest);
    if (repositories.length === 0) return [];
    return meta.transaction(async (tx) => {
      const at = eventTime();
      const events: RegistryEvent[] = [];
      const unlinked: string[] = [];
      for (const repository of repositories) {
        if (!(await tx.unlinkBlob(repository, digest))) continue;
        unlinked.push(repository);
        events.push({ type: 'blob.deleted', at, actor: SYSTEM_ACTOR, repository, digest });
      }
      await tx.appendEvents(events);
      return unlinked;
    });
  }

  /** Hashes every stored manifest against its digest. */
  async manifests(): Promise<void> {
    const { queries, log } = this.deps;
    const total = await queries.manifestCount();
    this.progress({ phase: 'manifests', done: 0, total, unit: 'manifests' });
    for (let after: { repositoryId: number; digest: string } | undefined; ; ) {
      this.signal?.throwIfAborted();
      const page = await queries.manifestsAfter(after, MANIFEST_PAGE);
      for (const m of page) {
        if (isDigest(m.digest)) {
          const algorithm = digestAlgorithm(m.digest);
          const actual = `${algorithm}:${createHash(algorithm).update(m.content).digest('hex')}`;
          if (actual !== m.digest) {
            log.warn({ repository: m.repository, digest: m.digest, actual }, `scrub found corrupt-manifest ${m.repository}@${m.digest}: its stored bytes hash to ${actual}`);
            const images = await queries.imagesUsing(m.digest, IMAGES_PER_FINDING);
            const tags = await this.tagsOf(m.repository, m.digest);
            this.add({ kind: 'corrupt-manifest', digest: m.digest, repository: m.repository, manifest: m.digest, detail: `the stored bytes hash to ${actual}`, repaired: false, images: [{ repository: m.repository, manifest: m.digest, tags }, ...images] });
          }
        }
        this.report.manifests.checked++;
      }
      this.progress({ phase: 'manifests', done: this.report.manifests.checked, total, unit: 'manifests' });
      if (page.length < MANIFEST_PAGE) break;
      const last = page[page.length - 1]!;
      after = { repositoryId: last.repositoryId, digest: last.digest };
    }
  }

  /** Every reference whose child the repository does not hold (foreign layers aside). */
  async references(): Promise<void> {
    const { queries, log } = this.deps;
    this.progress({ phase: 'references', done: 0, unit: 'references' });
    for (let after: { repositoryId: number; manifest: string; child: string } | undefined; ; ) {
      this.signal?.throwIfAborted();
      const page = await queries.danglingReferencesAfter(after, MANIFEST_PAGE);
      for (const ref of page) {
        this.report.manifests.references++;
        if (isForeignLayer(ref.content, ref.mediaType, ref.child)) continue;
        const tags = await this.tagsOf(ref.repository, ref.manifest);
        const parents = await queries.imagesUsing(ref.manifest, IMAGES_PER_FINDING);
        const detail = `${ref.repository}@${ref.manifest} references ${ref.child}, which ${ref.released ? 'the repository released (a manifest delete), so it is not served' : 'the repository does not hold'}`;
        log.warn({ repository: ref.repository, manifest: ref.manifest, child: ref.child }, `scrub found broken-reference: ${detail}. Push the image again`);
        this.add({
          kind: 'broken-reference',
          digest: ref.child,
          repository: ref.repository,
          manifest: ref.manifest,
          detail,
          repaired: false,
          images: [{ repository: ref.repository, manifest: ref.manifest, tags }, ...parents],
        });
      }
      this.progress({ phase: 'references', done: this.report.manifests.references, unit: 'references' });
      if (page.length < MANIFEST_PAGE) break;
      const last = page[page.length - 1]!;
      after = { repositoryId: last.repositoryId, manifest: last.manifest, child: last.child };
    }
  }

  /** Stored bytes that no blob row knows: orphans once older than the grace window. */
  async orphans(): Promise<void> {
    const { queries, blobs, orphanGraceMs, log } = this.deps;
    const { report } = this;
    this.progress({ phase: 'orphans', done: 0, unit: 'blobs' });
    for (let after: Digest | undefined; ; ) {
      this.signal?.throwIfAborted();
      const page = await blobs.list(after, STORAGE_PAGE);
      report.storage.listed += page.length;
      const known = await queries.knownBlobs(page.map((b) => b.digest));
      const old: Array<{ digest: Digest; size: number; ageMs: number }> = [];
      for (const b of page) {
        if (known.has(b.digest)) continue;
        const ageMs = b.modified ? this.now() - b.modified.getTime() : undefined;
        // Young bytes (or bytes whose age the driver cannot tell) may be a commit in flight.
        if (ageMs === undefined || ageMs < orphanGraceMs) report.storage.orphansInGrace++;
        else old.push({ digest: b.digest, size: b.size, ageMs });
      }
      let reclaimed = new Set<string>();
      if (this.options.repair && old.length > 0) {
        // Asked again right before the delete: a commit may have written its metadata meanwhile.
        const claimed = await queries.knownBlobs(old.map((o) => o.digest));
        const still = old.filter((o) => !claimed.has(o.digest));
        reclaimed = new Set(still.length > 0 ? await this.deps.reclaimOrphans(still) : []);
        if (reclaimed.size) log.info({ count: reclaimed.size }, `scrub deleted ${reclaimed.size} orphan blob(s) no metadata knows`);
      }
      for (const o of old) {
        if (this.options.repair && !reclaimed.has(o.digest)) continue;
        this.add({ kind: 'orphan-blob', digest: o.digest, detail: `${o.size} bytes in ${blobs.kind} storage, last written ${Math.round(o.ageMs / 60_000)} min ago, that no metadata knows`, repaired: reclaimed.has(o.digest) });
      }
      this.progress({ phase: 'orphans', done: report.storage.listed, unit: 'blobs' });
      if (page.length < STORAGE_PAGE) break;
      after = page[page.length - 1]!.digest;
    }
  }

  private tagsOf(repository: string, manifest: string): Promise<string[]> {
    return this.deps.queries.tagsOf(repository, manifest);
  }

  private add(f: FindingFacts): void {
    const { report } = this;
    report.counts[f.kind]++;
    if (f.repaired) report.repaired++;
    else report.remaining[f.kind]++;
    if (report.findings.length >= MAX_FINDINGS) {
      report.findingsTruncated = true;
      return;
    }
    report.findings.push({ ...f, ...adviceFor(f) });
  }

  private progress(p: ScrubProgress): void {
    this.options.progress?.(p);
  }
}

/** Whether `child` is a non-distributable layer of the manifest (referenced, never pushed). */
function isForeignLayer(content: Buffer, mediaType: string, child: string): boolean {
  try {
    return parseManifest(content, mediaType).externalBlobs.includes(child);
  } catch {
    return false;
  }
}
