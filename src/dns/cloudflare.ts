// Cloudflare API v4 (https://developers.cloudflare.com/api/resources/dns/): an API token with
// Zone:DNS:Edit on the zone. Zone found with GET /zones?name= (walking up the labels) unless
// configured; records listed to find their ids, created with POST, removed with DELETE.
import type { DnsProvider, DnsRecord } from './dns-provider.js';
import { KeyedQueue } from '../util/async.js';
import { findZone, groupBy, normalizeName } from './records.js';
import { DnsApiError, DnsZoneNotFoundError } from './errors.js';
import { quoteTxt, unquoteTxt } from './txt-quoting.js';

export interface CloudflareOptions {
  apiToken: string;
  /** Zone id; unset: looked up by name. */
  zoneId?: string;
  /** Default https://api.cloudflare.com/client/v4 (tests point it at a fake). */
  baseUrl?: string;
  /** Per-request timeout, default 30 s. */
  timeoutMs?: number;
}

interface CfRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
}

interface CfEnvelope {
  success: boolean;
  errors?: { code: number; message: string }[];
  result?: unknown;
  result_info?: { page?: number; total_pages?: number };
}

export class CloudflareProvider implements DnsProvider {
  readonly kind = 'cloudflare';
  private readonly baseUrl: string;
  private readonly zoneCache = new Map<string, string>();
  private readonly queue = new KeyedQueue();

  constructor(private readonly opts: CloudflareOptions) {
    this.baseUrl = (opts.baseUrl ?? 'https://api.cloudflare.com/client/v4').replace(/\/$/, '');
  }

  async appendRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    for (const [key, rs] of groupBy(records, (r) => `${normalizeName(r.name)}/${r.type}`)) {
      await this.queue.run(key, async () => {
        const first = rs[0]!;
        const zone = await this.zoneFor(first.name, signal);
        const existing = await this.list(zone, first.name, first.type, signal);
        const have = new Set(existing.map((e) => contentValue(e)));
        for (const r of rs) {
          if (have.has(r.value)) continue;
          await this.call('POST', `/zones/${zone}/dns_records`, signal, { type: r.type, name: normalizeName(r.name), content: toContent(r.type, r.value), ttl: cfTtl(r.ttl) });
          have.add(r.value);
        }
      });
    }
  }

  async deleteRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    for (const [key, rs] of groupBy(records, (r) => `${normalizeName(r.name)}/${r.type}`)) {
      await this.queue.run(key, async () => {
        const first = rs[0]!;
        const zone = await this.zoneFor(first.name, signal);
        const existing = await this.list(zone, first.name, first.type, signal);
        const drop = new Set(rs.map((r) => r.value));
        for (const e of existing) if (drop.has(contentValue(e))) await this.call('DELETE', `/zones/${zone}/dns_records/${encodeURIComponent(e.id)}`, signal);
      });
    }
  }

  async setRecords(name: string, type: 'A' | 'AAAA', values: string[], ttl: number, signal?: AbortSignal): Promise<void> {
    await this.queue.run(`${normalizeName(name)}/${type}`, async () => {
      const zone = await this.zoneFor(name, signal);
      const existing = await this.list(zone, name, type, signal);
      const keep = new Map<string, CfRecord>();
      for (const e of existing) if (values.includes(e.content) && e.ttl === cfTtl(ttl) && !keep.has(e.content)) keep.set(e.content, e);
      // Create before delete, so the name never resolves to nothing during the change.
      for (const v of values) {
        if (!keep.has(v)) await this.call('POST', `/zones/${zone}/dns_records`, signal, { type, name: normalizeName(name), content: v, ttl: cfTtl(ttl) });
      }
      for (const e of existing) if (keep.get(e.content) !== e) await this.call('DELETE', `/zones/${zone}/dns_records/${encodeURIComponent(e.id)}`, signal);
    });
  }

  private async list(zone: string, name: string, type: string, signal?: AbortSignal): Promise<CfRecord[]> {
    const out: CfRecord[] = [];
    for (let page = 1; ; page++) {
      const q = new URLSearchParams({ type, name: normalizeName(name), per_page: '100', page: String(page) });
      const env = await this.call('GET', `/zones/${zone}/dns_records?${q}`, signal);
      out.push(...(Array.isArray(env.result) ? (env.result as CfRecord[]) : []));
      if (!env.result_info?.total_pages || page >= env.result_info.total_pages) return out;
    }
  }

  private async zoneFor(name: string, signal?: AbortSignal): Promise<string> {
    if (this.opts.zoneId) return this.opts.zoneId;
    const id = await findZone(name, this.zoneCache, async (candidate) => {
      const env = await this.call('GET', `/zones?${new URLSearchParams({ name: candidate })}`, signal);
      const zones = Array.isArray(env.result) ? (env.result as { id: string; name: string }[]) : [];
      return zones.find((z) => normalizeName(z.name) === candidate)?.id;
    });
    if (!id) throw new DnsZoneNotFoundError('cloudflare', name, 'among the zones the Cloudflare API token can read (it needs Zone:Zone:Read, or set zoneId)');
    return id;
  }

  private async call(method: string, path: string, signal: AbortSignal | undefined, body?: unknown): Promise<CfEnvelope> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.opts.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      signal?.throwIfAborted();
      throw new DnsApiError('cloudflare', `Cloudflare API ${method} ${path.split('?')[0]} failed: ${(err as Error).message}`, undefined, { cause: err });
    }
    const text = await res.text();
    let env: CfEnvelope | undefined;
    try {
      env = JSON.parse(text) as CfEnvelope;
    } catch {
      env = undefined;
    }
    if (res.ok && env?.success) return env;
    const errors = env?.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') || text.slice(0, 300);
    const hint =
      res.status === 401 || res.status === 403 || env?.errors?.some((e) => [9109, 10000, 9103].includes(e.code))
        ? ' (check the API token: it needs Zone:DNS:Edit on this zone)'
        : '';
    throw new DnsApiError('cloudflare', `Cloudflare API ${method} ${path.split('?')[0]} failed with HTTP ${res.status}: ${errors}${hint}`, res.status);
  }
}

function toContent(type: string, value: string): string {
  return type === 'TXT' ? quoteTxt(value) : value;
}

function contentValue(r: CfRecord): string {
  return r.type === 'TXT' ? unquoteTxt(r.content) : r.content;
}

/** Cloudflare: 1 = automatic, else 60..86400 (30 on Enterprise). */
function cfTtl(ttl: number): number {
  return Math.min(86400, Math.max(60, ttl));
}
