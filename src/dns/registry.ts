// DNS provider configuration (one zod discriminated union on `kind`) and the factory that turns
// it into a DnsProvider. The schema is exported so the config schema can embed it
// (tls.acme.dns for DNS-01, ddns.provider for DDNS).
import type { Logger } from 'pino';
import { z } from 'zod';
import type { DnsProvider } from './dns-provider.js';
import { CloudflareProvider } from './cloudflare.js';
import { DdnsUpdater, HostAddressSource } from './ddns.js';
import { ExecProvider } from './exec.js';
import { Rfc2136Provider } from './rfc2136.js';
import { Route53Provider } from './route53.js';
import { TSIG_ALGORITHMS } from './tsig.js';

/** Marks a field whose value must never be logged (redact(config) looks for it). */
const secret = { secret: true };

export const rfc2136Schema = z
  .strictObject({
    kind: z.literal('rfc2136'),
    server: z.string().min(1).describe('Primary name server that accepts dynamic updates, HOST:PORT (port 53 when omitted), e.g. 192.0.2.1:53.'),
    keyName: z.string().min(1).describe('TSIG key name as the server knows it, e.g. "acme-key" (the name in `key "acme-key" { ... }`).'),
    algorithm: z.enum(TSIG_ALGORITHMS).default('hmac-sha256').describe('TSIG algorithm of the key.'),
    secret: z.string().min(1).meta(secret).describe('TSIG secret, base64, from the `secret "..."` line of the tsig-keygen key file.'),
    zone: z.string().optional().describe('Zone to update. Unset: found by SOA queries at the server.'),
    timeoutMs: z.number().int().positive().default(2000).describe('Wait for each answer (UDP is sent up to 3 times, then TCP is not tried).'),
  })
  .describe('RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS, Windows DNS).');

export const route53Schema = z
  .strictObject({
    kind: z.literal('route53'),
    hostedZoneId: z.string().optional().describe('Hosted zone id (Z...). Unset: found by name with ListHostedZonesByName.'),
    region: z.string().default('us-east-1').describe('AWS region for the API client (Route53 is global).'),
    accessKeyId: z.string().optional().describe('Static access key id. Unset: the usual AWS chain (AWS_* env, ~/.aws, instance role).'),
    secretAccessKey: z.string().optional().meta(secret).describe('Static secret access key (with accessKeyId).'),
    sessionToken: z.string().optional().meta(secret).describe('Session token for temporary credentials.'),
    endpoint: z.string().url().optional().describe('Alternative API endpoint (for tests or a Route53-compatible service).'),
    syncTimeoutMs: z.number().int().nonnegative().default(120_000).describe('How long to wait for a change to be INSYNC. 0: do not wait.'),
  })
  .describe('AWS Route53 (needs route53:ChangeResourceRecordSets, ListResourceRecordSets, GetChange, ListHostedZonesByName).');

export const cloudflareSchema = z
  .strictObject({
    kind: z.literal('cloudflare'),
    apiToken: z.string().min(1).meta(secret).describe('Cloudflare API token with Zone:DNS:Edit (and Zone:Zone:Read unless zoneId is set).'),
    zoneId: z.string().optional().describe('Zone id. Unset: found by name.'),
    baseUrl: z.string().url().default('https://api.cloudflare.com/client/v4').describe('API base URL.'),
  })
  .describe('Cloudflare API v4.');

const argv = z.array(z.string()).min(1);

export const execSchema = z
  .strictObject({
    kind: z.literal('exec'),
    present: argv.describe('Command (argv, no shell; use ["sh","-c","..."] for one) that adds a record; gets MINATO_DNS_NAME/TYPE/VALUE/TTL/ACTION.'),
    cleanup: argv.describe('Command that removes a record (MINATO_DNS_ACTION=cleanup).'),
    set: argv.optional().describe('For DDNS: command that replaces an A/AAAA RRset (MINATO_DNS_ACTION=set, MINATO_DNS_VALUE comma-separated).'),
    timeoutMs: z.number().int().positive().default(60_000).describe('A command running longer is killed.'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables for the commands.'),
  })
  .describe('Your own commands, for any DNS service or DDNS updater.');

export const dnsProviderSchema = z.discriminatedUnion('kind', [rfc2136Schema, route53Schema, cloudflareSchema, execSchema]);

export type DnsProviderConfig = z.input<typeof dnsProviderSchema>;

/** Builds the provider a (parsed or raw) config describes. Throws ZodError / DnsConfigError on bad config. */
export function createDnsProvider(config: DnsProviderConfig): DnsProvider {
  const c = dnsProviderSchema.parse(config);
  switch (c.kind) {
    case 'rfc2136':
      return new Rfc2136Provider({ server: c.server, keyName: c.keyName, algorithm: c.algorithm, secret: c.secret, zone: c.zone, timeoutMs: c.timeoutMs });
    case 'route53':
      return new Route53Provider(c);
    case 'cloudflare':
      return new CloudflareProvider(c);
    case 'exec':
      return new ExecProvider(c);
  }
}

/** The `ddns` config section: keep A/AAAA records of `names` at this host's addresses. */
export const ddnsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Keep the A/AAAA records of ddns.names pointing at this host (a NAS on a home IPv6 prefix).'),
    names: z.array(z.string()).default([]).describe('DNS names whose address records are kept up to date.'),
    provider: dnsProviderSchema
      .optional()
      .describe('DNS provider that writes the records: an object with kind rfc2136 | route53 | cloudflare | exec (exec needs "set"); same fields as tls.acme.dns.'),
    ipv6: z.boolean().default(true).describe('Publish the global, stable (non-temporary, non-deprecated) IPv6 address as AAAA.'),
    ipv6Interface: z.string().optional().describe('Only take the IPv6 address from this interface (e.g. eth0).'),
    ipv4Interface: z.string().optional().describe('Publish the IPv4 address of this interface as A.'),
    ipv4Command: z.array(z.string()).optional().describe('Publish as A what this command prints (argv, no shell), e.g. ["curl","-s","https://api.ipify.org"] behind NAT.'),
    intervalSeconds: z.number().int().positive().default(300).describe('How often the address is checked; records are written only when it changed.'),
    ttl: z.number().int().positive().default(300).describe('TTL of the published records, in seconds.'),
  })
  .superRefine((d, ctx) => {
    if (!d.enabled) return;
    if (d.names.length === 0) ctx.addIssue({ code: 'custom', path: ['names'], message: 'ddns is enabled but ddns.names is empty' });
    if (!d.provider) ctx.addIssue({ code: 'custom', path: ['provider'], message: 'ddns is enabled but no ddns.provider is configured' });
    else if (d.provider.kind === 'exec' && !d.provider.set) ctx.addIssue({ code: 'custom', path: ['provider', 'set'], message: 'DDNS with the exec provider needs a "set" command' });
  })
  .prefault({})
  .describe('Dynamic DNS for this host.');

export type DdnsConfig = z.infer<typeof ddnsConfigSchema>;

/** The updater the `ddns` section describes, or undefined when DDNS is off. Call run(signal) on it. */
export function createDdnsUpdater(config: DdnsConfig, log: Logger): DdnsUpdater | undefined {
  if (!config.enabled || !config.provider) return undefined;
  return new DdnsUpdater({
    provider: createDnsProvider(config.provider),
    names: config.names,
    ttl: config.ttl,
    intervalMs: config.intervalSeconds * 1000,
    source: new HostAddressSource({ ipv6: config.ipv6, ipv6Interface: config.ipv6Interface, ipv4Interface: config.ipv4Interface, ipv4Command: config.ipv4Command }),
    log,
  });
}
