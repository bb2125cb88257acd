// One warning per server when requests look like they come through a TLS-terminating proxy that
// does not say so: no X-Forwarded-Proto (or one from an address outside trustedProxies) and no
// externalUrl. minato then cannot know that clients use https, so it challenges with Basic and
// keeps upload Locations relative: pushes and pulls work, but the operator should learn why the
// token flow is not offered and which proxy line fixes it. After that one line it costs nothing.
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ExternalUrl } from './external-url.js';

/** Headers that only proxies add (RFC 7230 Via, RFC 7239 Forwarded, the de facto X- ones): [as Node keys them, as shown]. */
const PROXY_HEADERS = [['via', 'Via'], ['forwarded', 'Forwarded'], ['x-forwarded-for', 'X-Forwarded-For'], ['x-forwarded-host', 'X-Forwarded-Host'], ['x-real-ip', 'X-Real-IP']] as const;

const CONSEQUENCE = 'minato cannot know whether clients use https, so it challenges them with Basic instead of the token flow and keeps upload Locations relative (pushes and pulls still work)';
const FIX =
  'To offer the token flow, have the proxy say that it terminated TLS. nginx: "proxy_set_header X-Forwarded-Proto $scheme;" (with "proxy_set_header Host $http_host;"); ' +
  'HAProxy: "http-request set-header X-Forwarded-Proto https if { ssl_fc }"; or set externalUrl (MINATO_EXTERNAL_URL) to the URL clients use';

export interface ProxyWarningFinding {
  message: string;
  /** What was seen, for the log line's fields. */
  seen: string[];
  remote?: string;
}

export class ProxyWarning {
  private warned = false;
  /** The last Host header seen and its port: clients send the same one request after request. */
  private lastHost: string | undefined;
  private lastHostPort: number | undefined;

  private constructor(
    private readonly urls: ExternalUrl,
    private readonly trustedProxies: string[],
    private readonly log: Logger,
  ) {}

  /** The detector, or undefined when the origin cannot be in doubt (externalUrl set, or minato serves TLS itself). */
  static create(urls: ExternalUrl, trustedProxies: string[], log: Logger): ProxyWarning | undefined {
    return urls.isFixed || urls.listenerScheme === 'https' ? undefined : new ProxyWarning(urls, trustedProxies, log);
  }

  /** Runs on every request: a flag check once the warning is out, a few header lookups until then. */
  observe(request: FastifyRequest): void {
    if (this.warned) return;
    const finding = this.check(request);
    if (!finding) return;
    this.warned = true;
    this.log.warn({ seen: finding.seen, remote: finding.remote }, finding.message);
  }

  /** What this request shows, if anything worth the warning. */
  check(request: FastifyRequest): ProxyWarningFinding | undefined {
    const { headers } = request;
    if (headers['x-forwarded-proto'] !== undefined) {
      if (this.urls.fromTrustedProxy(request)) return undefined;
      const remote = request.raw.socket.remoteAddress ?? 'an unknown address';
      return {
        seen: ['X-Forwarded-Proto from an untrusted address'],
        remote,
        message:
          `a request from ${remote} sent X-Forwarded-Proto, but ${remote} is not in trustedProxies (${this.trustedProxies.join(', ') || 'empty'}), so the header is ignored: ${CONSEQUENCE}. ` +
          `If ${remote} is your proxy, add it to trustedProxies (MINATO_TRUSTED_PROXIES), or set externalUrl. (Logged once.)`,
      };
    }
    if (headers.host !== this.lastHost) {
      this.lastHost = headers.host;
      this.lastHostPort = portOf(headers.host, this.urls.listenerScheme);
    }
    const hostPort = this.lastHostPort;
    const localPort = request.raw.socket.localPort;
    const portDiffers = hostPort !== undefined && localPort !== undefined && hostPort !== localPort;
    // The usual request (a direct client) stops here, without allocating.
    if (!portDiffers && !PROXY_HEADERS.some(([key]) => headers[key] !== undefined)) return undefined;
    const seen: string[] = [];
    if (portDiffers) seen.push(`the Host port ${hostPort} differs from the port minato listens on (${localPort})`);
    for (const [key, name] of PROXY_HEADERS) if (headers[key] !== undefined) seen.push(`${name} present`);
    return {
      seen,
      message: `requests arrive through a proxy (${seen.join(', ')}) that sends no X-Forwarded-Proto, and externalUrl is not set: ${CONSEQUENCE}. ${FIX}. (Logged once.)`,
    };
  }
}

/** The port of a Host header ("h:8443", "[::1]:5000"), or the scheme's default when it has none. */
function portOf(host: string | undefined, scheme: 'http' | 'https'): number | undefined {
  if (!host) return undefined;
  const m = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(host);
  return m ? Number(m[1]) : scheme === 'https' ? 443 : 80;
}
