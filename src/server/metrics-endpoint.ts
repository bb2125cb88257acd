// GET /metrics (Prometheus text format): on the registry's own port, or on a listener of its own
// (metrics.listen, e.g. 127.0.0.1:9090, so the registry's public port does not expose it), open
// to anyone who reaches it or behind a sign-in (metrics.auth).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { signedIn, type GuardOptions } from './api-guard.js';
import { parseListen } from './listen.js';
import type { Metrics } from './metrics.js';

/** metrics.auth: "none" anyone, "user" any signed-in user, "admin" one of auth.admins. */
export type MetricsAccess = 'none' | 'user' | 'admin';

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics, access: MetricsAccess, guard: GuardOptions): void {
  app.get('/metrics', access === 'none' ? {} : { onRequest: signedIn(guard, access) }, async (_request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** Serves only /metrics, over plain HTTP, on `listen` (HOST:PORT). */
export async function startMetricsListener(listen: string, metrics: Metrics, access: MetricsAccess, guard: GuardOptions, log: Logger): Promise<MetricsListener> {
  const { host, port } = parseListen(listen);
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  registerMetricsRoute(app, metrics, access, guard);
  try {
    await app.listen({ host, port, listenTextResolver: (address) => `metrics listening at ${address}/metrics` });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`metrics.listen ${listen} is already in use by another program; pick another address (MINATO_METRICS_LISTEN)`);
    throw new Error(`cannot listen on metrics.listen ${listen}: ${(err as Error).message}`);
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`, close: () => app.close() };
}
