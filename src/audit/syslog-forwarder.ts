// audit.forward.syslog: every audit record as one RFC 5424 message to a syslog server, as Harbor
// forwards its audit log (APP-NAME "audit"). Over TCP, framed by octet counting (RFC 6587 §3.4.1),
// on one connection kept open and made again when it breaks; over UDP one datagram per record
// (RFC 5426: fire and forget, a lost datagram is lost).
//
// The message: facility 13 (log audit), severity info (notice for a failed operation), the time
// of the operation, MSGID Harbor's event type (create_artifact, login_user, ...), every field as
// structured data [audit@32473 ...] (32473: the enterprise number RFC 5612 reserves for
// documentation; minato has none of its own), and the record as JSON in MSG (ASCII, so no BOM).
//
// Nothing is lost to a server that is down: the sink's cursor does not move until a batch was
// written, and a failure is retried with the dispatcher's backoff (which is the reconnect
// backoff). Plain TCP syslog has no acknowledgement, so what the kernel accepted just before a
// connection broke may never have arrived: records written in the last RESEND_WINDOW_MS before
// a lost connection are sent again on the next one (at least once; each carries its event id).
import { lookup } from 'node:dns/promises';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import { recordJson, eventTypeOf, type AuditRecord } from './audit-record.js';
import type { AuditTarget } from './audit-target.js';

export interface SyslogDestination {
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

const FACILITY_LOG_AUDIT = 13;
const SEVERITY_INFO = 6;
const SEVERITY_NOTICE = 5;
const SD_ID = 'audit@32473';
/** Longer field values are cut in messages (a datagram stays far below 64 KiB; servers cut at 8 KiB by default). */
const MAX_VALUE = 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const WRITE_TIMEOUT_MS = 30_000;
const RESEND_WINDOW_MS = 30_000;

/** Who sends: HOSTNAME and PROCID of the messages. */
export interface SyslogOrigin {
  hostname: string;
  procid: string;
}

export function localOrigin(): SyslogOrigin {
  return { hostname: os.hostname(), procid: String(process.pid) };
}

/** One record as an RFC 5424 message (without transport framing). */
export function syslogMessage(record: AuditRecord, origin: SyslogOrigin): string {
  const pri = FACILITY_LOG_AUDIT * 8 + (record.success ? SEVERITY_INFO : SEVERITY_NOTICE);
  const json = recordJson(record);
  const params = Object.entries(json)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}="${sdValue(String(v))}"`)
    .join(' ');
  const message = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, typeof v === 'string' ? cut(v) : v]));
  const header = `<${pri}>1 ${json.op_time} ${headerField(origin.hostname, 255)} audit ${headerField(origin.procid, 128)} ${headerField(eventTypeOf(record), 32)}`;
  return `${header} [${SD_ID} ${params}] ${asciiJson(message)}`;
}

/** RFC 6587 §3.4.1: "MSG-LEN SP SYSLOG-MSG", the length in octets. */
export function octetCounted(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `), bytes]);
}

export class AuditSyslogForwarder implements AuditTarget {
  readonly name = 'syslog';
  private socket: Socket | undefined;
  private udp: UdpSocket | undefined;
  /** TCP: what was written on the current connection lately (see the header). */
  private recent: Array<{ at: number; data: Buffer }> = [];
  /** TCP: what to send again first, written shortly before a connection was lost. */
  private unsent: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly destination: SyslogDestination,
    private readonly origin: SyslogOrigin = localOrigin(),
  ) {}

  async write(records: readonly AuditRecord[], signal: AbortSignal): Promise<void> {
    const messages = records.map((r) => syslogMessage(r, this.origin));
    if (this.destination.protocol === 'udp') {
      const udp = await this.udpSocket();
      for (const m of messages) await new Promise<void>((resolve, reject) => udp.send(m, (err) => (err ? reject(err) : resolve())));
      return;
    }
    const socket = await this.connection(signal);
    const data = Buffer.concat([...this.unsent, ...messages.map(octetCounted)]);
    await this.send(socket, data, signal);
    this.unsent = [];
    const now = Date.now();
    this.recent = this.recent.filter((w) => now - w.at < RESEND_WINDOW_MS);
    this.recent.push({ at: now, data });
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.destroy(), 2000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.end();
      });
    }
    this.udp?.close();
    this.udp = undefined;
  }

  private async connection(signal: AbortSignal): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return this.socket;
    const { host, port } = this.destination;
    const socket = connect({ host, port });
    socket.setKeepAlive(true, 30_000);
    socket.on('data', () => undefined); // a syslog server sends nothing; drain whatever comes
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`syslog server ${host}:${port} did not accept a TCP connection within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      const onAbort = () => fail(new Error('shutting down'));
      const onError = (err: Error) => fail(new Error(`cannot connect to the syslog server ${host}:${port}: ${err.message}`));
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
      };
      socket.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        cleanup();
        resolve();
      });
    });
    socket.on('error', () => undefined); // reported by the write that meets it; 'close' follows
    socket.once('close', () => {
      if (this.socket === socket) this.socket = undefined;
      if (this.closed) return;
      const now = Date.now();
      this.unsent = [...this.recent.filter((w) => now - w.at < RESEND_WINDOW_MS).map((w) => w.data), ...this.unsent];
      this.recent = [];
    });
    this.socket = socket;
    return socket;
  }

  /** Resolves once the kernel took the bytes; a peer that stops reading for WRITE_TIMEOUT_MS breaks the connection. */
  private send(socket: Socket, data: Buffer, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { host, port } = this.destination;
      const fail = (err: Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`syslog server ${host}:${port} took no data for ${WRITE_TIMEOUT_MS / 1000} s`)), WRITE_TIMEOUT_MS);
      const onAbort = () => fail(new Error('shutting down'));
      signal.addEventListener('abort', onAbort, { once: true });
      socket.write(data, (err) => {
        if (err) return fail(new Error(`could not send to the syslog server ${host}:${port}: ${err.message}`));
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private async udpSocket(): Promise<UdpSocket> {
    if (this.udp) return this.udp;
    const { host, port } = this.destination;
    const { address, family } = await lookup(host);
    const udp = createSocket(family === 6 ? 'udp6' : 'udp4');
    udp.on('error', () => undefined); // a connected UDP socket reports ICMP errors to the next send
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.connect(port, address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.udp = udp;
    return udp;
  }
}

/** PARAM-VALUE: `"`, `\` and `]` escaped (RFC 5424 §6.3.3); control characters become spaces (the JSON keeps them exactly). */
function sdValue(value: string): string {
  return cut(value)
    .replace(/[\\"\]]/g, (c) => `\\${c}`)
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** HOSTNAME, PROCID, MSGID: printable US-ASCII, bounded, "-" when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

function cut(value: string): string {
  return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value;
}

/** JSON with every non-ASCII character escaped: MSG is then plain ASCII, valid whatever the server assumes. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
