// DDNS for a host reached by its own address (a NAS on a home IPv6 prefix): find the host's
// global, stable IPv6 (and optionally an IPv4), and keep the A/AAAA records of the configured
// names pointing at it through a DnsProvider's setRecords. Checks at start, then every interval;
// updates only on change; an AbortSignal stops it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import os from 'node:os';
import type { Logger } from 'pino';
import type { DnsProvider } from './dns-provider.js';
import { sleep } from '../util/async.js';
import { DdnsAddressError, DnsUnsupportedError } from './errors.js';
import { ipv6Bytes } from './wire.js';

export interface HostAddresses {
  ipv6?: string;
  ipv4?: string;
}

/** Where the current addresses come from. Tests inject their own. */
export interface AddressSource {
  current(signal?: AbortSignal): Promise<HostAddresses>;
}

// Flags of /proc/net/if_inet6 (linux/if_addr.h).
const IFA_F_TEMPORARY = 0x01;
const IFA_F_DADFAILED = 0x08;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_TENTATIVE = 0x40;
const IFA_F_PERMANENT = 0x80;

export interface Ipv6Candidate {
  address: string;
  iface: string;
  /** Flags from /proc/net/if_inet6; undefined where that file does not exist (not Linux). */
  flags?: number;
}

/** Global unicast (2000::/3): excludes loopback, link-local fe80::/10, ULA fc00::/7, multicast, mapped. */
export function isGlobalIpv6(address: string): boolean {
  if (!isIPv6(address)) return false;
  const first = ipv6Bytes(address)[0]!;
  return (first & 0xe0) === 0x20;
}

/** Parses /proc/net/if_inet6: "20010db8...0001 02 40 00 80 eth0" -> address, iface, flags. */
export function parseIfInet6(text: string): Ipv6Candidate[] {
  const out: Ipv6Candidate[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/i.test(f[0]!)) continue;
    const hex = f[0]!.toLowerCase();
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
    out.push({ address: compressIpv6(groups.join(':')), iface: f[5]!, flags: parseInt(f[4]!, 16) });
  }
  return out;
}

function compressIpv6(full: string): string {
  // Longest run of zero groups becomes "::" (RFC 5952).
  const groups = full.split(':');
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * Picks the address to publish: global, not temporary (privacy addresses change daily), not
 * deprecated, tentative or DAD-failed. Keeps `previous` while it is still valid (no flapping
 * between two good addresses); else prefers permanent (static) over dynamic (SLAAC/DHCPv6),
 * then the lowest address for a stable choice.
 */
export function pickIpv6(candidates: Ipv6Candidate[], opts: { iface?: string; previous?: string } = {}): string | undefined {
  const bad = IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_TENTATIVE | IFA_F_DADFAILED;
  const good = candidates.filter((c) => isGlobalIpv6(c.address) && (!opts.iface || c.iface === opts.iface) && ((c.flags ?? 0) & bad) === 0);
  if (opts.previous && good.some((c) => sameIpv6(c.address, opts.previous!))) return opts.previous;
  good.sort((a, b) => {
    const pa = ((a.flags ?? 0) & IFA_F_PERMANENT) !== 0 ? 0 : 1;
    const pb = ((b.flags ?? 0) & IFA_F_PERMANENT) !== 0 ? 0 : 1;
    return pa - pb || Buffer.compare(ipv6Bytes(a.address), ipv6Bytes(b.address));
  });
  return good[0]?.address;
}

function sameIpv6(a: string, b: string): boolean {
  return ipv6Bytes(a).equals(ipv6Bytes(b));
}

export interface HostAddressOptions {
  /** Publish an IPv6 address (default true). */
  ipv6?: boolean;
  /** Only consider this interface for IPv6. */
  ipv6Interface?: string;
  /** IPv4 from this interface's first non-internal address. */
  ipv4Interface?: string;
  /** IPv4 from this command's standard output (argv, no shell), e.g. ["curl","-s","https://api.ipify.org"]. */
  ipv4Command?: string[];
  /** For tests: stand-ins for os.networkInterfaces() and /proc/net/if_inet6. */
  networkInterfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  readIfInet6?: () => Promise<string | undefined>;
}

/** The host's own addresses, from its interfaces (and /proc/net/if_inet6 flags on Linux). */
export class HostAddressSource implements AddressSource {
  private previousV6?: string;

  constructor(private readonly opts: HostAddressOptions = {}) {}

  async current(signal?: AbortSignal): Promise<HostAddresses> {
    const out: HostAddresses = {};
    if (this.opts.ipv6 !== false) {
      out.ipv6 = pickIpv6(await this.ipv6Candidates(), { iface: this.opts.ipv6Interface, previous: this.previousV6 });
      this.previousV6 = out.ipv6;
    }
    if (this.opts.ipv4Command) out.ipv4 = await commandAddress(this.opts.ipv4Command, signal);
    else if (this.opts.ipv4Interface) {
      const addrs = (this.opts.networkInterfaces ?? os.networkInterfaces)()[this.opts.ipv4Interface] ?? [];
      out.ipv4 = addrs.find((a) => a.family === 'IPv4' && !a.internal)?.address;
    }
    return out;
  }

  private async ipv6Candidates(): Promise<Ipv6Candidate[]> {
    const text = await (this.opts.readIfInet6 ?? (() => readFile('/proc/net/if_inet6', 'utf8').catch(() => undefined)))();
    if (text !== undefined) return parseIfInet6(text);
    // Not Linux: no flags; os.networkInterfaces() cannot tell temporary addresses apart.
    const out: Ipv6Candidate[] = [];
    for (const [iface, addrs] of Object.entries((this.opts.networkInterfaces ?? os.networkInterfaces)())) {
      for (const a of addrs ?? []) if (a.family === 'IPv6' && !a.internal) out.push({ address: a.address, iface });
    }
    return out;
  }
}

function commandAddress(argv: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    execFile(cmd, args, { timeout: 30_000, signal, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const how = typeof err.code === 'number' ? `exit code ${err.code}` : err.message;
        reject(new DdnsAddressError(`IPv4 command "${argv.join(' ')}" failed (${how})${stderr ? `; stderr: ${String(stderr).trim().slice(-500)}` : ''}`, { cause: err }));
        return;
      }
      const addr = String(stdout).trim();
      if (!isIPv4(addr)) reject(new DdnsAddressError(`IPv4 command "${argv.join(' ')}" printed ${JSON.stringify(addr.slice(0, 100))}, not an IPv4 address`));
      else resolve(addr);
    });
  });
}

export interface DdnsOptions {
  provider: DnsProvider;
  names: string[];
  ttl: number;
  intervalMs: number;
  source: AddressSource;
  log: Logger;
}

export interface DdnsCheck {
  addresses: HostAddresses;
  /** The RRsets written in this check, e.g. ["home.example.com AAAA"]. */
  updated: string[];
}

/** What DDNS is doing, for the management API (GET /api/v2.0/ddns). */
export interface DdnsStatus {
  provider: string;
  names: string[];
  intervalSeconds: number;
  /** The last check (ISO time), failed or not; absent before the first. */
  lastCheck?: string;
  /** The host's addresses the last successful check found. */
  addresses: HostAddresses;
  /** The records written since the start, with the address each holds. */
  records: Array<{ name: string; type: 'A' | 'AAAA'; address: string }>;
  /** The last failure, kept until a check succeeds. */
  lastError?: { message: string; at: string };
}

/** Keeps the names' A/AAAA records equal to the host's addresses. */
export class DdnsUpdater {
  /** What was last written successfully, per "name TYPE". */
  private readonly published = new Map<string, string>();
  private readonly setRecords: NonNullable<DnsProvider['setRecords']>;

  constructor(private readonly opts: DdnsOptions) {
    const set = opts.provider.setRecords;
    if (!set) throw new DnsUnsupportedError('ddns', `the ${opts.provider.kind} DNS provider cannot replace records, so it cannot do DDNS (for exec, configure "set")`);
    this.setRecords = set.bind(opts.provider);
  }

  private lastCheck: string | undefined;
  private lastAddresses: HostAddresses = {};
  private lastError: DdnsStatus['lastError'];

  status(): DdnsStatus {
    return {
      provider: this.opts.provider.kind,
      names: this.opts.names,
      intervalSeconds: this.opts.intervalMs / 1000,
      lastCheck: this.lastCheck,
      addresses: this.lastAddresses,
      records: [...this.published].map(([key, address]) => {
        const [name, type] = key.split(' ') as [string, 'A' | 'AAAA'];
        return { name, type, address };
      }),
      lastError: this.lastError,
    };
  }

  /** One check: reads the addresses and writes each RRset whose address changed since the last success. */
  async check(signal?: AbortSignal): Promise<DdnsCheck> {
    this.lastCheck = new Date().toISOString();
    try {
      const result = await this.update(signal);
      this.lastAddresses = result.addresses;
      this.lastError = undefined;
      return result;
    } catch (err) {
      this.lastError = { message: (err as Error).message, at: this.lastCheck };
      throw err;
    }
  }

  private async update(signal?: AbortSignal): Promise<DdnsCheck> {
    const addresses = await this.opts.source.current(signal);
    const updated: string[] = [];
    for (const [type, address] of [['AAAA', addresses.ipv6], ['A', addresses.ipv4]] as const) {
      if (!address) continue;
      for (const name of this.opts.names) {
        const key = `${name} ${type}`;
        const before = this.published.get(key);
        if (before === address) continue;
        await this.setRecords(name, type, [address], this.opts.ttl, signal);
        this.published.set(key, address);
        updated.push(key);
        this.opts.log.info({ name, type, address, previous: before ?? null }, before ? 'DDNS: address changed, record updated' : 'DDNS: record published');
      }
    }
    return { addresses, updated };
  }

  /** Checks now, then every intervalMs until `signal` aborts. Failures are logged and retried next time. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const { addresses } = await this.check(signal);
        if (!addresses.ipv6 && !addresses.ipv4) this.opts.log.warn('DDNS: no usable address found (no global, non-temporary IPv6 and no IPv4 source)');
      } catch (err) {
        if (signal.aborted) break;
        this.opts.log.error({ err }, 'DDNS: update failed; will retry at the next check');
      }
      await sleep(this.opts.intervalMs, signal).catch(() => undefined);
    }
  }
}
