// Assembles the HTTP application from ready-made services. Never listens: listen.ts does, and
// tests may call buildApp() and inject() requests without a socket.
import Fastify, {
  LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import type { Admins } from '../auth/admins.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { RegistryDeps } from '../registry/context.js';
import { registryPlugin } from '../registry/plugin.js';
import { routeLabel } from '../registry/routes.js';
import { registerCaRoutes, type TrustedCa } from './ca-routes.js';
import { challengeDecider, type ChallengeMode } from './challenge.js';
import { lazyChildLogger } from './lazy-child-logger.js';
import type { ClientAddresses } from './client-address.js';
import type { ExternalUrl } from './external-url.js';
import type { Metrics } from './metrics.js';
import { registerMetricsRoute, type MetricsAccess } from './metrics-endpoint.js';
import type { ProxyWarning } from './proxy-warning.js';
import { registerTokenRoute } from './token-route.js';
import { registerCertificateApi } from './cert-status.js';
import { frameworkErrors, managementApi, type ManagementApiOptions } from '../api/plugin.js';
import { requestIds } from './request-id.js';
import type { CertificateProvider } from '../tls/certificate-provider.js';
import type { ManualRenewal } from '../tls/manual-renewal.js';
import type { UiFiles } from '../web/ui-files.js';
import { registerWebUi } from '../web/ui-routes.js';

export interface AppDeps {
  log: Logger;
  /** Who a request comes from (behind trusted proxies), for the login throttle. */
  clients: ClientAddresses;
  accessLog: boolean;
  registry: Omit<RegistryDeps, 'location' | 'clientAddress'>;
  auth: Authenticator;
  /** auth.admins: who may use the management API's changing operations. */
  admins: Admins;
  urls: ExternalUrl;
  /** Looks for a proxy that does not say it terminated TLS (absent when the origin is certain). */
  proxyWarning?: ProxyWarning;
  basicRealm: string;
  /** auth.challenge; Bearer needs the token service (`auth.tokenService`, absent when /token is off). */
  challenge: ChallengeMode;
  metrics?: Metrics;
  /** Serve /metrics on this app's port (absent: not here, e.g. it has a listener of its own). */
  metricsRoute?: { access: MetricsAccess };
  /** What must answer for this replica to take traffic (/readyz); each throws when it cannot. */
  readiness: Record<string, () => Promise<void>>;
  /** The served certificate's provider and its manual renewals, for the management API (absent on plain HTTP). */
  certificates?: { provider: CertificateProvider; renewals: ManualRenewal };
  /** tls.mode "ca": serve /ca.crt, /ca/install.sh and /ca/trust/<format> (public, no auth). */
  privateCa?: TrustedCa;
  /** The management API (/api/v2.0, /c/login); absent: not served. */
  api?: ManagementApiOptions;
  /** ui.enabled: serve the web UI at / (`files` undefined: not built, and / says how to build it). */
  ui?: { files: UiFiles | undefined };
  serverFactory?: FastifyServerFactory;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // One access-log line per request is written below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    exposeHeadRoutes: false,
    // Large blobs can take long; idle keep-alive sockets are closed on shutdown.
    requestTimeout: 0,
    connectionTimeout: 0,
    // A sane X-Request-Id from the client is kept (the access log and the API's responses carry it).
    genReqId: requestIds(),
    // Harbor's paths carry repository names (up to 255 characters, encoded twice) as one parameter.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
  });

  const { proxyWarning } = deps;
  if (proxyWarning) {
    app.addHook('onRequest', (request, _reply, done) => {
      proxyWarning.observe(request);
      done();
    });
  }

  const { metrics } = deps;
  // A callback hook: an async one would cost a promise per request for work that never waits.
  app.addHook('onResponse', (request, reply, done) => {
    const ms = reply.elapsedTime;
    if (metrics) {
      metrics.observeRequest(request.method, routeLabel(request.oci), reply.statusCode, ms / 1000);
      const length = Number(reply.getHeader('content-length'));
      if (request.method !== 'HEAD' && length > 0) metrics.bytesOut.inc(length);
    }
    if (deps.accessLog) {
      request.log.info(
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(ms * 10) / 10, user: request.principal?.user ?? undefined, remote: request.ip },
        'request',
      );
    }
    done();
  });

  // Liveness: the process answers (a load balancer or an orchestrator restarts it when not).
  app.get('/healthz', async (_request, reply) => {
    reply.header('Content-Type', 'application/json');
    return '{"status":"ok"}';
  });
  // Readiness: the database and the storage answer too (take this replica out of rotation when not).
  app.get('/readyz', async (request, reply) => {
    const checks = await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, (err as Error).message] as const;
        }
      }),
    );
    const failed = checks.filter(([, result]) => result !== 'ok');
    if (failed.length > 0) request.log.warn({ failed: Object.fromEntries(failed) }, 'not ready: a backing service does not answer');
    reply.code(failed.length > 0 ? 503 : 200).header('Content-Type', 'application/json');
    return JSON.stringify({ status: failed.length > 0 ? 'unavailable' : 'ok', checks: Object.fromEntries(checks) });
  });
  if (deps.privateCa) registerCaRoutes(app, deps.privateCa, deps.urls);
  const guard = { auth: deps.auth, admins: deps.admins, basicRealm: deps.basicRealm, clients: deps.clients };
  if (metrics && deps.metricsRoute) registerMetricsRoute(app, metrics, deps.metricsRoute.access, guard);
  if (deps.certificates) registerCertificateApi(app, deps.certificates.provider, deps.certificates.renewals, guard);

  if (deps.api) await app.register(managementApi, deps.api);
  if (deps.ui) registerWebUi(app, deps.ui.files);

  const tokens = deps.auth.tokenService;
  if (tokens) registerTokenRoute(app, deps.auth, tokens, deps.basicRealm, deps.clients);

  await app.register(registryPlugin, {
    deps: {
      ...deps.registry,
      location: (request, path) => deps.urls.location(request, path),
      clientAddress: (request) => deps.clients.of(request.raw),
    },
    challenge: challengeDecider({ mode: deps.challenge, urls: deps.urls, basicRealm: deps.basicRealm, tokenService: tokens?.service }),
  });
  return app;
}
