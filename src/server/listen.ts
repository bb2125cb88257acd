// Binds the listener: plain HTTP, or HTTPS serving whatever a CertificateProvider hands over.
// A new certificate is swapped in place: new handshakes get it, open connections keep theirs,
// nothing restarts. TLS-ALPN-01 challenges are answered on the same port. Every listener gets
// the same connection limits (header, keep-alive and idle timeouts, connections per address)
// and handles pipelined requests in order.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { FastifyServerFactory } from 'fastify';
import type { Config } from '../config/schema.js';
import type { CertificateProvider, ServingCertificate } from '../tls/certificate-provider.js';
import { limitConnectionsPerAddress } from './connection-limit.js';
import { StallWatch } from './stall-watch.js';

export const TLS_MIN_VERSION = 'TLSv1.2';
const ACME_TLS_ALPN = 'acme-tls/1';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`listen address "${listen}" is not HOST:PORT (e.g. 127.0.0.1:5000 or [::1]:5000)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * Plain HTTP on an address other machines reach sends every password and token in clear. Fine
 * behind a TLS-terminating proxy (externalUrl https, or a trusted proxy on another host); otherwise
 * worth a warning that says what to do.
 */
export function plainHttpWarning(config: Pick<Config, 'listen' | 'externalUrl' | 'trustedProxies' | 'tls'>): string | undefined {
  if (config.tls.mode !== 'off') return undefined;
  const loopback = (address: string) => /^(127\.|::1$|localhost$)/i.test(address);
  if (loopback(parseListen(config.listen).host)) return undefined;
  if (config.externalUrl?.startsWith('https:') || config.trustedProxies.some((p) => !loopback(p))) return undefined;
  return `serving plain HTTP on ${config.listen}: passwords and tokens cross the network in clear. Serve HTTPS (tls.mode files, acme or ca), or put a TLS-terminating proxy in front and set externalUrl to its https:// address`;
}

export interface ListenerOptions {
  /** OpenSSL cipher list for TLS 1.2 (tls.ciphers); TLS 1.3 suites are all AEAD and stay on. */
  ciphers: string;
  /** Timeouts and the per-address limit (the `connections` settings), in milliseconds. */
  connections: ConnectionSettings;
  /** Addresses exempt from the per-address limit (trusted proxies). */
  isTrustedProxy(address: string): boolean;
  /** Told when an address goes over the per-address limit (for the log). */
  onLimited?(address: string, open: number): void;
}

export interface ConnectionSettings {
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  maxPerAddress: number;
}

/**
 * A server factory for Fastify. Without a provider: plain HTTP. With one: HTTPS that starts with
 * the provider's certificate (or a self-signed placeholder while it has none) and swaps on change.
 */
export async function createServerFactory(provider: CertificateProvider | undefined, listener: ListenerOptions): Promise<FastifyServerFactory> {
  if (!provider) return (handler) => bounded((watched) => http.createServer(serverOptions(listener.connections), inOrder(handler, watched)), listener);

  // Every context gets the same versions and ciphers: OpenSSL keeps the cipher list of the
  // context a handshake started with, even when SNICallback hands over another one.
  const contextOptions = (cert: { certPem: string; keyPem: string }): tls.SecureContextOptions => ({
    cert: cert.certPem,
    key: cert.keyPem,
    minVersion: TLS_MIN_VERSION,
    ciphers: listener.ciphers,
  });
  const initial: Pick<ServingCertificate, 'certPem' | 'keyPem'> = provider.current() ?? (await (await import('../tls/placeholder.js')).placeholderCertificate());
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext(contextOptions(initial));
  } catch (err) {
    if (!/cipher/i.test((err as Error).message)) throw err;
    throw new Error(`tls.ciphers "${listener.ciphers}" selects no cipher this OpenSSL knows (${(err as Error).message}); see "openssl ciphers -v '<list>'"`);
  }
  // A TLS handshake happens before any HTTP parsing: it gets the headers' time limit too.
  const options: https.ServerOptions = { ...contextOptions(initial), ...serverOptions(listener.connections), handshakeTimeout: listener.connections.headersTimeoutMs };
  const alpn = provider.alpnChallengeContext?.bind(provider);
  if (alpn) {
    // Node calls ALPNCallback before SNICallback, both on the TLSSocket: remember whether this
    // client asked for acme-tls/1, then present the challenge certificate for it (RFC 8737).
    options.ALPNCallback = function (this: tls.TLSSocket & { acmeTlsAlpn?: boolean }, { protocols }) {
      this.acmeTlsAlpn = protocols.includes(ACME_TLS_ALPN);
      if (protocols.includes('http/1.1')) return 'http/1.1';
      return this.acmeTlsAlpn ? ACME_TLS_ALPN : undefined;
    };
    options.SNICallback = function (this: tls.TLSSocket & { acmeTlsAlpn?: boolean }, servername, cb) {
      const challenge = this.acmeTlsAlpn ? alpn(servername) : undefined;
      cb(null, challenge ?? context);
    };
  }
  return (handler) => {
    const server = bounded((watched) => https.createServer(options, inOrder(handler, watched)), listener);
    provider.onChange((cert) => {
      context = tls.createSecureContext(contextOptions(cert));
      server.setSecureContext(contextOptions(cert));
    });
    return server;
  };
}

type RequestListener = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/**
 * Pipelined requests are handled one at a time, in order. Node parses every request a client
 * wrote at once and calls the handler for each straight away (it only orders the responses), so
 * a GET could overtake the PUT before it and a DELETE be lost (RFC 9112, section 9.3.2: only
 * safe requests may be processed in parallel). Node hands a response its socket only once the
 * responses before it on that connection have finished; until then `response.socket` is null,
 * and the request waits for the 'socket' event. One property read on an ordinary request.
 */
function inOrder(handler: RequestListener, watch: StallWatch | undefined): RequestListener {
  const run: RequestListener = watch
    ? (request, response) => {
        watch.serving(response);
        handler(request, response);
      }
    : handler;
  return (request, response) => {
    if (response.socket !== null) run(request, response);
    else response.once('socket', () => run(request, response));
  };
}

/**
 * Node checks the header and request deadlines of open connections on a timer (30 s apart by
 * default, which would let a 15 s limit run to 45 s): check a few times per header timeout.
 */
function serverOptions(c: ConnectionSettings): http.ServerOptions {
  return { connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(c.headersTimeoutMs / 4))) };
}

/**
 * The limits every listener gets. `headersTimeout`: from a connection's first byte, or a
 * request's, to the end of its headers (a slowloris client gets 408 and is closed); it does not
 * run while a kept-alive connection waits for its next request, which `keepAliveTimeout` bounds
 * (long, since clients reuse connections between a push's many requests; Node's 5 s is short).
 * `requestTimeout` stays off: a large blob may take hours. The idle timeout: a connection with
 * no bytes in either direction that long during a request is closed (a body or a reader that
 * stalls), by a StallWatch that `create` wires into the request listener.
 */
function bounded<S extends http.Server>(create: (watch: StallWatch | undefined) => S, listener: ListenerOptions): S {
  const c = listener.connections;
  const watch = c.idleTimeoutMs > 0 ? new StallWatch(c.idleTimeoutMs) : undefined;
  const server = create(watch);
  if (watch) server.once('close', () => watch.stop());
  server.headersTimeout = c.headersTimeoutMs;
  server.keepAliveTimeout = c.keepAliveTimeoutMs;
  server.requestTimeout = 0;
  server.timeout = 0; // the idle timeout is the StallWatch's (stall-watch.ts says why)
  limitConnectionsPerAddress(server, { maxPerAddress: c.maxPerAddress, exempt: listener.isTrustedProxy, onLimited: listener.onLimited });
  return server;
}
