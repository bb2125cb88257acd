// How the registry names itself in Location headers and the token realm. Precedence:
// 1. `externalUrl` from the config; 2. X-Forwarded-Proto/-Host from a trusted proxy;
// 3. otherwise Locations stay relative ("/v2/..."), which every client resolves against the URL
//    it used, so a proxy that forgets the forwarded headers cannot send clients to the wrong
//    scheme or port (the classic "unknown blob" behind TLS termination).
import type { FastifyRequest } from 'fastify';
import type { ClientAddresses } from './client-address.js';

export class ExternalUrl {
  private readonly fixed: string | undefined;

  constructor(
    externalUrl: string | undefined,
    private readonly proxies: Pick<ClientAddresses, 'isTrustedProxy'>,
    readonly listenerScheme: 'http' | 'https',
  ) {
    this.fixed = externalUrl?.replace(/\/+$/, '');
  }

  /** Whether `externalUrl` is set: the origin never depends on the request. */
  get isFixed(): boolean {
    return this.fixed !== undefined;
  }

  /** Whether the request comes from an address in `trustedProxies`. */
  fromTrustedProxy(request: FastifyRequest): boolean {
    return this.proxies.isTrustedProxy(request.raw.socket.remoteAddress);
  }

  /** Absolute origin when it is known for sure, else undefined. */
  origin(request: FastifyRequest): string | undefined {
    if (this.fixed) return this.fixed;
    if (!this.fromTrustedProxy(request)) return undefined;
    const proto = forwardedProto(request);
    const host = first(request.headers['x-forwarded-host']);
    if (!proto && !host) return undefined;
    return `${proto ?? this.listenerScheme}://${host ?? request.headers.host ?? 'localhost'}`;
  }

  /**
   * Whether minato knows for sure the scheme clients used: it is fixed by `externalUrl`, minato
   * terminates TLS itself, or a trusted proxy said so in X-Forwarded-Proto. Without that, a plain
   * HTTP listener cannot tell a direct client from a TLS-terminating proxy that forgot the header.
   */
  knowsOrigin(request: FastifyRequest): boolean {
    if (this.fixed || this.listenerScheme === 'https') return true;
    return forwardedProto(request) !== undefined && this.fromTrustedProxy(request);
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

/** X-Forwarded-Proto when it is http or https (anything else says nothing). */
function forwardedProto(request: FastifyRequest): 'http' | 'https' | undefined {
  const proto = first(request.headers['x-forwarded-proto'])?.toLowerCase();
  return proto === 'https' || proto === 'http' ? proto : undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}
