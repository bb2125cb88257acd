// Composition of vulnerability scanning: the imported data (VulnDb), the stored reports, the
// built-in scanner over the layer reader it is given, the scan service with its scan-on-push sink
// and its scan-all job and schedule, and what the API routes need. The layer reader is injected
// (scan/inventory-of.ts's inventoryOfImage); without one, scans end in Error saying so. Scans run
// on the project's scanner (scannerOf: the built-in one, or a registered Harbor adapter).
import type { Logger } from 'pino';
import type { KeyValueStore } from '../coordination/coordination.js';
import type { EventSink } from '../events/events.js';
import type { ArtifactScanner } from '../scan/inventory.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { Db } from '../metadata/db.js';
import type { MetadataStore, WriteGate } from '../metadata/metadata-store.js';
import { BuiltinScanner, type InventoryOfImage } from '../scan/builtin-scanner.js';
import { ScanReports } from '../scan/reports.js';
import { applyScanAllSchedule, loadScanAllSchedule, SCANNABLE_TYPES, ScanService, type ScanAllSchedule, type ScanTarget } from '../scan/scan-service.js';
import { VulnDb } from '../scan/vulndb/store.js';
import type { BlobStore } from '../storage/blob-store.js';

export interface ScanComposition {
  vulndb: VulnDb;
  reports: ScanReports;
  service: ScanService;
  schedule(): ScanAllSchedule;
  setSchedule(schedule: ScanAllSchedule): Promise<void>;
}

const noAnalyzer: InventoryOfImage = async () => {
  throw new Error('this build of minato has no package analyzer (scan/inventory-of.ts): the built-in scanner cannot read image layers');
};

/**
 * A sink that hands events to one made later (the scan service needs the core, whose dispatcher
 * takes its sinks when it is built). Until then it refuses: the dispatcher retries the batch.
 */
export function deferredSink(name: string, scope: EventSink['scope'], get: () => EventSink | undefined): EventSink {
  return {
    name,
    scope,
    deliver: async (batch, signal) => {
      const sink = get();
      if (!sink) throw new Error(`${name} is not ready yet`);
      await sink.deliver(batch, signal);
    },
  };
}

export async function composeScan(deps: {
  db: Db;
  meta: MetadataStore;
  blobs: BlobStore;
  writes: WriteGate;
  jobs: Scheduler;
  kv: KeyValueStore;
  projectMetadata(project: string): Promise<Record<string, string> | undefined>;
  inventoryOf?: InventoryOfImage;
  /** The scanner scans run on, given the built-in one (a router to the projects' adapters); default: the built-in one. */
  scannerOf?(builtin: ArtifactScanner): ArtifactScanner;
  log: Logger;
}): Promise<ScanComposition> {
  const vulndb = new VulnDb(deps.db, deps.writes);
  const reports = new ScanReports(deps.db, deps.writes);
  const scanner = new BuiltinScanner({
    blobs: deps.blobs,
    manifestBytes: async (repository, digest) => {
      const m = await deps.meta.getManifest(repository, digest);
      if (!m) throw new Error(`manifest ${digest} is not in repository ${repository} any more`);
      return m.content;
    },
    inventoryOf: deps.inventoryOf ?? noAnalyzer,
    vulndb,
  });
  const service = new ScanService({
    reports,
    scanner: deps.scannerOf?.(scanner) ?? scanner,
    match: (inventory) => scanner.match(inventory),
    autoScan: async (repository) => (await deps.projectMetadata(repository.split('/')[0]!))?.auto_scan === 'true',
    images: (after, limit) => imageManifests(deps.db, after, limit),
    log: deps.log,
  });
  deps.jobs.register(service.job());
  let schedule: ScanAllSchedule = (await loadScanAllSchedule(deps.kv)) ?? { type: 'None' };
  await applyScanAllSchedule(deps.jobs, undefined, schedule);
  return {
    vulndb,
    reports,
    service,
    schedule: () => schedule,
    async setSchedule(next) {
      await applyScanAllSchedule(deps.jobs, deps.kv, next);
      schedule = next;
    },
  };
}

/** Image manifests of every repository, ordered by (repository, digest), a page after `after`. */
async function imageManifests(db: Db, after: { repository: string; digest: string } | undefined, limit: number): Promise<ScanTarget[]> {
  let q = db
    .selectFrom('manifests as m')
    .innerJoin('repositories as r', 'r.id', 'm.repository_id')
    .select(['r.name', 'm.digest', 'm.media_type'])
    .where('m.media_type', 'in', [...SCANNABLE_TYPES])
    .orderBy('r.name')
    .orderBy('m.digest')
    .limit(limit);
  if (after) q = q.where((eb) => eb.or([eb('r.name', '>', after.repository), eb.and([eb('r.name', '=', after.repository), eb('m.digest', '>', after.digest)])]));
  return (await q.execute()).map((r) => ({ repository: r.name, digest: r.digest, mediaType: r.media_type }));
}
