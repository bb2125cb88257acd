// Composition of the scrub: the use case on this registry's stores, paced and graced as
// configured, as the job "scrub" on the scheduler (with its schedule), and its metrics.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { KeyValueStore } from '../coordination/coordination.js';
import { Scrub } from '../core/scrub.js';
import { ScrubRuns } from '../core/scrub-runs.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { ScrubQueries } from '../metadata/scrub-queries.js';
import type { RegistryCore } from './compose-registry.js';
import type { Metrics } from './metrics.js';

export function composeScrub(config: Config, deps: { core: Pick<RegistryCore, 'meta' | 'db' | 'blobs' | 'gc'>; jobs: Scheduler; kv: KeyValueStore; log: Logger; metrics?: Metrics }): ScrubRuns {
  const { core, metrics } = deps;
  const scrub = new Scrub({
    meta: core.meta,
    queries: new ScrubQueries(core.db),
    blobs: core.blobs,
    rateBytesPerSecond: config.scrub.rateMBps * 1e6,
    orphanGraceMs: config.scrub.orphanGraceMinutes * 60_000,
    // Through garbage collection's deletion journal, which blob commits check.
    reclaimOrphans: (orphans) => core.gc.reclaimOrphans(orphans, Date.now()),
    log: deps.log,
    onBytesVerified: metrics && ((bytes) => metrics.scrubBytesVerified.inc(bytes)),
  });
  return new ScrubRuns({
    jobs: deps.jobs,
    kv: deps.kv,
    scrub,
    schedule: config.scrub.schedule,
    onFinished: metrics && ((remaining, at) => metrics.observeScrub(remaining, at)),
  });
}
