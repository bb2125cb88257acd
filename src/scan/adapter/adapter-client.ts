// A client of a Harbor pluggable scanner adapter (goharbor/pluggable-scanner-spec v1.1/v1.2; the
// Trivy adapter is the usual one), as an ArtifactScanner: `GET /api/v1/metadata` (what it is and
// what it consumes), `POST /api/v1/scan` with the registry's URL and a credential that can pull
// only what it scans (issued per scan by ScanCredentials, released when the scan ends), then
// `GET /api/v1/scan/{id}/report` until the report is there: 302 while pending, polled after its
// `Refresh-After` seconds (the Trivy adapter sends none: then every pollMs), all within a total
// timeout. The Harbor vulnerability report is mapped to Finding[].
//
// Errors: an unreachable adapter, an error body (`{"error":{"message"}}`), a report that does not
// parse or a timeout throw an Error saying which adapter and what to do. Every request carries
// the registration's own authorization to the adapter (never the registry credential).
import type { Logger } from 'pino';
import { z } from 'zod';
import { SEVERITIES, type ArtifactScanner, type Finding, type ScanResult, type Severity } from '../inventory.js';
import { sleep } from '../../util/async.js';

export const MIME = {
  metadata: 'application/vnd.scanner.adapter.metadata+json; version=1.1',
  scanRequest: 'application/vnd.scanner.adapter.scan.request+json; version=1.1',
  harborReport: 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
  securityReport: 'application/vnd.security.vulnerability.report; version=1.1',
  error: 'application/vnd.scanner.adapter.error+json; version=1.0',
} as const;

/** A credential the adapter pulls the artifact with: pull-only, for that one repository, short-lived. */
export interface ScanCredential {
  /** The `registry.authorization` value: `Basic ...` or `Bearer ...`. */
  authorization: string;
  /** Ends it (a robot deleted, a token forgotten) once the scan is over; never throws. */
  release(): Promise<void>;
}

export interface ScanCredentials {
  issue(repository: string): Promise<ScanCredential>;
}

export interface AdapterRegistration {
  name: string;
  /** The adapter's base URL (`http://trivy-adapter:8080`); `/api/v1/...` is appended. */
  url: string;
  /** How minato authenticates to the adapter: Harbor's `auth` ("" none, Basic, Bearer, X-ScannerAdapter-API-Key). */
  auth?: '' | 'Basic' | 'Bearer' | 'X-ScannerAdapter-API-Key';
  /** The credential for that scheme (Basic: "user:password"). Secret: never logged. */
  accessCredential?: string;
}

export interface AdapterClientOptions {
  registration: AdapterRegistration;
  /** The registry's URL as the adapter reaches it (registry.url of the scan request). */
  registryUrl: string;
  credentials: ScanCredentials;
  /** Harbor's default: 30 minutes. */
  timeoutMs: number;
  /** Poll interval when a 302 has no Refresh-After (Harbor starts at 2 s). */
  pollMs: number;
  log: Logger;
}

const MetadataSchema = z.object({
  scanner: z.object({ name: z.string(), vendor: z.string(), version: z.string() }),
  capabilities: z.array(
    z.object({
      type: z.string().optional(),
      consumes_mime_types: z.array(z.string()),
      produces_mime_types: z.array(z.string()),
    }),
  ),
  properties: z.record(z.string(), z.string()).optional(),
});
export type AdapterMetadata = z.infer<typeof MetadataSchema>;

const ReportSchema = z.object({
  generated_at: z.string().optional(),
  scanner: z.object({ name: z.string(), vendor: z.string(), version: z.string() }).optional(),
  severity: z.string().optional(),
  vulnerabilities: z
    .array(
      z.object({
        id: z.string().min(1),
        package: z.string(),
        version: z.string(),
        fix_version: z.string().optional(),
        severity: z.string(),
        description: z.string().optional(),
        links: z.array(z.string()).nullish(),
        preferred_cvss: z.object({ score_v3: z.number().nullish(), vector_v3: z.string().nullish() }).nullish(),
        layer: z.object({ digest: z.string().optional() }).nullish(),
      }),
    )
    .nullish(),
});

const ErrorSchema = z.object({ error: z.object({ message: z.string() }) });

/** Harbor's severity names, whatever their case; anything else is Unknown. */
function severity(text: string): Severity {
  return SEVERITIES.find((s) => s.toLowerCase() === text.toLowerCase()) ?? 'Unknown';
}

/** The Harbor vulnerability report as findings (one per id and package). */
export function findingsOf(report: unknown, layerDigest: string): Finding[] {
  const parsed = ReportSchema.parse(report);
  return (parsed.vulnerabilities ?? []).map((v) => ({
    id: v.id,
    aliases: [],
    package: v.package,
    version: v.version,
    ...(v.fix_version ? { fixVersion: v.fix_version } : {}),
    severity: severity(v.severity),
    ...(v.description ? { description: v.description } : {}),
    links: v.links ?? [],
    layerDigest: v.layer?.digest ?? layerDigest,
    ...(v.preferred_cvss?.score_v3 != null ? { cvss: { scoreV3: v.preferred_cvss.score_v3, ...(v.preferred_cvss.vector_v3 ? { vectorV3: v.preferred_cvss.vector_v3 } : {}) } } : {}),
  }));
}

export class ScannerAdapterClient implements ArtifactScanner {
  info: { name: string; vendor: string; version: string };

  constructor(private readonly options: AdapterClientOptions) {
    this.info = { name: options.registration.name, vendor: 'unknown', version: 'unknown' };
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const { auth, accessCredential } = this.options.registration;
    const h: Record<string, string> = { ...extra };
    if (auth && accessCredential) {
      if (auth === 'X-ScannerAdapter-API-Key') h['X-ScannerAdapter-API-Key'] = accessCredential;
      else h.Authorization = `${auth} ${auth === 'Basic' ? Buffer.from(accessCredential).toString('base64') : accessCredential}`;
    }
    return h;
  }

  private url(path: string): string {
    return `${this.options.registration.url.replace(/\/+$/, '')}/api/v1${path}`;
  }

  private async call(path: string, init: { method?: string; headers: Record<string, string>; body?: string; signal: AbortSignal }): Promise<Response> {
    try {
      return await fetch(this.url(path), { method: init.method ?? 'GET', headers: this.headers(init.headers), body: init.body, redirect: 'manual', signal: init.signal });
    } catch (err) {
      if (init.signal.aborted) throw new Error(`scanner adapter ${this.options.registration.name} did not finish within ${this.options.timeoutMs / 1000} s: check its logs and load, or raise the scan timeout`);
      throw new Error(`scanner adapter ${this.options.registration.name} at ${this.options.registration.url} is unreachable (${(err as Error).message}): check the registration's URL and that the adapter runs`);
    }
  }

  /** The adapter's error body as a message, or the status. */
  private async failure(res: Response, what: string): Promise<Error> {
    const text = await res.text();
    let message = `HTTP ${res.status}`;
    try {
      message = ErrorSchema.parse(JSON.parse(text)).error.message;
    } catch {
      // Not the spec's error body: the status says enough.
    }
    return new Error(`scanner adapter ${this.options.registration.name} refused ${what}: ${message}`);
  }

  async metadata(signal = AbortSignal.timeout(30_000)): Promise<AdapterMetadata> {
    const res = await this.call('/metadata', { headers: { Accept: MIME.metadata }, signal });
    if (res.status !== 200) throw await this.failure(res, 'the metadata request');
    const metadata = MetadataSchema.parse(await res.json());
    this.info = metadata.scanner;
    return metadata;
  }

  async scan(target: { repository: string; digest: string; mediaType: string; tag?: string }, progress?: (fraction: number) => void): Promise<ScanResult> {
    const { timeoutMs, pollMs, registryUrl, credentials, log } = this.options;
    const signal = AbortSignal.timeout(timeoutMs);
    const credential = await credentials.issue(target.repository);
    try {
      const request = {
        registry: { url: registryUrl, authorization: credential.authorization },
        artifact: { repository: target.repository, digest: target.digest, mime_type: target.mediaType, ...(target.tag ? { tag: target.tag } : {}) },
        enabled_capabilities: [{ type: 'vulnerability', produces_mime_types: [MIME.harborReport] }],
      };
      const accepted = await this.call('/scan', { method: 'POST', headers: { 'Content-Type': MIME.scanRequest, Accept: 'application/vnd.scanner.adapter.scan.response+json; version=1.0' }, body: JSON.stringify(request), signal });
      if (accepted.status !== 202) throw await this.failure(accepted, `the scan of ${target.repository}@${target.digest}`);
      const { id } = z.object({ id: z.string().min(1) }).parse(await accepted.json());
      log.info({ adapter: this.options.registration.name, repository: target.repository, digest: target.digest, scanId: id }, 'scan accepted by the adapter');
      progress?.(0.1);
      for (;;) {
        const res = await this.call(`/scan/${encodeURIComponent(id)}/report`, { headers: { Accept: MIME.harborReport }, signal });
        if (res.status === 200) {
          progress?.(1);
          try {
            return { findings: findingsOf(await res.json(), target.digest) };
          } catch (err) {
            throw new Error(`scanner adapter ${this.options.registration.name} answered scan ${id} with something that is not a Harbor vulnerability report (${(err as Error).message.slice(0, 300)}): check that it implements the pluggable scanner API v1.1 or later`);
          }
        }
        if (res.status !== 302) throw await this.failure(res, `the report of scan ${id}`);
        await res.body?.cancel();
        const after = Number(res.headers.get('Refresh-After'));
        const waitMs = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 60_000) : pollMs;
        await sleep(waitMs, signal).catch(() => {
          throw new Error(`scanner adapter ${this.options.registration.name} did not finish scan ${id} of ${target.repository}@${target.digest} within ${timeoutMs / 1000} s: check its logs and load, or raise the scan timeout`);
        });
      }
    } finally {
      await credential.release();
    }
  }
}
