// A Harbor pluggable scanner adapter for tests, answering as goharbor/pluggable-scanner-spec
// v1.1 and aquasecurity/harbor-scanner-trivy (pkg/http/api/v1/handler.go) do: `GET /api/v1/metadata`
// with Trivy's metadata shape; `POST /api/v1/scan` 202 `{id}` (400 for a body that is not JSON,
// 422 for a missing registry.url, artifact.repository or artifact.digest, every error as
// `{"error":{"message"}}`); `GET /api/v1/scan/{id}/report` 302 with Location (and Refresh-After,
// which the spec documents and the Trivy adapter omits: `refreshAfter` undefined) while pending,
// 404 for an unknown id, 415 for an Accept it cannot produce, 500 with the error when the scan
// failed, 200 with the Harbor vulnerability report when done.
//
// It really pulls: a scan fetches the manifest from registry.url with registry.authorization, so
// a wrong or too narrow credential fails the scan as it would with Trivy. Listens on 127.0.0.1 on
// a port the kernel picks; close() stops it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface FakeVulnerability {
  id: string;
  package: string;
  version: string;
  fix_version?: string;
  severity: 'Unknown' | 'Negligible' | 'Low' | 'Medium' | 'High' | 'Critical';
  description?: string;
  links?: string[];
  preferred_cvss?: { score_v3?: number; vector_v3?: string };
}

export interface FakeAdapterOptions {
  /** The vulnerabilities reported per artifact digest (none: a clean report). */
  vulnerabilities?: Record<string, FakeVulnerability[]>;
  /** How many report requests answer 302 before the report is there. */
  pendingPolls?: number;
  /** Refresh-After seconds on a 302 (undefined: none, as the Trivy adapter). */
  refreshAfter?: number;
  /** Never finish (for timeouts). */
  hang?: boolean;
  /** Required X-ScannerAdapter-API-Key from the registry (undefined: none). */
  apiKey?: string;
}

interface Job {
  status: 'pending' | 'failed' | 'finished';
  polls: number;
  error?: string;
  report?: unknown;
  request: ScanRequest;
}

interface ScanRequest {
  registry?: { url?: string; authorization?: string };
  artifact?: { repository?: string; digest?: string; tag?: string; mime_type?: string };
}

export interface FakeScannerAdapter {
  url: string;
  /** Every scan request received, with the status of the manifest pull it made. */
  scans: Array<{ request: ScanRequest; pullStatus?: number }>;
  close(): Promise<void>;
}

const ERROR_TYPE = 'application/vnd.scanner.adapter.error+json; version=1.0';
const REPORT_TYPES = ['application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0', 'application/vnd.security.vulnerability.report; version=1.1'];

export async function startFakeScannerAdapter(options: FakeAdapterOptions = {}): Promise<FakeScannerAdapter> {
  const jobs = new Map<string, Job>();
  const scans: FakeScannerAdapter['scans'] = [];

  const send = (res: http.ServerResponse, status: number, type: string, body: unknown) => {
    res.writeHead(status, { 'Content-Type': type });
    res.end(JSON.stringify(body));
  };
  const error = (res: http.ServerResponse, status: number, message: string) => send(res, status, ERROR_TYPE, { error: { message } });

  const runScan = async (id: string, request: ScanRequest, record: { pullStatus?: number }) => {
    const job = jobs.get(id)!;
    const { url, authorization } = request.registry!;
    const { repository, digest, mime_type } = request.artifact!;
    try {
      const res = await fetch(`${url!.replace(/\/+$/, '')}/v2/${repository}/manifests/${digest}`, {
        headers: { ...(authorization ? { Authorization: authorization } : {}), Accept: mime_type ?? 'application/vnd.oci.image.manifest.v1+json' },
      });
      record.pullStatus = res.status;
      await res.arrayBuffer();
      if (res.status !== 200) {
        job.status = 'failed';
        job.error = `running trivy wrapper: pulling ${repository}@${digest}: unexpected status code ${res.status}`;
        return;
      }
    } catch (err) {
      job.status = 'failed';
      job.error = `running trivy wrapper: ${(err as Error).message}`;
      return;
    }
    const vulnerabilities = options.vulnerabilities?.[digest!] ?? [];
    const order = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'];
    const top = vulnerabilities.reduce((m, v) => Math.max(m, order.indexOf(v.severity)), -1);
    job.report = {
      generated_at: new Date().toISOString(),
      artifact: request.artifact,
      scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.50.1' },
      severity: top < 0 ? 'Unknown' : order[top],
      vulnerabilities: vulnerabilities.map((v) => ({ links: [], ...v })),
    };
    if (!options.hang) job.status = 'finished';
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (options.apiKey !== undefined && req.headers['x-scanneradapter-api-key'] !== options.apiKey) return error(res, 401, 'unauthorized');
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method === 'GET' && path === '/api/v1/metadata') {
        return send(res, 200, 'application/vnd.scanner.adapter.metadata+json; version=1.0', {
          scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.50.1' },
          capabilities: [
            {
              type: 'vulnerability',
              consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'],
              produces_mime_types: ['application/vnd.security.vulnerability.report; version=1.1'],
            },
          ],
          properties: { 'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability', 'harbor.scanner-adapter/vulnerability-database-updated-at': new Date().toISOString() },
        });
      }
      if (req.method === 'POST' && path === '/api/v1/scan') {
        let request: ScanRequest;
        try {
          request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ScanRequest;
        } catch (err) {
          return error(res, 400, `unmarshalling scan request: ${(err as Error).message}`);
        }
        if (!request.registry?.url) return error(res, 422, 'missing registry.url');
        if (!request.artifact?.repository) return error(res, 422, 'missing artifact.repository');
        if (!request.artifact?.digest) return error(res, 422, 'missing artifact.digest');
        const id = randomUUID();
        const record: { request: ScanRequest; pullStatus?: number } = { request };
        scans.push(record);
        jobs.set(id, { status: 'pending', polls: 0, request });
        void runScan(id, request, record);
        return send(res, 202, 'application/vnd.scanner.adapter.scan.response+json; version=1.0', { id });
      }
      const m = /^\/api\/v1\/scan\/([^/]+)\/report$/.exec(path);
      if (req.method === 'GET' && m) {
        const accept = req.headers.accept ?? '';
        const type = REPORT_TYPES.find((t) => accept.replace(/\s/g, '') === t.replace(/\s/g, ''));
        if (!type) return error(res, 415, `unsupported media type ${accept}`);
        const job = jobs.get(decodeURIComponent(m[1]!));
        if (!job) return error(res, 404, `cannot find scan job: ${m[1]}`);
        job.polls++;
        if (job.status === 'pending' || job.polls <= (options.pendingPolls ?? 0)) {
          res.writeHead(302, { Location: req.url ?? path, ...(options.refreshAfter !== undefined ? { 'Refresh-After': String(options.refreshAfter) } : {}) });
          return res.end();
        }
        if (job.status === 'failed') return error(res, 500, job.error ?? 'scan failed');
        return send(res, 200, type, job.report);
      }
      return error(res, 404, `no route for ${req.method} ${path}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    scans,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
