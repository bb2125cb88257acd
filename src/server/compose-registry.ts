// Composition of the registry's core: the metadata store and the blob store the configuration
// names, the caches, the policy chains, the use cases, the event outbox's batcher and dispatcher,
// and the upload purge. The only place that knows which implementations run.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { Artifacts } from '../core/artifacts.js';
import { UploadPurger } from '../core/upload-purger.js';
import { UploadSessions } from '../core/upload-sessions.js';
import { EventDispatcher } from '../events/dispatcher.js';
import { EventBatcher } from '../events/event-batcher.js';
import { EventLogSink } from '../events/event-log-sink.js';
import { PullStatsSink } from '../events/pull-stats-sink.js';
import { SYSTEM_ACTOR, type EventSink } from '../events/events.js';
import { CachedMetadataStore } from '../metadata/cached-metadata-store.js';
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { SqliteMetadataStore } from '../metadata/sqlite/sqlite-metadata-store.js';
import { chainsWith, type Permissions } from '../policy/authorization.js';
import { Policies } from '../policy/policy.js';
import { quotaDeciders } from '../policy/quota.js';
import { immutabilityDeciders, ImmutableRules } from '../policy/immutability.js';
import { TagRuleStore } from '../metadata/tag-rule-store.js';
import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../storage/blob-store.js';
import { FsBlobStore } from '../storage/filesystem/fs-blob-store.js';
import { openBlobStore } from '../storage/open-blob-store.js';
import { KeyedQueue } from '../util/async.js';
import type { Locker } from '../coordination/coordination.js';
import type { Principal } from '../auth/policy.js';
import { CacheInvalidationSink } from '../events/cache-invalidation.js';
import type { AuditLog } from '../audit/audit-log.js';
import { composeAudit } from './compose-audit.js';
import { GarbageCollector } from '../gc/garbage-collector.js';
import { composeTrust, type TrustCore } from './compose-trust.js';
import { isScannerCaller, VulnerabilityGate } from '../policy/vulnerability.js';
import { AllowlistStore } from '../scan/allowlist.js';
import { ScanPolicySnapshot } from '../scan/allowlist-policy.js';
import type { Inventories, ScanSummaries } from '../scan/inventory.js';

/**
 * What the vulnerability gate and the SBOM generator read of the scanning that runs (the scan
 * reports' owner): absent when no scanner runs, and then unscanned artifacts are not gated
 * (Harbor: an artifact no scanner can scan is served).
 */
export interface ScanDeps {
  summaries: ScanSummaries;
  inventories?: Inventories;
  /** Scans an artifact now; resolves once its report is stored (the gate's scan-first). */
  scanNow?(target: { repository: string; digest: string; mediaType: string; tag?: string }, signal: AbortSignal): Promise<void>;
}

export interface RegistryCore {
  meta: MetadataStore;
  /** Kysely on the metadata database, for the modules that query with it (database users). */
  db: Db;
  blobs: BlobStore;
  uploads: UploadSessions;
  artifacts: Artifacts;
  /** Events that describe no change of their own (pulls, logins, certificates), written in batches. */
  events: EventBatcher;
  /** The audit log's entries (filters, pages, total), fed by the events. */
  audit: AuditLog;
  /** Online garbage collection (run as the scheduler's job `gc`, server/compose.ts). */
  gc: GarbageCollector;
  /** Immutability rules and retention policies: their store, and the immutability snapshot the policy points read. */
  tagRules: { store: TagRuleStore; immutable: ImmutableRules };
  /** Trust policies, signature discovery and verification, and the signature gate (compose-trust.ts). */
  trust: TrustCore;
  /** The vulnerability gate of the pull point, the CVE allowlists and the snapshot it reads. */
  scanPolicy: { gate: VulnerabilityGate; allowlists: AllowlistStore; snapshot: ScanPolicySnapshot; scan?: ScanDeps };
  /** Starts the background work (event delivery, upload purge) once the server is up. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface CoreOptions {
  permissions: Permissions;
  /** Whether a principal may see a repository in listings (the catalog). */
  listable(principal: Principal, repository: string): boolean;
  /** Called with the origins of user changes that reached this process through the outbox. */
  usersChanged?(origins: readonly string[]): void;
  /** Called with the origins of project, member, robot and user changes that reached this process through the outbox. */
  accessChanged?(origins: readonly string[]): void;
  /** Called with the origins of tag rule changes (retention policies) that reached this process through the outbox. */
  retentionChanged?(origins: readonly string[]): void;
  /** Fleet locks: background jobs (upload purge, fleet-wide event sinks) run once per fleet. Absent: this process alone. */
  locker?: Locker;
  /** Counts request body bytes stored and uploads in progress (metrics). */
  observeUpload?: { started(): void; finished(bytes: number): void };
  /** Further event sinks (scan on push). */
  sinks?: EventSink[];
  /** The scanning that runs (reports, inventories, scan now); absent: none. */
  scan?: ScanDeps;
}

export interface Stores {
  meta: MetadataStore;
  db: Db;
  blobs: BlobStore;
  /** Whether this process is the only writer of the metadata (the embedded database). */
  soleWriter: boolean;
}

/** The metadata store the configuration names, with Kysely on its database. */
export async function openMetadata(config: Config, dataDir: string, log: Logger): Promise<Omit<Stores, 'blobs'>> {
  const { database } = config;
  if (database.driver === 'postgres') {
    const { openPostgresMetadata } = await import('../metadata/postgres/postgres-metadata-store.js');
    const store = await openPostgresMetadata({
      url: database.url,
      maxConnections: database.maxConnections,
      statementTimeoutSeconds: database.statementTimeoutSeconds,
      log: log.child({ mod: 'metadata.postgres' }),
    });
    return { meta: store, db: store.db, soleWriter: false };
  }
  const sqlite = await SqliteMetadataStore.open(path.join(dataDir, 'minato.db'));
  return { meta: sqlite, db: sqlite.db, soleWriter: true };
}

/** The metadata store and the blob store the configuration names (not yet cached). */
export async function openStores(config: Config, dataDir: string, log: Logger): Promise<Stores> {
  const metadata = await openMetadata(config, dataDir, log);
  const blobs = await openBlobStore(config.storage, dataDir).catch(async (err: unknown) => {
    await metadata.meta.close();
    throw err;
  });
  if (blobs instanceof FsBlobStore) log.info({ directIO: blobs.direct !== undefined }, blobs.direct ? 'large blobs use direct I/O' : 'blobs use buffered I/O');
  else log.info({ storage: blobs.kind }, `blobs are kept in ${blobs.kind}`);
  return { ...metadata, blobs };
}

export async function composeRegistryCore(config: Config, dataDir: string, log: Logger, options: CoreOptions): Promise<RegistryCore> {
  const stores = await openStores(config, dataDir, log);
  const { blobs, db } = stores;
  // A sole writer's caches follow every change it makes; replicas run uncached (see CachedMetadataStore).
  const meta = stores.soleWriter ? new CachedMetadataStore(stores.meta) : stores.meta;

  const events = new EventBatcher(meta, log.child({ mod: 'events' }));
  const quota = quotaDeciders({ meta, events });
  // Tag rules: written with Kysely through the store's writer; the immutability snapshot is read
  // by the tagMove and delete points (no query per push), rebuilt after every change.
  const ruleStore = new TagRuleStore(db, randomUUID(), (fn) => meta.outsideTransactions(fn));
  const immutable = new ImmutableRules(ruleStore);
  await immutable.reload();
  ruleStore.onChange((kind) => (kind === 'immutable' ? immutable.reload() : undefined));
  const immutability = immutabilityDeciders({ rules: immutable, tagsOf: (repository, digest) => ruleStore.tagsOf(repository, digest) });
  // Signatures: the pull point's gate, and hooks at the write points that keep its cache right.
  const trust = await composeTrust({ db, meta, blobs, events, origin: ruleStore.origin, tagsOf: (repository, digest) => ruleStore.tagsOf(repository, digest), log: log.child({ mod: 'trust' }) });
  const signature = trust.deciders;
  // The vulnerability gate: project settings and allowlists from a snapshot, decisions cached per digest.
  const allowlists = new AllowlistStore(db, ruleStore.origin, (fn) => meta.outsideTransactions(fn));
  const { scan } = options;
  const scanPolicy = new ScanPolicySnapshot(db, allowlists, { unscanned: scan ? config.scanGate.unscanned : 'allow' });
  if (!scan) log.info({ mod: 'scan.gate' }, 'no scanner runs: the vulnerability gate serves unscanned artifacts (a project\'s prevent_vul blocks only on reports)');
  const gate = new VulnerabilityGate({
    summaries: scan?.summaries ?? { get: async () => undefined },
    policy: scanPolicy,
    scanNow: scan?.scanNow,
    isScanner: isScannerCaller,
    notice: (n) => events.add({ type: 'vulnerability.gated', at: new Date().toISOString(), actor: SYSTEM_ACTOR, ...n }),
    scanFirstTimeoutMs: config.scanGate.scanFirstTimeoutSeconds * 1000,
    unscannedTtlMs: 10_000,
    // No event carries another replica's new report: a decision on a report is renewed after 30 s.
    reportTtlMs: 30_000,
    maxEntries: config.scanGate.cacheEntries,
    log: log.child({ mod: 'scan.gate' }),
  });
  scanPolicy.onReload(() => gate.policyChanged());
  allowlists.onChange(() => scanPolicy.reload());
  await scanPolicy.reload();
  const policies = new Policies(
    chainsWith(options.permissions, {
      blobCommit: [quota.blobCommit],
      manifestPut: [quota.manifestPut, signature.manifestPut],
      tagMove: [immutability.tagMove, signature.tagMove],
      delete: [immutability.delete, signature.delete],
      // Signatures first, then vulnerabilities (Harbor's order: content trust, then the scan).
      pull: [signature.pull, gate.decider],
    }),
  );
  const { locker } = options;
  // Calls for one upload are serialised in this process. Across replicas no lock is taken (it
  // would hold a database connection for a whole upload): a client sends one chunk at a time, and
  // when a retry races the request it replaces, the loser's state save fails its compare-and-set
  // on the offset, and drivers keep every byte a saved state counts in objects only that state
  // names (S3: parts checked by ETag at completion), so the race fails cleanly, never silently.
  const uploads = new UploadSessions({ blobs, meta, policies, serial: new KeyedQueue(), observe: options.observeUpload });
  const artifacts = new Artifacts({
    meta,
    blobs,
    policies,
    events,
    deleteEnabled: config.registry.deleteEnabled,
    listable: (caller, repository) => !caller.grant || options.listable(caller.grant.principal, repository),
  });

  // Logins cached here are dropped when the CLI or another replica changes a user.
  const sinks: EventSink[] = [
    new CacheInvalidationSink({
      usersChanged: (origins) => options.usersChanged?.(origins),
      accessChanged: (origins) => {
        options.accessChanged?.(origins);
        // Project metadata holds the gate's settings: any project change (ours too) rebuilds them.
        scanPolicy.reload().catch((err: unknown) => log.error({ err }, 'could not reload the vulnerability gate settings after a project change; the next change retries'));
      },
      allowlistChanged: (origins) => {
        if (origins.some((o) => o !== allowlists.origin)) scanPolicy.reload().catch((err: unknown) => log.error({ err }, 'could not reload the CVE allowlists after a change elsewhere; the next change retries'));
      },
      tagRulesChanged: (kind, origins) => {
        if (!origins.some((o) => o !== ruleStore.origin)) return;
        if (kind === 'retention') options.retentionChanged?.(origins);
        else immutable.reload().catch((err: unknown) => log.error({ err }, 'could not reload the immutability rules after a change elsewhere; the next change retries'));
      },
    }),
  ];
  sinks.push(trust.sink);
  // Pull counts and times for the management API, folded from the batched pull events.
  sinks.push(new PullStatsSink(db, (fn) => meta.outsideTransactions(fn)));
  if (config.events.log !== undefined) sinks.push(new EventLogSink(path.resolve(dataDir, config.events.log)));
  const audit = composeAudit(config, dataDir, meta, db, log.child({ mod: 'audit' }), locker);
  sinks.push(...audit.sinks);
  sinks.push(...(options.sinks ?? []));
  const dispatcher = new EventDispatcher(meta, sinks, log.child({ mod: 'events' }), {
    pollIntervalMs: 200,
    locker,
    retentionMs: config.events.retentionDays * 86_400_000,
  });
  const purger = new UploadPurger(blobs, meta, config.registry.uploadPurgeAgeSeconds * 1000, log.child({ mod: 'registry.purge' }));
  const sweepPause = Number(process.env.MINATO_GC_TEST_SWEEP_PAUSE_MS ?? 0);
  const gc = new GarbageCollector({
    meta,
    db,
    blobs,
    collectManifests: (manifests, before) => artifacts.collectManifests(manifests, before),
    purgeUploads: () => purger.purge(),
    log: log.child({ mod: 'gc' }),
    // Tests only (test/e2e/gc-crash.test.ts): slows the sweep so a kill lands in its middle.
    sweepPauseMs: Number.isFinite(sweepPause) && sweepPause > 0 ? sweepPause : undefined,
  });

  return {
    meta,
    db,
    blobs,
    uploads,
    artifacts,
    events,
    audit: audit.log,
    gc,
    tagRules: { store: ruleStore, immutable },
    trust,
    scanPolicy: { gate, allowlists, snapshot: scanPolicy, scan },
    async start() {
      await dispatcher.start();
      purger.start(config.registry.uploadPurgeIntervalSeconds * 1000, locker);
      audit.start();
    },
    async close() {
      purger.stop();
      await uploads.drain();
      await events.flush();
      await dispatcher.close();
      await audit.close();
      await Promise.all([meta.close(), blobs.close()]);
    },
  };
}

