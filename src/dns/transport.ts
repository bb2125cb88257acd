// Sending one DNS message to one server and reading its answer: UDP first (retransmitted on
// silence), TCP when the answer is truncated or the message is too big for a plain UDP datagram.
import dgram from 'node:dgram';
import net from 'node:net';
import { DnsConfigError, DnsProtocolError, DnsTimeoutError } from './errors.js';

export interface ServerAddress {
  host: string;
  port: number;
}

/** `1.2.3.4`, `1.2.3.4:53`, `[::1]:53`, `::1`, `ns1.example.com:5353` -> host and port. */
export function parseHostPort(value: string, defaultPort = 53): ServerAddress {
  const v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  let host: string;
  let port: string | undefined;
  if (bracketed) [, host, port] = bracketed as unknown as [string, string, string | undefined];
  else if (net.isIPv6(v)) host = v;
  else {
    const m = /^([^:]+)(?::(\d+))?$/.exec(v);
    if (!m) throw new DnsConfigError('dns', `invalid DNS server address "${value}": use HOST, HOST:PORT or [IPv6]:PORT`);
    [, host, port] = m as unknown as [string, string, string | undefined];
  }
  const p = port === undefined ? defaultPort : Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new DnsConfigError('dns', `invalid port in DNS server address "${value}"`);
  return { host, port: p };
}

export function formatHostPort(a: ServerAddress): string {
  return net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface ExchangeOptions {
  signal?: AbortSignal;
  /** Per-attempt wait for an answer. */
  timeoutMs?: number;
  /** UDP sends before giving up. */
  attempts?: number;
  tcp?: boolean;
  /** Who is asking, for error messages ('rfc2136', 'propagation'). */
  provider?: string;
  /** What is being sent, for error messages. */
  what?: string;
}

/** Sends `message` (its ID must be set) and resolves with the raw answer carrying the same ID. */
export async function exchange(server: ServerAddress, message: Buffer, opts: ExchangeOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const attempts = opts.attempts ?? 3;
  const provider = opts.provider ?? 'dns';
  const what = opts.what ?? 'a query';
  if (opts.tcp || message.length > 512) return exchangeTcp(server, message, timeoutMs * attempts, opts.signal, provider, what);
  const answer = await exchangeUdp(server, message, timeoutMs, attempts, opts.signal);
  if (!answer) throw new DnsTimeoutError(provider, formatHostPort(server), timeoutMs * attempts, what);
  // TC bit: the answer did not fit; ask again over TCP (RFC 1035 4.2.1, RFC 7766).
  if (answer.length >= 4 && (answer.readUInt16BE(2) & 0x0200) !== 0) return exchangeTcp(server, message, timeoutMs * attempts, opts.signal, provider, what);
  return answer;
}

function exchangeUdp(server: ServerAddress, message: Buffer, timeoutMs: number, attempts: number, signal?: AbortSignal): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = message.readUInt16BE(0);
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown, value?: Buffer): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = (): void => finish(signal!.reason);
    const send = (): void => {
      if (sent >= attempts) {
        finish(undefined, undefined);
        return;
      }
      sent++;
      socket.send(message, server.port, server.host, (err) => {
        if (err) finish(err);
      });
      timer = setTimeout(send, timeoutMs);
    };
    socket.on('message', (msg) => {
      // Ignore stray datagrams: the ID and the QR bit must match what we sent.
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg.readUInt16BE(2) & 0x8000) !== 0) finish(undefined, msg);
    });
    socket.on('error', (err) => finish(err));
    signal?.addEventListener('abort', onAbort, { once: true });
    send();
  });
}

function exchangeTcp(server: ServerAddress, message: Buffer, timeoutMs: number, signal: AbortSignal | undefined, provider: string, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const socket = net.connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const finish = (err: unknown, value?: Buffer): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const onAbort = (): void => finish(signal!.reason);
    const timer = setTimeout(() => finish(new DnsTimeoutError(provider, formatHostPort(server), timeoutMs, `${what} (TCP)`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(message.length, 0);
      socket.write(Buffer.concat([len, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.on('error', (err) => finish(err));
    socket.on('end', () => finish(new DnsProtocolError(provider, `DNS server ${formatHostPort(server)} closed the TCP connection before answering ${what}`)));
  });
}
