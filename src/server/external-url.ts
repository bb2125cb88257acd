// How the registry names itself in Location headers and the token realm. Precedence:
// 1. `externalUrl` from the config; 2. X-Forwarded-Proto/-Host from a trusted proxy;
// 3. otherwise Locations stay relative ("/v2/..."), which every client resolves against the URL
//    it used, so a proxy that forgets the forwarded headers cannot send clients to the wrong
//    scheme or port (the classic "unknown blob" behind TLS termination).
import type { FastifyRequest } from 'fastify';

export class ExternalUrl {
  private readonly trusted: Set<string>;
  private readonly fixed: string | undefined;

  constructor(
    externalUrl: string | undefined,
    trustedProxies: string[],
    private readonly listenerScheme: 'http' | 'https',
  ) {
    this.fixed = externalUrl?.replace(/\/+$/, '');
    this.trusted = new Set(trustedProxies.map(normalizeIp));
  }

  /** Absolute origin when it is known for sure, else undefined. */
  origin(request: FastifyRequest): string | undefined {
    if (this.fixed) return this.fixed;
    const remote = request.raw.socket.remoteAddress;
    if (!remote || !this.trusted.has(normalizeIp(remote))) return undefined;
    const proto = first(request.headers['x-forwarded-proto']);
    const host = first(request.headers['x-forwarded-host']);
    if (!proto && !host) return undefined;
    const scheme = proto === 'https' || proto === 'http' ? proto : this.listenerScheme;
    return `${scheme}://${host ?? request.headers.host ?? 'localhost'}`;
  }

  location(request: FastifyRequest, path: string): string {
    const origin = this.origin(request);
    return origin ? origin + path : path;
  }

  /** Absolute URL for a path even when not proxied (the token realm must be absolute). */
  absolute(request: FastifyRequest, path: string): string {
    return (this.origin(request) ?? `${this.listenerScheme}://${request.headers.host ?? 'localhost'}`) + path;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
