// RFC 2136 dynamic updates signed with TSIG (RFC 8945): what BIND, Knot, PowerDNS and Windows DNS
// accept from nsupdate. One UPDATE message per zone; SERVFAIL is retried (BIND can answer it
// right after start), everything else is reported with the server's own code.
import { randomInt } from 'node:crypto';
import type { DnsProvider, DnsRecord } from './dns-provider.js';
import { sleep } from '../util/async.js';
import { groupBy, normalizeName } from './records.js';
import { DnsProtocolError, DnsUpdateRefusedError, DnsZoneNotFoundError } from './errors.js';
import { queryServer, rcodeOf } from './query.js';
import { exchange, formatHostPort, parseHostPort, type ServerAddress } from './transport.js';
import { decodeTsigSecret, parseTsigAlgorithm, signMessage, verifyResponse, type TsigKey } from './tsig.js';
import { CLASS, OPCODE_UPDATE, TYPE, encodeMessage, encodeName, encodeRdata, encodeRecord, rcodeName, scanMessage } from './wire.js';

export interface Rfc2136Options {
  /** host:port of the primary server that accepts updates. */
  server: string;
  keyName: string;
  /** hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1. */
  algorithm?: string;
  /** Base64 secret, as in the `secret "...";` line of a tsig-keygen key file. */
  secret: string;
  /** The zone to update. Unset: found by SOA queries at `server`, walking up the labels. */
  zone?: string;
  /** Per-attempt wait for an answer (UDP is sent up to 3 times). */
  timeoutMs?: number;
  /** Delays before each retry of an update answered with SERVFAIL. */
  servfailRetryDelaysMs?: number[];
}

export class Rfc2136Provider implements DnsProvider {
  readonly kind = 'rfc2136';
  private readonly server: ServerAddress;
  private readonly key: TsigKey;
  private readonly zone?: string;
  private readonly timeoutMs: number;
  private readonly retryDelays: number[];
  /** name -> zone, found once per name; zones do not move while we run. */
  private readonly zoneCache = new Map<string, string>();

  constructor(opts: Rfc2136Options) {
    this.server = parseHostPort(opts.server);
    this.key = { name: opts.keyName.replace(/\.$/, ''), algorithm: parseTsigAlgorithm(opts.algorithm ?? 'hmac-sha256'), secret: decodeTsigSecret(opts.secret) };
    this.zone = opts.zone ? normalizeName(opts.zone) : undefined;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.retryDelays = opts.servfailRetryDelaysMs ?? [500, 1000, 2000, 4000];
  }

  async appendRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    await this.perZone(records, signal, (rs) => rs.map((r) => encodeRecord(r.name, TYPE[r.type], CLASS.IN, r.ttl, encodeRdata(r.type, r.value))));
  }

  async deleteRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    // Class NONE, TTL 0: delete this RR from the RRset (RFC 2136 2.5.4). Absent RRs are ignored by the server.
    await this.perZone(records, signal, (rs) => rs.map((r) => encodeRecord(r.name, TYPE[r.type], CLASS.NONE, 0, encodeRdata(r.type, r.value))));
  }

  async setRecords(name: string, type: 'A' | 'AAAA', values: string[], ttl: number, signal?: AbortSignal): Promise<void> {
    const zone = await this.zoneFor(name, signal);
    // Class ANY, TTL 0, no RDATA: delete the RRset (RFC 2136 2.5.2); then add each value. One message, so atomic.
    const updates = [encodeRecord(name, TYPE[type], CLASS.ANY, 0, Buffer.alloc(0)), ...values.map((v) => encodeRecord(name, TYPE[type], CLASS.IN, ttl, encodeRdata(type, v)))];
    await this.sendUpdate(zone, updates, [name], signal);
  }

  private async perZone(records: DnsRecord[], signal: AbortSignal | undefined, build: (rs: DnsRecord[]) => Buffer[]): Promise<void> {
    const zones = new Map<string, DnsRecord[]>();
    for (const r of records) {
      const zone = await this.zoneFor(r.name, signal);
      zones.set(zone, [...(zones.get(zone) ?? []), r]);
    }
    for (const [zone, rs] of zones) await this.sendUpdate(zone, build(rs), [...groupBy(rs, (r) => normalizeName(r.name)).keys()], signal);
  }

  /** The zone holding `name`: the configured one, or the owner of the SOA the server gives for it. */
  async zoneFor(name: string, signal?: AbortSignal): Promise<string> {
    const n = normalizeName(name);
    if (this.zone) {
      if (n !== this.zone && !n.endsWith(`.${this.zone}`)) throw new DnsZoneNotFoundError('rfc2136', name, `(the configured zone is ${this.zone})`);
      return this.zone;
    }
    const cached = this.zoneCache.get(n);
    if (cached) return cached;
    const labels = n.split('.');
    for (let i = 0; i < labels.length; i++) {
      const candidate = labels.slice(i).join('.');
      const answer = await queryServer(this.server, candidate, 'SOA', { signal, timeoutMs: this.timeoutMs, provider: 'rfc2136' });
      // An authoritative server answers SOA of the apex directly, and for names below it puts the
      // zone's SOA in the authority section (NXDOMAIN / NODATA). REFUSED: not its zone, go up.
      const soa = [...(answer.answers ?? []), ...(answer.authorities ?? [])].find((a) => a.type === 'SOA');
      const rcode = rcodeOf(answer);
      if (soa && (rcode === 'NOERROR' || rcode === 'NXDOMAIN')) {
        const zone = soa.name.toLowerCase();
        if (n === zone || n.endsWith(`.${zone}`)) {
          this.zoneCache.set(n, zone);
          return zone;
        }
      }
    }
    throw new DnsZoneNotFoundError('rfc2136', name, `by SOA queries at ${formatHostPort(this.server)}`);
  }

  private async sendUpdate(zone: string, updates: Buffer[], names: string[], signal?: AbortSignal): Promise<void> {
    const question = Buffer.concat([encodeName(zone), Buffer.from([0, TYPE.SOA, 0, CLASS.IN])]);
    for (let attempt = 0; ; attempt++) {
      const id = randomInt(0, 0x10000);
      const unsigned = encodeMessage(id, OPCODE_UPDATE << 11, [[question], [], updates, []]);
      // Signed per attempt: TSIG time must be fresh, and each message needs its own MAC.
      const { message, mac } = signMessage(unsigned, this.key);
      const answer = await exchange(this.server, message, { signal, timeoutMs: this.timeoutMs, provider: 'rfc2136', what: `the update of zone ${zone}` });
      const scanned = scanMessage(answer);
      if (scanned.id !== id || !scanned.isResponse) throw new DnsProtocolError('rfc2136', `unexpected answer from ${formatHostPort(this.server)} (wrong ID or not a response)`);
      const tsig = verifyResponse(answer, this.key, mac);
      const detail = { server: formatHostPort(this.server), zone, keyName: this.key.name, names };
      if (tsig?.error) throw new DnsUpdateRefusedError(tsig.errorName!, detail);
      const rcode = rcodeName(scanned.rcode);
      if (rcode === 'NOERROR') {
        // A success we cannot authenticate could be forged (RFC 8945 5.3): insist on a verified MAC.
        if (!tsig?.verified) throw new DnsProtocolError('rfc2136', `the server at ${detail.server} answered the update without a valid TSIG signature`);
        return;
      }
      if (rcode === 'SERVFAIL' && attempt < this.retryDelays.length) {
        await sleep(this.retryDelays[attempt]!, signal);
        continue;
      }
      throw new DnsUpdateRefusedError(rcode, detail);
    }
  }
}
