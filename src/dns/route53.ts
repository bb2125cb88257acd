// AWS Route53 through the AWS SDK v3. Route53 changes whole RRsets, so appending a TXT value means
// read the RRset, merge, UPSERT; deleting one value means UPSERT the rest (or DELETE the exact
// RRset when none is left). Per-name serialisation keeps two challenges in this process from
// clobbering each other. Changes are awaited until INSYNC (GetChange), bounded.
import type { Change, ChangeInfo, ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { DnsProvider, DnsRecord } from './dns-provider.js';
import { KeyedQueue, sleep } from '../util/async.js';
import { findZone, groupBy, normalizeName } from './records.js';
import { DnsApiError, DnsZoneNotFoundError } from './errors.js';
import { quoteTxt, unquoteTxt } from './txt-quoting.js';

export interface Route53Options {
  /** Hosted zone id (`Z123...` or `/hostedzone/Z123...`). Unset: found by name. */
  hostedZoneId?: string;
  region?: string;
  /** Static credentials; unset: the usual AWS chain (env, ~/.aws, instance role, ...). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Another endpoint (tests point it at a fake Route53). */
  endpoint?: string;
  /** How long to wait for a change to become INSYNC (default 120 s; 0: do not wait). */
  syncTimeoutMs?: number;
  /** Pause between GetChange polls (default 2 s). */
  syncIntervalMs?: number;
}

type RType = DnsRecord['type'];
type Sdk = typeof import('@aws-sdk/client-route-53');

export class Route53Provider implements DnsProvider {
  readonly kind = 'route53';
  private connection: Promise<{ sdk: Sdk; client: Route53Client }> | undefined;
  private readonly queue = new KeyedQueue();
  private readonly zoneCache = new Map<string, string>();

  constructor(private readonly opts: Route53Options = {}) {}

  /** The AWS SDK is large (~19 MiB resident): loaded on first use, not by every minato process. */
  private connect(): Promise<{ sdk: Sdk; client: Route53Client }> {
    const opts = this.opts;
    this.connection ??= import('@aws-sdk/client-route-53').then((sdk) => ({
      sdk,
      client: new sdk.Route53Client({
        region: opts.region ?? 'us-east-1',
        endpoint: opts.endpoint,
        maxAttempts: 3,
        credentials:
          opts.accessKeyId && opts.secretAccessKey
            ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, sessionToken: opts.sessionToken }
            : undefined,
      }),
    }));
    return this.connection;
  }

  async appendRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    for (const rs of groupBy(records, (r) => `${normalizeName(r.name)}/${r.type}`).values()) {
      const { name, type } = rs[0]!;
      await this.queue.run(`${normalizeName(name)}/${type}`, async () => {
        const zone = await this.zoneFor(name, signal);
        const current = await this.read(zone, name, type, signal);
        const values = current?.values ?? [];
        const merged = [...values, ...rs.map((r) => r.value).filter((v, i, all) => !values.includes(v) && all.indexOf(v) === i)];
        if (merged.length === values.length) return;
        await this.change(zone, [upsert(name, type, Math.max(...rs.map((r) => r.ttl)), merged)], signal);
      });
    }
  }

  async deleteRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void> {
    for (const rs of groupBy(records, (r) => `${normalizeName(r.name)}/${r.type}`).values()) {
      const { name, type } = rs[0]!;
      await this.queue.run(`${normalizeName(name)}/${type}`, async () => {
        const zone = await this.zoneFor(name, signal);
        const current = await this.read(zone, name, type, signal);
        if (!current) return;
        const drop = new Set(rs.map((r) => r.value));
        const rest = current.values.filter((v) => !drop.has(v));
        if (rest.length === current.values.length) return;
        // DELETE must repeat the RRset exactly as it is (Route53 rejects it otherwise): use what we read.
        const change = rest.length === 0 ? { Action: 'DELETE' as const, ResourceRecordSet: current.set } : upsert(name, type, current.set.TTL ?? 60, rest);
        await this.change(zone, [change], signal);
      });
    }
  }

  async setRecords(name: string, type: 'A' | 'AAAA', values: string[], ttl: number, signal?: AbortSignal): Promise<void> {
    await this.queue.run(`${normalizeName(name)}/${type}`, async () => {
      const zone = await this.zoneFor(name, signal);
      await this.change(zone, [upsert(name, type, ttl, values)], signal);
    });
  }

  /** The RRset of name/type, or undefined. ListResourceRecordSets starts at name/type, so check what came back. */
  private async read(zone: string, name: string, type: RType, signal?: AbortSignal): Promise<{ set: ResourceRecordSet; values: string[] } | undefined> {
    const out = await this.call(`reading ${type} ${name}`, signal, async (o) => {
      const { sdk, client } = await this.connect();
      return client.send(new sdk.ListResourceRecordSetsCommand({ HostedZoneId: zone, StartRecordName: normalizeName(name), StartRecordType: type, MaxItems: 1 }), o);
    },
    );
    const set = out.ResourceRecordSets?.[0];
    if (!set || set.Type !== type || r53Name(set.Name ?? '') !== normalizeName(name)) return undefined;
    const values = (set.ResourceRecords ?? []).map((r) => (type === 'TXT' ? unquoteTxt(r.Value ?? '') : r.Value ?? ''));
    return { set, values };
  }

  private async change(zone: string, changes: Change[], signal?: AbortSignal): Promise<void> {
    const what = `changing ${changes.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type} ${c.ResourceRecordSet?.Name}`).join(', ')}`;
    const out = await this.call(what, signal, async (o) => {
      const { sdk, client } = await this.connect();
      return client.send(new sdk.ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Comment: 'minato', Changes: changes } }), o);
    });
    const timeoutMs = this.opts.syncTimeoutMs ?? 120_000;
    let info: ChangeInfo | undefined = out.ChangeInfo;
    if (!info?.Id || timeoutMs === 0) return;
    const deadline = Date.now() + timeoutMs;
    while (info?.Status !== 'INSYNC') {
      if (Date.now() >= deadline) {
        throw new DnsApiError('route53', `Route53 change ${info?.Id} is still ${info?.Status ?? 'unknown'} after ${timeoutMs} ms; it may still apply, but DNS-01 validation now would likely fail`);
      }
      await sleep(Math.min(this.opts.syncIntervalMs ?? 2000, Math.max(0, deadline - Date.now())), signal);
      const id: string = info!.Id!;
      info = (await this.call('waiting for the change', signal, async (o) => {
      const { sdk, client } = await this.connect();
      return client.send(new sdk.GetChangeCommand({ Id: id }), o);
    })).ChangeInfo;
    }
  }

  private async zoneFor(name: string, signal?: AbortSignal): Promise<string> {
    if (this.opts.hostedZoneId) return this.opts.hostedZoneId.replace(/^\/hostedzone\//, '');
    const id = await findZone(name, this.zoneCache, async (candidate) => {
      const out = await this.call(`looking up the hosted zone of ${name}`, signal, async (o) => {
        const { sdk, client } = await this.connect();
        return client.send(new sdk.ListHostedZonesByNameCommand({ DNSName: candidate, MaxItems: 10 }), o);
      });
      // Zones come sorted from DNSName on; a public zone of exactly that name wins over a private one.
      const matches = (out.HostedZones ?? []).filter((z) => r53Name(z.Name ?? '') === candidate);
      return (matches.find((z) => !z.Config?.PrivateZone) ?? matches[0])?.Id?.replace(/^\/hostedzone\//, '');
    });
    if (!id) throw new DnsZoneNotFoundError('route53', name, 'among the Route53 hosted zones these credentials can list (set hostedZoneId, or allow route53:ListHostedZonesByName)');
    return id;
  }


  private async call<T>(what: string, signal: AbortSignal | undefined, fn: (o: { abortSignal?: AbortSignal }) => Promise<T>): Promise<T> {
    try {
      return await fn({ abortSignal: signal });
    } catch (err) {
      signal?.throwIfAborted();
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      const hint =
        e.name === 'AccessDenied' || status === 403
          ? ' (the credentials lack a Route53 permission: route53:ChangeResourceRecordSets, ListResourceRecordSets, GetChange, ListHostedZonesByName)'
          : e.name === 'CredentialsProviderError'
            ? ' (no AWS credentials found: set accessKeyId/secretAccessKey or AWS_* variables, ~/.aws, or an instance role)'
            : '';
      throw new DnsApiError('route53', `Route53 failed ${what}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}${hint}`, status, { cause: err });
    }
  }
}

function upsert(name: string, type: RType, ttl: number, values: string[]): Change {
  return {
    Action: 'UPSERT',
    ResourceRecordSet: { Name: normalizeName(name), Type: type, TTL: ttl, ResourceRecords: values.map((v) => ({ Value: type === 'TXT' ? quoteTxt(v) : v })) },
  };
}

/** Route53 names end with a dot and escape some characters as \ooo (octal). */
function r53Name(name: string): string {
  return normalizeName(name.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}
