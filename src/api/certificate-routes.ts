// minato's own resources under /api/v2.0: the served certificate's status and a renewal on demand
// (what `minato cert status|renew --url` use; /api/v1/certificate stays as an alias for older
// CLIs, server/cert-status.ts), and the trust bundles the private CA offers, with their URLs.
import { X509Certificate } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CertificateProvider } from '../tls/certificate-provider.js';
import type { ManualRenewal } from '../tls/manual-renewal.js';
import { TRUST_FORMATS } from '../tls/trust-exporters.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { model, timestamp } from './models.js';
import { defineRoute, respond, type ApiRoute } from './route.js';

export interface CertificateDeps {
  /** The served certificate's provider and its manual renewals (absent on plain HTTP). */
  certificates?: { provider: CertificateProvider; renewals: ManualRenewal };
  /** tls.mode "ca": the CA certificate (PEM). */
  caCertificatePem?: () => string;
  /** The origin clients reach the registry at, for the URLs of the trust bundles. */
  origin(request: FastifyRequest): string;
}

const CertificateStatus = model(
  'CertificateStatus',
  z.object({
    source: z.string().describe('Where the certificate comes from: files, acme or ca.'),
    names: z.array(z.string()).describe('The DNS names and IP addresses it covers.'),
    issuer: z.string().optional(),
    serial: z.string().optional(),
    keyType: z.string().optional().describe('The key: ECDSA P-256, RSA 2048, Ed25519.'),
    acme: z.object({ directory: z.string(), challenges: z.array(z.string()) }).optional().describe('ACME: the directory it orders from and the challenge types it may answer, in order.'),
    files: z.object({ cert: z.string(), key: z.string() }).optional().describe('Files: the certificate and key files served and watched.'),
    notBefore: timestamp.optional(),
    notAfter: timestamp.optional(),
    nextRenewal: timestamp.optional().describe('When it will be renewed, for certificates minato renews.'),
    lastError: z.object({ message: z.string(), at: timestamp }).optional().describe('The last failed renewal, kept until one succeeds.'),
    renewalFailures: z.number().int().optional().describe('Failed renewals since the start.'),
    ordering: z.boolean().optional().describe('ACME: an order is in flight.'),
  }),
);

const Renewal = model('CertificateRenewal', z.object({ renewing: z.literal(true), status: CertificateStatus }));

const TrustBundles = model(
  'TrustBundles',
  z.object({
    ca_certificate_url: z.string().describe('The CA certificate (PEM).'),
    sha256_fingerprint: z.string().describe('Compare it with `minato ca show` before trusting what you fetched over an untrusted connection.'),
    install_script_url: z.string().describe('A POSIX script that installs the CA for docker, containerd, podman/skopeo and the system store.'),
    formats: z.array(z.object({ format: z.string(), description: z.string(), url: z.string() })).describe('The CA in the form each client wants (GET each URL).'),
  }),
);

const NO_TLS = 'this registry serves plain HTTP: there is no certificate (set tls.mode to files, acme or ca)';

export function certificateRoutes(deps: CertificateDeps): ApiRoute[] {
  const tls = () => {
    if (!deps.certificates) throw new ApiError('NOT_FOUND', NO_TLS);
    return deps.certificates;
  };

  const status = defineRoute({
    method: 'GET',
    path: '/certificate',
    operationId: 'getCertificate',
    summary: 'The status of the served certificate',
    tag: 'certificate',
    access: access.signedIn(),
    responses: { 200: { description: 'Names, validity, next renewal and the last error.', schema: CertificateStatus } },
    errors: [404],
    handler: async () => respond(200, tls().provider.status()),
  });

  const renew = defineRoute({
    method: 'POST',
    path: '/certificate/renew',
    operationId: 'renewCertificate',
    summary: 'Renew the certificate now',
    description: 'Starts a renewal in the background (GET /certificate shows its outcome). At most one per tls.manualRenewalIntervalSeconds: a public CA limits how often a certificate may be issued.',
    tag: 'certificate',
    access: access.system('certificate', 'update'),
    responses: { 202: { description: 'The renewal started.', schema: Renewal } },
    errors: [404, 412],
    handler: async () => {
      const { provider, renewals } = tls();
      const result = renewals.request();
      if (result.started) return respond(202, { renewing: true as const, status: provider.status() });
      if (result.reason === 'throttled') throw new ApiError('TOO_MANY_REQUESTS', result.message, { 'Retry-After': String(result.retryAfterSeconds) });
      throw new ApiError('PRECONDITION', result.message);
    },
  });

  const trust = defineRoute({
    method: 'GET',
    path: '/ca/trust',
    operationId: 'getCaTrust',
    summary: "The private CA's trust bundles and where to get them",
    description: 'With tls.mode ca: the URLs of the CA certificate, of its installer and of the CA in the form each client wants; 404 otherwise.',
    tag: 'certificate',
    access: access.public(),
    responses: { 200: { description: 'The trust bundles.', schema: TrustBundles } },
    errors: [404],
    handler: async (_input, ctx) => {
      if (!deps.caCertificatePem) throw new ApiError('NOT_FOUND', 'this registry runs no CA of its own (tls.mode is not "ca")');
      const origin = deps.origin(ctx.request);
      const formats = Object.entries(TRUST_FORMATS)
        // A pull secret holds a password: the CLI makes it, never the server.
        .filter(([format]) => format !== 'k8s-pull-secret')
        .map(([format, description]) => ({ format, description, url: `${origin}/ca/trust/${format}` }));
      return respond(200, {
        ca_certificate_url: `${origin}/ca.crt`,
        sha256_fingerprint: new X509Certificate(deps.caCertificatePem()).fingerprint256,
        install_script_url: `${origin}/ca/install.sh`,
        formats,
      });
    },
  });

  return [status, renew, trust];
}
