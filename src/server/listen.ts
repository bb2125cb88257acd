// Binds the listener: plain HTTP, or HTTPS whose certificate is swapped in place when the files
// change (setSecureContext: new handshakes get the new certificate, open connections keep theirs).
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import { loadCertificateFiles, type LoadedCertificate } from '../tls/cert-files.js';

export const TLS_MIN_VERSION = 'TLSv1.2';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`listen address "${listen}" is not HOST:PORT (e.g. 127.0.0.1:5000 or [::1]:5000)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export interface TlsFiles {
  cert: string;
  key: string;
  reloadCheckSeconds: number;
}

export function describeCertificate(c: LoadedCertificate): Record<string, unknown> {
  return {
    subject: c.leaf.subject.replace(/\n/g, ', '),
    names: c.leaf.subjectAltName,
    issuer: c.leaf.issuer.replace(/\n/g, ', '),
    notAfter: c.leaf.validTo,
    chainLength: c.chain.length,
  };
}

/**
 * A server factory for Fastify. With TLS, the certificate is loaded now (a broken one stops
 * start-up with a clear message) and re-checked every `reloadCheckSeconds`.
 */
export async function createServerFactory(
  tlsFiles: TlsFiles | undefined,
  log: Logger,
): Promise<{ factory: FastifyServerFactory; stop(): void }> {
  if (!tlsFiles) return { factory: (handler) => keepAlive(http.createServer(handler)), stop() {} };

  const tlsLog = log.child({ mod: 'tls.files' });
  const first = await loadCertificateFiles(tlsFiles.cert, tlsFiles.key);
  for (const w of first.warnings) tlsLog.warn(w);
  tlsLog.info(describeCertificate(first), 'serving certificate');
  let server: https.Server | undefined;
  const factory: FastifyServerFactory = (handler) => {
    server = keepAlive(https.createServer({ cert: first.certPem, key: first.keyPem, minVersion: TLS_MIN_VERSION }, handler));
    return server;
  };

  let lastSeen = await fingerprint(tlsFiles);
  let checking = false;
  const timer = setInterval(async () => {
    if (checking || !server) return;
    checking = true;
    try {
      const now = await fingerprint(tlsFiles);
      if (now === lastSeen) return;
      lastSeen = now;
      const next = await loadCertificateFiles(tlsFiles.cert, tlsFiles.key);
      for (const w of next.warnings) tlsLog.warn(w);
      server.setSecureContext({ cert: next.certPem, key: next.keyPem, minVersion: TLS_MIN_VERSION });
      tlsLog.info(describeCertificate(next), 'certificate files changed; new connections get the new certificate');
    } catch (err) {
      // E.g. the cert was replaced before the key: the next change of either file retries.
      tlsLog.error({ err: (err as Error).message }, 'certificate files changed but cannot be used; still serving the previous certificate');
    } finally {
      checking = false;
    }
  }, Math.max(1, tlsFiles.reloadCheckSeconds) * 1000);
  timer.unref();
  return { factory, stop: () => clearInterval(timer) };
}

/** Clients reuse connections between a push's many requests; Node's default 5 s is short. */
function keepAlive<S extends http.Server>(server: S): S {
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  server.requestTimeout = 0; // large blobs may take long
  return server;
}

async function fingerprint(files: TlsFiles): Promise<string> {
  const parts = await Promise.all(
    [files.cert, files.key].map(async (f) => {
      const s = await stat(f).catch(() => undefined);
      return s ? `${s.mtimeMs}:${s.size}:${s.ino}` : 'missing';
    }),
  );
  return parts.join('|');
}
