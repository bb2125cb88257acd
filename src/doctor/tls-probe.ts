// TLS handshakes for `minato doctor`, with nothing verified by default: the checks decide what
// is wrong from what the server sent. Node rebuilds the peer chain by issuer, which hides the
// order the server sent it in; a second handshake capped at TLS 1.2 (whose Certificate message
// is not encrypted) records the raw bytes and reads the certificates in the order they came.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface TlsEndpoint {
  address: string;
  port: number;
  /** SNI: the registry's DNS name (none for an IP address). */
  servername?: string;
}

export interface HandshakeResult {
  protocol: string;
  cipher: string;
  /** Leaf first, then issuers as Node linked them (may end in a root from `ca`). */
  peerChain: X509Certificate[];
  /** Chain verified against `ca` (the host name is not part of this). */
  authorized: boolean;
  /** OpenSSL's code when not authorized (UNABLE_TO_GET_ISSUER_CERT_LOCALLY, CERT_HAS_EXPIRED, ...). */
  authorizationError?: string;
  /** Raw bytes received before the handshake finished, when `record` was asked for. */
  received?: Buffer;
}

export class HandshakeError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A server's first flight (certificates included) is a few KiB; a hostile one may send more. */
const RECORD_LIMIT = 1024 * 1024;

/** A socket to `endpoint` whose incoming bytes are also kept, for tls.connect({ socket }). */
function recordingSocket(endpoint: TlsEndpoint, received: Buffer[]): Duplex {
  const raw = net.connect({ host: endpoint.address, port: endpoint.port });
  let recorded = 0;
  const duplex = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      raw.write(chunk, callback);
    },
    final(callback) {
      raw.end();
      callback();
    },
    destroy(err, callback) {
      raw.destroy();
      callback(err);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    if (recorded < RECORD_LIMIT) received.push(chunk);
    recorded += chunk.length;
    if (!duplex.push(chunk)) raw.pause();
  });
  raw.on('end', () => duplex.push(null));
  raw.on('error', (err) => duplex.destroy(err));
  return duplex;
}

/**
 * One handshake. `ca` replaces the trusted roots (empty: none, so nothing verifies); the host name
 * is never checked here (tls.name does that). Resolves once the handshake is done, the socket closed.
 */
export function handshake(endpoint: TlsEndpoint, opts: { ca?: string[]; maxVersion?: tls.SecureVersion; record?: boolean } = {}): Promise<HandshakeResult> {
  const received: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...(opts.record ? { socket: recordingSocket(endpoint, received) } : { host: endpoint.address, port: endpoint.port }),
      servername: endpoint.servername,
      ca: opts.ca ?? [],
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      maxVersion: opts.maxVersion,
      // TLS 1.0 and 1.1 are allowed only to be able to say that the server offers nothing better.
      minVersion: 'TLSv1',
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HandshakeError(`no TLS handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s`, 'ETIMEDOUT'));
    }, HANDSHAKE_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const result: HandshakeResult = {
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher().standardName,
        peerChain: peerChain(socket),
        authorized: socket.authorized,
        ...(socket.authorized ? {} : { authorizationError: String(socket.authorizationError) }),
        ...(opts.record ? { received: Buffer.concat(received) } : {}),
      };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new HandshakeError(err.message, err.code ?? 'ERR_TLS'));
    });
  });
}

function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let cert = socket.getPeerX509Certificate();
  while (cert && !chain.some((c) => c.fingerprint256 === cert!.fingerprint256)) {
    chain.push(cert);
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * The certificates of the server's Certificate message, in the order sent, from the raw bytes of
 * a TLS 1.2 handshake (records of type 22 before the first ChangeCipherSpec). Undefined when the
 * bytes hold none (TLS 1.3 encrypts it) or are malformed.
 */
export function certificatesSent(received: Buffer): X509Certificate[] | undefined {
  try {
    const parts: Buffer[] = [];
    for (let off = 0; off + 5 <= received.length; ) {
      const type = received[off]!;
      const length = received.readUInt16BE(off + 3);
      if (type !== 22) break; // 20 ChangeCipherSpec: the rest is encrypted; 21 an alert
      parts.push(received.subarray(off + 5, off + 5 + length));
      off += 5 + length;
    }
    const messages = Buffer.concat(parts);
    for (let p = 0; p + 4 <= messages.length; ) {
      const type = messages[p]!;
      const length = messages.readUIntBE(p + 1, 3);
      if (type === 11) {
        const body = messages.subarray(p + 4, p + 4 + length);
        const end = 3 + body.readUIntBE(0, 3);
        const certs: X509Certificate[] = [];
        for (let q = 3; q + 3 <= end; ) {
          const size = body.readUIntBE(q, 3);
          certs.push(new X509Certificate(body.subarray(q + 3, q + 3 + size)));
          q += 3 + size;
        }
        return certs.length > 0 ? certs : undefined;
      }
      p += 4 + length;
    }
  } catch {
    // A short or garbled record: fall back to the chain Node rebuilt.
  }
  return undefined;
}
