// When scans run, and what re-matching does: on push (an event sink on manifest.pushed, for image
// manifests of projects whose Harbor metadata `auto_scan` is "true"), on demand (the API), for
// every image on a schedule (the scheduler's job `scan-all`), and after a feed import (re-match:
// the stored inventories against the new data, never the layers).
//
// Scans run in this process, SCAN_CONCURRENCY at a time, queued in order; a digest is scanned once
// at a time (asking again while it is queued or running returns the same report). A report moves
// Pending -> Running -> Success | Error | Stopped; a stop marks it Stopped and its result, if it
// comes, is dropped (the scanner contract has no cancellation). Scans queued when the process
// stops stay Pending; asking again starts them anew.
import type { Logger } from 'pino';
import type { EventSink, StoredEvent } from '../events/events.js';
import type { KeyValueStore } from '../coordination/coordination.js';
import { cronOf, type ScheduleType } from '../gc/gc-job.js';
import type { JobContext, JobDefinition, Scheduler } from '../jobs/scheduler.js';
import { MEDIA } from '../oci/manifest-parse.js';
import type { ArtifactScanner, Finding, Inventory } from './inventory.js';
import type { ScanReports } from './reports.js';

export interface ScanTarget {
  repository: string;
  digest: string;
  mediaType: string;
  tag?: string;
}

/** What the scanner reads: image manifests (Harbor's scanners consume these two). */
export const SCANNABLE_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];

export interface ScanServiceDeps {
  reports: ScanReports;
  scanner: ArtifactScanner;
  /** Re-matches a stored inventory (the built-in scanner's match). */
  match(inventory: Inventory): Promise<Finding[]>;
  /** Whether a repository's project scans on push (its metadata `auto_scan`). */
  autoScan(repository: string): Promise<boolean>;
  /** Image manifests of every repository, a page after `after` (scan-all walks them). */
  images(after: { repository: string; digest: string } | undefined, limit: number): Promise<ScanTarget[]>;
  log: Logger;
}

const SCAN_CONCURRENCY = 1;
const PAGE = 200;

export const SCAN_ALL_JOB = 'scan-all';

export class ScanService {
  private readonly queue: Array<ScanTarget & { reportId: string }> = [];
  /** Digests queued or running, with their report. */
  private readonly inFlight = new Map<string, { reportId: string; progress: number; done: Promise<void>; resolve(): void }>();
  private active = 0;
  private closed = false;

  constructor(private readonly deps: ScanServiceDeps) {}

  /** Queues a scan (or returns the one queued or running for the digest); resolves with its report id. */
  async request(target: ScanTarget): Promise<string> {
    if (!SCANNABLE_TYPES.includes(target.mediaType)) throw new Error(`${target.mediaType} is not an image manifest: scan an image (an index's platform manifests one by one)`);
    const going = this.inFlight.get(target.digest);
    if (going) return going.reportId;
    const reportId = await this.deps.reports.begin(target, this.deps.scanner.info);
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.inFlight.set(target.digest, { reportId, progress: 0, done, resolve });
    this.queue.push({ ...target, reportId });
    this.pump();
    return reportId;
  }

  /** Resolves when the digest's queued or running scan has ended (at once when there is none). */
  async settled(digest: string): Promise<void> {
    await this.inFlight.get(digest)?.done;
  }

  /** How far the digest's running scan is, in percent (Harbor's complete_percent). */
  percent(digest: string): number | undefined {
    const f = this.inFlight.get(digest);
    return f && Math.round(f.progress * 100);
  }

  /** Stops the digest's scan: false when none is queued or running here. */
  async stop(digest: string): Promise<boolean> {
    const f = this.inFlight.get(digest);
    if (!f) return false;
    const i = this.queue.findIndex((q) => q.digest === digest);
    if (i >= 0) this.queue.splice(i, 1);
    await this.deps.reports.setStatus(digest, f.reportId, 'Stopped', 'stopped on request');
    this.finish(digest);
    return true;
  }

  private finish(digest: string): void {
    const f = this.inFlight.get(digest);
    this.inFlight.delete(digest);
    f?.resolve();
  }

  private pump(): void {
    while (!this.closed && this.active < SCAN_CONCURRENCY && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.active++;
      void this.run(next).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async run(target: ScanTarget & { reportId: string }): Promise<void> {
    const { reports, scanner, log } = this.deps;
    const started = Date.now();
    try {
      if (!(await reports.setStatus(target.digest, target.reportId, 'Running'))) return;
      const result = await scanner.scan(target, (fraction) => {
        const f = this.inFlight.get(target.digest);
        if (f && f.reportId === target.reportId) f.progress = fraction;
      });
      if (this.inFlight.get(target.digest)?.reportId !== target.reportId) return; // stopped meanwhile
      await reports.complete(target.digest, target.reportId, result.findings, result.inventory);
      log.info({ repository: target.repository, digest: target.digest, findings: result.findings.length, ms: Date.now() - started }, 'scan finished');
    } catch (err) {
      const message = (err as Error).message;
      log.warn({ repository: target.repository, digest: target.digest, err: message }, `scan of ${target.repository}@${target.digest} failed: ${message}; scan it again once the cause is fixed`);
      await reports.setStatus(target.digest, target.reportId, 'Error', message).catch((e: unknown) => log.error({ err: e }, 'could not record a failed scan'));
    } finally {
      if (this.inFlight.get(target.digest)?.reportId === target.reportId) this.finish(target.digest);
    }
  }

  /** Re-matches every stored inventory against the data imported now; how many reports changed. */
  async rematchAll(progress?: (done: number) => void, signal?: AbortSignal): Promise<{ inventories: number; changed: number }> {
    return rematchStored(this.deps.reports, (inv) => this.deps.match(inv), progress, signal);
  }

  /**
   * Every image: one with a stored inventory is re-matched, one without is scanned (its layers
   * read). Waits for each scan, so that a run's progress is the images done.
   */
  async scanAll(ctx: Pick<JobContext<unknown>, 'signal' | 'progress'>): Promise<{ images: number; scanned: number; rematched: number; failed: number }> {
    const counts = { images: 0, scanned: 0, rematched: 0, failed: 0 };
    let after: { repository: string; digest: string } | undefined;
    for (;;) {
      const page = await this.deps.images(after, PAGE);
      for (const target of page) {
        if (ctx.signal.aborted) throw new Error('scan-all stopped');
        counts.images++;
        const inventory = await this.deps.reports.inventory(target.digest);
        const report = inventory && (await this.deps.reports.report(target.digest));
        if (inventory && report?.status === 'Success') {
          await this.deps.reports.rematched(target.digest, await this.deps.match(inventory));
          counts.rematched++;
        } else {
          await this.request(target);
          await this.settled(target.digest);
          const after = await this.deps.reports.report(target.digest);
          if (after?.status === 'Success') counts.scanned++;
          else counts.failed++;
        }
        ctx.progress({ done: counts.images, unit: 'images', phase: 'scanning' });
      }
      if (page.length < PAGE) return counts;
      after = page[page.length - 1]!;
    }
  }

  /** The scheduler's job that scans every image (Harbor's scan all). */
  job(): JobDefinition<Record<string, unknown>, Record<string, unknown>> {
    return {
      name: SCAN_ALL_JOB,
      scheduledParams: () => ({}),
      run: async (ctx) => this.scanAll(ctx),
    };
  }

  /** Scan on push: image manifests of projects with auto_scan "true". */
  sink(): EventSink {
    return {
      name: 'scan-on-push',
      scope: 'fleet',
      deliver: async (batch: readonly StoredEvent[]) => {
        for (const e of batch) {
          if (e.type !== 'manifest.pushed' || !SCANNABLE_TYPES.includes(e.mediaType)) continue;
          if (!(await this.deps.autoScan(e.repository))) continue;
          await this.request({ repository: e.repository, digest: e.digest, mediaType: e.mediaType, tag: e.tag });
        }
      },
    };
  }

  /** Stops taking scans; queued ones stay Pending (asking again starts them). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }
}

/** Re-matches every stored inventory (the service's, and the CLI's after `minato vulndb import`). */
export async function rematchStored(
  reports: ScanReports,
  match: (inventory: Inventory) => Promise<Finding[]>,
  progress?: (done: number) => void,
  signal?: AbortSignal,
): Promise<{ inventories: number; changed: number }> {
  let after = '';
  let inventories = 0;
  let changed = 0;
  for (;;) {
    const digests = await reports.inventoryDigests(after, PAGE);
    for (const digest of digests) {
      if (signal?.aborted) throw new Error('re-matching stopped');
      const inventory = await reports.inventory(digest);
      if (inventory && (await reports.rematched(digest, await match(inventory)))) changed++;
      inventories++;
      progress?.(inventories);
    }
    if (digests.length < PAGE) return { inventories, changed };
    after = digests[digests.length - 1]!;
  }
}

/** Harbor's scan-all schedule (GET|PUT /system/scanAll/schedule), kept in the shared store. */
export interface ScanAllSchedule {
  type: ScheduleType;
  cron?: string;
}

const SCAN_ALL_SCHEDULE_KEY = 'jobs/scan-all/schedule.json';

export async function loadScanAllSchedule(kv: KeyValueStore): Promise<ScanAllSchedule | undefined> {
  const value = await kv.load(SCAN_ALL_SCHEDULE_KEY);
  return value ? (JSON.parse(value.toString('utf8')) as ScanAllSchedule) : undefined;
}

/** Schedules the job in this replica (throws on a bad cron) and keeps the schedule in the shared store. */
export async function applyScanAllSchedule(jobs: Scheduler, kv: KeyValueStore | undefined, schedule: ScanAllSchedule): Promise<void> {
  jobs.schedule(SCAN_ALL_JOB, cronOf(schedule));
  if (kv) await kv.store(SCAN_ALL_SCHEDULE_KEY, Buffer.from(JSON.stringify(schedule)));
}
