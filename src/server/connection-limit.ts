// A bound on the connections one client address holds open at once, so that one host cannot
// take every socket (and file descriptor) with idle or dribbling connections. Counted on TCP
// connect, before any TLS handshake or parsing; a connection over the limit is closed at once.
import type net from 'node:net';

export interface ConnectionLimitOptions {
  /** Most connections one address may hold open; 0: no limit. */
  maxPerAddress: number;
  /** Addresses never limited (trusted proxies carry many clients on their connections). */
  exempt(address: string): boolean;
  /** Called when an address first goes over the limit (again after it dropped to none). */
  onLimited?(address: string, open: number): void;
}

/** Applies the limit to a server's connections. Costs two map updates per connection, nothing per request. */
export function limitConnectionsPerAddress(server: net.Server, opts: ConnectionLimitOptions): void {
  if (opts.maxPerAddress <= 0) return;
  const open = new Map<string, number>();
  const warned = new Set<string>();
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || opts.exempt(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= opts.maxPerAddress) {
      if (!warned.has(address)) {
        warned.add(address);
        opts.onLimited?.(address, count);
      }
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) {
        open.set(address, left);
      } else {
        open.delete(address);
        warned.delete(address);
      }
    });
  });
}
