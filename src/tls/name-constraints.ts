// The X.509 name constraints extension (RFC 5280 §4.2.1.10) for the private CA: a root that may
// only vouch for the registry's own names cannot be abused for anything else once clients trust
// it. @peculiar/x509 has no class for it, so the (small) DER is written here.
import { isIP } from 'node:net';
import * as x509 from './x509.js';

export const NAME_CONSTRAINTS_OID = '2.5.29.30';

/** A permitted subtree: a DNS name (it and its subdomains) or an IP range. */
export type PermittedName = { type: 'dns'; value: string } | { type: 'ip'; address: Buffer; mask: Buffer };

export class NameConstraintError extends Error {}

/**
 * Parses "example.internal", ".lan", "10.0.0.0/8", "192.168.1.10", "fd00::/8". A DNS entry permits
 * the name and every name below it; an IP without a prefix length permits that address only.
 */
export function parsePermittedName(text: string): PermittedName {
  const s = text.trim();
  const [addr, prefix] = s.split('/') as [string, string | undefined];
  const family = isIP(addr);
  if (family) {
    const bytes = ipBytes(addr);
    const bits = prefix === undefined ? bytes.length * 8 : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new NameConstraintError(`"${text}": prefix length must be 0..${bytes.length * 8}`);
    const mask = Buffer.alloc(bytes.length);
    for (let i = 0; i < bits; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
    const network = Buffer.from(bytes.map((b, i) => b & mask[i]!));
    return { type: 'ip', address: network, mask };
  }
  if (prefix !== undefined) throw new NameConstraintError(`"${text}" is neither a DNS name nor an IP range`);
  const dns = s.replace(/^\*?\./, '').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(dns)) throw new NameConstraintError(`"${text}" is not a DNS name or an IP range`);
  return { type: 'dns', value: dns };
}

/** Whether `name` (a DNS name or an IP address) lies inside the permitted subtrees of its kind. */
export function isPermitted(name: string, permitted: PermittedName[]): boolean {
  if (isIP(name)) {
    const ranges = permitted.filter((p): p is Extract<PermittedName, { type: 'ip' }> => p.type === 'ip');
    if (ranges.length === 0) return true; // no IP subtrees: IPs are not constrained (RFC 5280)
    const bytes = ipBytes(name);
    return ranges.some((r) => r.address.length === bytes.length && bytes.every((b, i) => (b & r.mask[i]!) === r.address[i]));
  }
  const domains = permitted.filter((p) => p.type === 'dns');
  if (domains.length === 0) return true;
  const n = name.toLowerCase();
  return domains.some((d) => n === d.value || n.endsWith(`.${d.value}`));
}

/** Splits `names` into those the subtrees permit and those they do not, keeping the order. */
export function partitionPermitted(names: string[], permitted: PermittedName[]): { inside: string[]; outside: string[] } {
  const inside: string[] = [];
  const outside: string[] = [];
  for (const n of names) (isPermitted(n, permitted) ? inside : outside).push(n);
  return { inside, outside };
}

/** "lan", "192.168.0.0/16", "fd00::/8": a subtree as parsePermittedName reads it. */
export function formatPermittedName(p: PermittedName): string {
  return p.type === 'dns' ? p.value : `${formatIp(p.address)}/${[...p.mask].reduce((n, b) => n + b.toString(2).replace(/0/g, '').length, 0)}`;
}

function formatIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** The extension, critical as the CA/Browser baseline asks, holding only permitted subtrees. */
export function nameConstraintsExtension(permitted: PermittedName[]): x509.Extension {
  const subtrees = permitted.map((p) => der(0x30, p.type === 'dns' ? der(0x82, Buffer.from(p.value, 'ascii')) : der(0x87, Buffer.concat([p.address, p.mask]))));
  const value = der(0x30, der(0xa0, Buffer.concat(subtrees)));
  return new x509.Extension(NAME_CONSTRAINTS_OID, true, new Uint8Array(value));
}

export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6 (and IPv4-mapped tails): expand "::" and convert.
  let text = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
