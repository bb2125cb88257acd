// Before asking an ACME CA to validate, make sure the TXT record is really served: ask every
// authoritative server of the zone directly (not a cache) until each returns the value. Also the
// `_acme-challenge` CNAME delegation (RFC 8555 8.4 allows validators to follow CNAMEs): the
// record must be written where the CNAME points.
import { Resolver } from 'node:dns/promises';
import { sleep } from '../util/async.js';
import { DnsError, DnsPropagationTimeoutError, DnsProtocolError, DnsZoneNotFoundError } from './errors.js';
import { normalizeName } from './records.js';
import { queryServer, rcodeOf, txtValues } from './query.js';
import { formatHostPort, parseHostPort } from './transport.js';

export interface WaitForTxtOptions {
  /** Servers to ask (host:port). Unset: the zone's NS records, found through `resolvers`. */
  nameservers?: string[];
  /** Recursive resolvers (host:port) for the NS lookup. Unset: the system's. */
  resolvers?: string[];
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
  /** Pause between rounds (default 2 s). */
  intervalMs?: number;
  /** Wait for one answer (default 2 s, capped by what is left of timeoutMs). */
  queryTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Resolves when every server answers TXT `name` with `value` among its values. Throws
 * DnsPropagationTimeoutError naming what each server last said; the wait is bounded by timeoutMs.
 */
export async function waitForTxt(name: string, value: string, opts: WaitForTxtOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const intervalMs = opts.intervalMs ?? 2000;
  const deadline = Date.now() + timeoutMs;
  const servers = opts.nameservers?.length ? opts.nameservers : await findAuthoritativeServers(name, { resolvers: opts.resolvers, signal: opts.signal });
  const seen: Record<string, string[] | { error: string }> = Object.fromEntries(servers.map((s) => [s, { error: 'not asked yet' }]));
  let pending = [...servers];
  for (;;) {
    opts.signal?.throwIfAborted();
    const left = deadline - Date.now();
    const results = await Promise.all(
      pending.map(async (s) => {
        try {
          const answer = await queryServer(parseHostPort(s), name, 'TXT', {
            signal: opts.signal,
            timeoutMs: Math.max(50, Math.min(opts.queryTimeoutMs ?? 2000, left)),
            attempts: 1,
            provider: 'propagation',
          });
          const rcode = rcodeOf(answer);
          seen[s] = rcode === 'NOERROR' || rcode === 'NXDOMAIN' ? txtValues(answer, name) : { error: `answered ${rcode}` };
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          seen[s] = { error: err instanceof DnsError ? 'no answer (timeout)' : (err as Error).message };
        }
        const got = seen[s];
        return Array.isArray(got) && got.includes(value);
      }),
    );
    pending = pending.filter((_, i) => !results[i]);
    if (pending.length === 0) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new DnsPropagationTimeoutError(name, value, timeoutMs, seen);
    await sleep(Math.min(intervalMs, remaining), opts.signal);
  }
}

/**
 * The authoritative servers (host:port) of the zone holding `name`: NS records of the closest
 * enclosing name that has them, each resolved to its IPv4 and IPv6 addresses on port 53.
 */
export async function findAuthoritativeServers(name: string, opts: { resolvers?: string[]; signal?: AbortSignal } = {}): Promise<string[]> {
  const resolver = makeResolver(opts.resolvers, opts.signal);
  const labels = normalizeName(name).split('.');
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    let hosts: string[];
    try {
      hosts = await resolver.resolveNs(candidate);
    } catch (err) {
      opts.signal?.throwIfAborted();
      if (isNoData(err)) continue;
      throw new DnsProtocolError('propagation', `NS lookup of ${candidate} failed: ${(err as Error).message}`, { cause: err });
    }
    if (hosts.length === 0) continue;
    const addrs = new Set<string>();
    for (const host of hosts) {
      const [v4, v6] = await Promise.all([resolver.resolve4(host).catch(() => [] as string[]), resolver.resolve6(host).catch(() => [] as string[])]);
      for (const a of v4) addrs.add(`${a}:53`);
      for (const a of v6) addrs.add(`[${a}]:53`);
    }
    if (addrs.size === 0) throw new DnsProtocolError('propagation', `the name servers of ${candidate} (${hosts.join(', ')}) have no addresses`);
    return [...addrs];
  }
  throw new DnsZoneNotFoundError('propagation', name, 'by NS lookups');
}

export interface ResolveChallengeOptions {
  /** Servers to ask for CNAMEs directly (host:port; authoritative or recursive). Unset: `resolvers`. */
  nameservers?: string[];
  /** Recursive resolvers (host:port) when `nameservers` is unset. Unset: the system's. */
  resolvers?: string[];
  maxDepth?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Where the TXT for `name` (usually `_acme-challenge.<domain>`) must be written: `name` itself,
 * or the end of its CNAME chain when it is delegated to another zone.
 */
export async function resolveChallengeName(name: string, opts: ResolveChallengeOptions = {}): Promise<string> {
  const maxDepth = opts.maxDepth ?? 8;
  let current = normalizeName(name);
  const visited = new Set<string>([current]);
  for (let depth = 0; depth < maxDepth; depth++) {
    const next = await cnameOf(current, opts);
    if (!next) return current;
    if (visited.has(next)) throw new DnsProtocolError('propagation', `CNAME loop at ${next} while following ${name}`);
    visited.add(next);
    current = next;
  }
  throw new DnsProtocolError('propagation', `more than ${maxDepth} CNAMEs while following ${name}`);
}

async function cnameOf(name: string, opts: ResolveChallengeOptions): Promise<string | undefined> {
  if (opts.nameservers?.length) {
    let lastError: unknown;
    for (const s of opts.nameservers) {
      try {
        const answer = await queryServer(parseHostPort(s), name, 'CNAME', { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 2000, provider: 'propagation', recursive: true });
        for (const a of answer.answers ?? []) {
          if (a.type === 'CNAME' && a.name.toLowerCase() === name) return normalizeName(a.data);
        }
        const rcode = rcodeOf(answer);
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') return undefined;
        // REFUSED: that server does not serve the name (an authoritative server of another zone): no CNAME it knows of.
        if (rcode === 'REFUSED') lastError ??= undefined;
        else lastError = new DnsProtocolError('propagation', `${formatHostPort(parseHostPort(s))} answered ${rcode} for CNAME ${name}`);
      } catch (err) {
        opts.signal?.throwIfAborted();
        lastError = err;
      }
    }
    if (lastError) throw lastError;
    return undefined;
  }
  const resolver = makeResolver(opts.resolvers, opts.signal);
  try {
    const [target] = await resolver.resolveCname(name);
    return target ? normalizeName(target) : undefined;
  } catch (err) {
    opts.signal?.throwIfAborted();
    if (isNoData(err)) return undefined;
    throw new DnsProtocolError('propagation', `CNAME lookup of ${name} failed: ${(err as Error).message}`, { cause: err });
  }
}

function makeResolver(servers: string[] | undefined, signal?: AbortSignal): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  if (servers?.length) resolver.setServers(servers.map((s) => formatHostPort(parseHostPort(s))));
  signal?.addEventListener('abort', () => resolver.cancel(), { once: true });
  return resolver;
}

function isNoData(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENODATA' || code === 'ENOTFOUND' || code === 'NOTFOUND' || code === 'ENONAME';
}
