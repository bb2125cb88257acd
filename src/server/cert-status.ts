// Certificate status for operators: a JSON file in the data dir that `minato cert status` reads
// (works while the server is down), and the management API that shows and renews.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { CertificateProvider, CertificateStatus } from '../tls/certificate-provider.js';
import type { ClientAddresses } from './client-address.js';

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
 * GET /api/v1/certificate: the status as JSON (an error status shows in `lastError`).
 * POST /api/v1/certificate/renew: renew now. Both need a signed-in user, asked as the scope
 * `registry:certificate:*`: a bearer token for repositories does not open them.
 */
export function registerCertificateApi(app: FastifyInstance, provider: CertificateProvider, auth: Authenticator, clients: ClientAddresses): void {
  /** Undefined when the request may go on; else the refusal, sent. */
  const refuse = async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await auth.decide(request.headers.authorization, CERTIFICATE_API, clients.of(request.raw));
    if (decision.ok) return undefined;
    if (decision.status === 429) return reply.code(429).header('Retry-After', decision.retryAfterSeconds).send({ error: decision.message });
    return reply.code(401).header('WWW-Authenticate', 'Basic realm="minato"').send({ error: 'authentication required' });
  };
  app.get('/api/v1/certificate', async (request, reply) => {
    if (await refuse(request, reply)) return reply;
    return provider.status();
  });
  app.post('/api/v1/certificate/renew', async (request, reply) => {
    if (await refuse(request, reply)) return reply;
    if (!provider.renew) return reply.code(409).send({ error: `certificates from ${provider.status().source} are not renewed by minato: replace the files` });
    void provider.renew();
    return reply.code(202).send({ renewing: true, status: provider.status() });
  });
}
