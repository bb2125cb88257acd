// Public endpoints of the private CA (tls.mode "ca"): only the CA certificate is exposed, so
// no authentication. A client that does not trust the registry yet fetches them with curl -k
// and compares the fingerprint `minato ca show` prints, or over plain HTTP from a trusted path.
//   GET /ca.crt                 the CA certificate (PEM, application/x-x509-ca-cert)
//   GET /ca/install.sh          POSIX installer for docker, containerd, podman/skopeo, system store
//   GET /ca/trust/<format>      one client's form (see trust-exporters.ts), as a script or document
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { encodePkcs12 } from '../tls/pkcs12.js';
import { checkHost, exportTrust, installScript, isTrustFormat, toShellScript, TrustExportError } from '../tls/trust-exporters.js';
import type { ExternalUrl } from './external-url.js';

export interface TrustedCa {
  /** The CA certificate clients must trust (PEM). */
  caCertificatePem(): string;
}

export function registerCaRoutes(app: FastifyInstance, ca: TrustedCa, urls: ExternalUrl): void {
  // The host clients use for this registry: externalUrl, a trusted proxy's X-Forwarded-Host,
  // else the Host header of this very request (which is how the client reached us).
  const hostOf = (request: FastifyRequest): string | undefined => {
    try {
      return checkHost(new URL(urls.absolute(request, '/')).host);
    } catch {
      return undefined;
    }
  };

  app.get('/ca.crt', async (_request, reply) => {
    reply.header('Content-Type', 'application/x-x509-ca-cert');
    reply.header('Content-Disposition', 'attachment; filename="minato-ca.crt"');
    return ca.caCertificatePem();
  });

  app.get('/ca/install.sh', async (request, reply) => {
    const host = hostOf(request);
    if (!host) return reply.code(400).type('text/plain').send('the Host header is not a registry host[:port]\n');
    reply.header('Content-Type', 'text/x-shellscript; charset=utf-8');
    return installScript(ca.caCertificatePem(), host);
  });

  app.get<{ Params: { format: string } }>('/ca/trust/:format', async (request, reply) => {
    const { format } = request.params;
    const host = hostOf(request);
    if (!host) return reply.code(400).type('text/plain').send('the Host header is not a registry host[:port]\n');
    if (!isTrustFormat(format) || format === 'k8s-pull-secret') {
      return reply.code(404).type('text/plain').send(`unknown format "${format}"; see "minato trust --help" (pull secrets are made by the CLI only: they hold a password)\n`);
    }
    try {
      const caPem = ca.caCertificatePem();
      const exp = exportTrust(format, { caPem, host, pkcs12: format === 'p12' ? await encodePkcs12(caPem) : undefined });
      if (exp.document) {
        const binary = Buffer.isBuffer(exp.document.content);
        reply.header('Content-Type', binary ? 'application/x-pkcs12' : format === 'pem' ? 'application/x-pem-file' : 'application/yaml');
        reply.header('Content-Disposition', `attachment; filename="${exp.document.path}"`);
        return exp.document.content;
      }
      reply.header('Content-Type', 'text/x-shellscript; charset=utf-8');
      return toShellScript(exp);
    } catch (err) {
      if (err instanceof TrustExportError) return reply.code(400).type('text/plain').send(`${err.message}\n`);
      throw err;
    }
  });
}
