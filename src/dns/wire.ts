// The few pieces of the DNS wire format (RFC 1035 section 4) that dns-packet does not cover and
// RFC 2136 updates and TSIG (RFC 8945) need: class NONE (254), empty-RDATA "delete RRset" records,
// canonical (lowercase, uncompressed) names for MAC input, and byte offsets of records in an answer.
import { isIPv4, isIPv6 } from 'node:net';
import { DnsProtocolError } from './errors.js';

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, TSIG: 250, ANY: 255 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE_UPDATE = 5;

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
/** TSIG error field values, RFC 8945 section 3. */
export const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

export function rcodeName(code: number): string {
  return RCODES[code] ?? TSIG_ERRORS[code] ?? `RCODE_${code}`;
}

/** Encodes a domain name uncompressed; `canonical` lowercases it (RFC 4034 section 6.2, used for TSIG). */
export function encodeName(name: string, canonical = false): Buffer {
  const n = name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  if (n !== '') {
    for (const label of n.split('.')) {
      const bytes = Buffer.from(canonical ? label.toLowerCase() : label, 'utf8');
      if (bytes.length === 0 || bytes.length > 63) throw new DnsProtocolError('dns', `invalid DNS name ${JSON.stringify(name)}: labels must be 1 to 63 bytes`);
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new DnsProtocolError('dns', `DNS name too long: ${name}`);
  return out;
}

/** Decodes a (possibly compressed) name at `offset`; returns it without trailing dot and the bytes it took in place. */
export function decodeName(buf: Buffer, offset: number): { name: string; length: number } {
  const labels: string[] = [];
  let pos = offset;
  let length = -1;
  for (let hops = 0; hops < 128; hops++) {
    if (pos >= buf.length) throw new DnsProtocolError('dns', 'truncated name in DNS message');
    const len = buf[pos]!;
    if (len === 0) {
      if (length < 0) length = pos + 1 - offset;
      return { name: labels.join('.'), length };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsProtocolError('dns', 'truncated name pointer in DNS message');
      if (length < 0) length = pos + 2 - offset;
      pos = buf.readUInt16BE(pos) & 0x3fff;
      continue;
    }
    if (pos + 1 + len > buf.length) throw new DnsProtocolError('dns', 'truncated label in DNS message');
    labels.push(buf.toString('utf8', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new DnsProtocolError('dns', 'name compression loop in DNS message');
}

/** RDATA (without its length) of an A, AAAA or TXT record. TXT text longer than 255 bytes is split into strings. */
export function encodeRdata(type: 'A' | 'AAAA' | 'TXT', value: string): Buffer {
  if (type === 'A') {
    if (!isIPv4(value)) throw new DnsProtocolError('dns', `not an IPv4 address: ${JSON.stringify(value)}`);
    return Buffer.from(value.split('.').map(Number));
  }
  if (type === 'AAAA') {
    if (!isIPv6(value)) throw new DnsProtocolError('dns', `not an IPv6 address: ${JSON.stringify(value)}`);
    return ipv6Bytes(value);
  }
  const text = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < text.length || i === 0; i += 255) {
    const chunk = text.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

export function ipv6Bytes(addr: string): Buffer {
  let a = addr.replace(/%.*$/, '');
  const out = Buffer.alloc(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    a = a.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** One resource record in wire form. */
export function encodeRecord(name: string, type: number, cls: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(cls, 2);
  fixed.writeUInt32BE(ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(name), fixed, rdata]);
}

/** A message from a header and already-encoded sections (question/zone, answer/prereq, authority/update, additional). */
export function encodeMessage(id: number, flags: number, sections: [Buffer[], Buffer[], Buffer[], Buffer[]]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(flags, 2);
  sections.forEach((s, i) => header.writeUInt16BE(s.length, 4 + i * 2));
  return Buffer.concat([header, ...sections.flat()]);
}

export interface ScannedRecord {
  name: string;
  type: number;
  cls: number;
  ttl: number;
  /** Offset of the record's first byte (its owner name) in the message. */
  start: number;
  rdataStart: number;
  rdataLength: number;
}

export interface ScannedMessage {
  id: number;
  flags: number;
  rcode: number;
  truncated: boolean;
  isResponse: boolean;
  counts: [number, number, number, number];
  /** Records of the answer, authority and additional sections, in order. */
  records: ScannedRecord[][];
}

/** Walks a message and records where each record sits, so TSIG can be located and cut off. */
export function scanMessage(buf: Buffer): ScannedMessage {
  if (buf.length < 12) throw new DnsProtocolError('dns', `DNS message too short (${buf.length} bytes)`);
  const flags = buf.readUInt16BE(2);
  const counts: [number, number, number, number] = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let pos = 12;
  for (let i = 0; i < counts[0]; i++) pos += decodeName(buf, pos).length + 4;
  const records: ScannedRecord[][] = [[], [], []];
  for (let s = 1; s < 4; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const start = pos;
      const { name, length } = decodeName(buf, pos);
      pos += length;
      if (pos + 10 > buf.length) throw new DnsProtocolError('dns', 'truncated record in DNS message');
      const rdataLength = buf.readUInt16BE(pos + 8);
      records[s - 1]!.push({ name, type: buf.readUInt16BE(pos), cls: buf.readUInt16BE(pos + 2), ttl: buf.readUInt32BE(pos + 4), start, rdataStart: pos + 10, rdataLength });
      pos += 10 + rdataLength;
      if (pos > buf.length) throw new DnsProtocolError('dns', 'truncated RDATA in DNS message');
    }
  }
  return { id: buf.readUInt16BE(0), flags, rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, isResponse: (flags & 0x8000) !== 0, counts, records };
}
