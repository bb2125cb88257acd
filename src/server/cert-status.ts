// Certificate status for operators: a JSON file in the data dir that `minato cert status` reads
// (works while the server is down), and the management API that shows and renews.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { CertificateProvider, CertificateStatus } from '../tls/certificate-provider.js';
import type { ManualRenewal } from '../tls/manual-renewal.js';
import { signedIn, type GuardOptions } from './api-guard.js';

/** What the credentials must grant: a bearer token for repositories does not open this API. */
const CERTIFICATE_API = { type: 'registry', name: 'certificate', action: '*' } as const;

export function statusFile(dataDir: string): string {
  return path.join(dataDir, 'certificates', 'status.json');
}

/** Keeps <data>/certificates/status.json current: at start, on every new certificate and attempt. */
export function writeStatusOnChange(provider: CertificateProvider, dataDir: string): void {
  const file = statusFile(dataDir);
  const write = async () => {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify({ ...provider.status(), updatedAt: new Date().toISOString() }, null, 2));
    await rename(tmp, file);
  };
  const safeWrite = () => void write().catch(() => undefined);
  safeWrite();
  provider.onChange(safeWrite);
  provider.onStatus?.(safeWrite);
}

export async function readStatusFile(dataDir: string): Promise<(CertificateStatus & { updatedAt?: string }) | undefined> {
  try {
    return JSON.parse(await readFile(statusFile(dataDir), 'utf8')) as CertificateStatus;
  } catch {
    return undefined;
  }
}

/**
 * The first certificate API, kept for older `minato cert` CLIs (new ones use /api/v2.0/certificate,
 * api/certificate-routes.ts, which shares the provider and the renewal throttle).
 * GET /api/v1/certificate: the status as JSON (an error status shows in `lastError`); any
 * signed-in user. POST /api/v1/certificate/renew: renew now; administrators only (auth.admins),
 * at most once per tls.manualRenewalIntervalSeconds (429 with Retry-After otherwise). Both are
 * asked as the scope `registry:certificate:*`, so a bearer token for repositories opens neither.
 */
export function registerCertificateApi(app: FastifyInstance, provider: CertificateProvider, renewals: ManualRenewal, guard: GuardOptions): void {
  app.get('/api/v1/certificate', { onRequest: signedIn(guard, 'user', CERTIFICATE_API) }, async () => provider.status());
  app.post('/api/v1/certificate/renew', { onRequest: signedIn(guard, 'admin', CERTIFICATE_API) }, async (_request, reply) => {
    const result = renewals.request();
    if (result.started) return reply.code(202).send({ renewing: true, status: provider.status() });
    if (result.reason === 'throttled') {
      return reply.code(429).header('Retry-After', String(result.retryAfterSeconds)).send({ error: result.message, retryAfterSeconds: result.retryAfterSeconds });
    }
    return reply.code(409).send({ error: result.message });
  });
}
