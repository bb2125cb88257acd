// Plain (non-recursive by default) questions to one specific server, host:port included, using
// dns-packet for the wire format. Used for SOA walks, propagation checks and CNAME lookups.
import { randomInt } from 'node:crypto';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { exchange, type ExchangeOptions, type ServerAddress } from './transport.js';
import { rcodeName } from './wire.js';

export interface QueryOptions extends ExchangeOptions {
  /** Set RD (ask a resolver to recurse). Off: we ask authoritative servers. */
  recursive?: boolean;
}

export async function queryServer(server: ServerAddress, name: string, type: RecordType, opts: QueryOptions = {}): Promise<DecodedPacket> {
  const id = randomInt(0, 0x10000);
  const message = dnsPacket.encode({
    type: 'query',
    id,
    flags: opts.recursive ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name: name.replace(/\.$/, ''), class: 'IN' }],
  });
  const answer = await exchange(server, message, { ...opts, what: opts.what ?? `${type} query for ${name}` });
  return dnsPacket.decode(answer);
}

/** The text of each TXT record in an answer: its strings concatenated (RFC 7208 3.3 style). */
export function txtValues(packet: DecodedPacket, name: string): string[] {
  const want = name.replace(/\.$/, '').toLowerCase();
  const out: string[] = [];
  for (const a of packet.answers ?? []) {
    if (a.type !== 'TXT' || a.name.toLowerCase() !== want) continue;
    const data = Array.isArray(a.data) ? a.data : [a.data];
    out.push(data.map((d) => (Buffer.isBuffer(d) ? d.toString('utf8') : d)).join(''));
  }
  return out;
}

/** The RCODE name of a decoded answer (dns-packet's typings omit its `rcode` field). */
export function rcodeOf(packet: DecodedPacket): string {
  return rcodeName((packet.flags ?? 0) & 0xf);
}
