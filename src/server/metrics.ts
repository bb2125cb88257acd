// Prometheus metrics of the HTTP server and the registry. One Registry per server instance
// (no prom-client globals), so two servers can run in one process.
import { statfsSync, type StatsFs } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CertificateProvider } from '../tls/certificate-provider.js';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'minato_http_requests_total',
    help: 'HTTP requests by method, API route and status code.',
    labelNames: ['method', 'route', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'minato_http_request_duration_seconds',
    help: 'HTTP request latency by method and API route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  // The labelled series of each (method, route, status), looked up once: prom-client would hash
  // the label values again on every request. Bounded: Node's parser accepts known methods only.
  private readonly perRequestKind = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<'method' | 'route'> }>();

  /** One finished HTTP request. */
  observeRequest(method: string, route: string, code: number, seconds: number): void {
    const key = `${method} ${route} ${code}`;
    let series = this.perRequestKind.get(key);
    if (!series) {
      series = { count: this.requests.labels(method, route, String(code)), latency: this.duration.labels(method, route) };
      this.perRequestKind.set(key, series);
    }
    series.count.inc();
    series.latency.observe(seconds);
  }

  readonly bytesIn = new Counter({
    name: 'minato_bytes_received_total',
    help: 'Blob bytes received from clients and stored.',
    registers: [this.registry],
  });
  readonly bytesOut = new Counter({
    name: 'minato_bytes_sent_total',
    help: 'Response body bytes sent (blobs, manifests, listings).',
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'minato_auth_failures_total',
    help: 'Refused credentials by reason: password (wrong user or password), token (invalid or expired bearer token), throttled (refused by the login throttle).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly jobRuns = new Counter({
    name: 'minato_job_runs_total',
    help: 'Finished background job runs (gc, retention, scrub, ...) by job and status (succeeded, failed, stopped).',
    labelNames: ['job', 'status'] as const,
    registers: [this.registry],
  });
  readonly jobLastRun = new Gauge({
    name: 'minato_job_last_run_timestamp_seconds',
    help: 'When a job last ended, by job and status: alert when succeeded is older than its schedule.',
    labelNames: ['job', 'status'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Gauge({
    name: 'minato_job_last_duration_seconds',
    help: 'How long the last run of a job took.',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });

  /** One finished job run (jobs/scheduler.ts). */
  observeJob(run: { job: string; status: string; startedAt: number; finishedAt?: number }): void {
    const end = run.finishedAt ?? Date.now();
    this.jobRuns.inc({ job: run.job, status: run.status });
    this.jobLastRun.set({ job: run.job, status: run.status }, end / 1000);
    this.jobDuration.set({ job: run.job }, (end - run.startedAt) / 1000);
  }

  readonly scrubLastFindings = new Gauge({
    name: 'minato_scrub_last_findings',
    help: 'Findings of the last finished scrub, by kind (corrupt-blob, missing-blob, broken-reference, corrupt-manifest, orphan-blob; after a repair: what remains unrepaired). Alert when above 0.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly scrubLastRun = new Gauge({
    name: 'minato_scrub_last_run_timestamp_seconds',
    help: 'When the last scrub that went through to the end finished: alert when older than its schedule.',
    registers: [this.registry],
  });
  readonly scrubBytesVerified = new Counter({
    name: 'minato_scrub_bytes_verified_total',
    help: 'Blob bytes the scrub read back and re-hashed.',
    registers: [this.registry],
  });

  /** One finished scrub: what remains of each kind of finding. */
  observeScrub(remaining: Record<string, number>, finishedAt: number): void {
    for (const [kind, n] of Object.entries(remaining)) this.scrubLastFindings.set({ kind }, n);
    this.scrubLastRun.set(finishedAt / 1000);
  }

  readonly gcReclaimedBytes = new Counter({
    name: 'minato_gc_reclaimed_bytes_total',
    help: 'Bytes of blobs garbage collection deleted from storage (dry runs count nothing).',
    registers: [this.registry],
  });
  readonly gcReclaimedObjects = new Counter({
    name: 'minato_gc_reclaimed_objects_total',
    help: 'What garbage collection removed, by kind: manifest (untagged), link (a blob link no manifest referenced), blob (bytes deleted from storage), upload (abandoned).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** What one garbage collection run removed (gc/gc-job.ts). */
  observeGc(result: { dryRun: boolean; manifests: number; links: number; blobs: number; bytes: number; uploads: number }): void {
    if (result.dryRun) return;
    this.gcReclaimedBytes.inc(result.bytes);
    for (const kind of ['manifest', 'link', 'blob', 'upload'] as const) {
      this.gcReclaimedObjects.inc({ kind }, { manifest: result.manifests, link: result.links, blob: result.blobs, upload: result.uploads }[kind]);
    }
  }

  readonly uploadsInFlight = new Gauge({
    name: 'minato_uploads_in_flight',
    help: 'Upload requests currently streaming a body.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'minato_' });
  }

  /** Space on the filesystem of the data directory, read at each scrape: alert before pushes get 507. */
  watchStorage(dataDir: string): void {
    const gauge = (name: string, help: string, bytes: (fs: StatsFs) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(bytes(statfsSync(dataDir)));
        },
      });
    gauge('minato_storage_free_bytes', 'Bytes available to minato on the filesystem of the data directory.', (fs) => fs.bavail * fs.bsize);
    gauge('minato_storage_size_bytes', 'Size of the filesystem of the data directory.', (fs) => fs.blocks * fs.bsize);
  }

  /** Certificate gauges, read from the provider at each scrape. */
  watchCertificates(provider: CertificateProvider): void {
    new Gauge({
      name: 'minato_certificate_expiry_seconds',
      help: 'Seconds until the served certificate expires (negative: expired; absent: none yet).',
      registers: [this.registry],
      collect() {
        const notAfter = provider.status().notAfter;
        if (notAfter) this.set((Date.parse(notAfter) - Date.now()) / 1000);
      },
    });
    new Gauge({
      name: 'minato_certificate_renewal_failures',
      help: 'Failed certificate orders or reloads since start.',
      registers: [this.registry],
      collect() {
        this.set(provider.status().renewalFailures ?? 0);
      },
    });
  }
}
