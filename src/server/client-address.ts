// Which address a request comes from, for the login throttle and the per-address connection
// limit: the socket's peer, or, when the peer is a trusted proxy (trustedProxies), the address
// that proxy saw, from X-Forwarded-For. Without that, every client behind a proxy would share
// the proxy's address, and one of them could get all of them throttled.
import type { IncomingMessage } from 'node:http';

export class ClientAddresses {
  private readonly trusted: Set<string>;

  constructor(trustedProxies: string[]) {
    this.trusted = new Set(trustedProxies.map(plainIp));
  }

  /** Whether a socket peer address is one of the trusted proxies. */
  isTrustedProxy(address: string | undefined): boolean {
    return address !== undefined && this.trusted.has(plainIp(address));
  }

  /**
   * The client's address. X-Forwarded-For is read from the right, where each trusted proxy
   * appended the peer it saw; the first address that is no trusted proxy is the client (the
   * entries left of it are whatever the client chose to send).
   */
  of(request: IncomingMessage): string {
    const peer = plainIp(request.socket.remoteAddress ?? '');
    if (!this.trusted.has(peer)) return peer;
    const header = request.headers['x-forwarded-for'];
    if (typeof header !== 'string') return peer;
    const hops = header.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainIp(hops[i]!.trim());
      if (hop !== '' && !this.trusted.has(hop)) return hop.slice(0, 64);
    }
    return peer;
  }
}

/** IPv4-mapped IPv6 ("::ffff:10.0.0.1") as plain IPv4, so both spellings count as one address. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
