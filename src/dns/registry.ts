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

// The .describe() texts below are the DNS provider reference in docs/configuration.md: they
// must say what the provider code does (rfc2136.ts, route53.ts, cloudflare.ts, exec.ts).

export const rfc2136Schema = z
  .strictObject({
    kind: z.literal('rfc2136'),
    server: z
      .string()
      .min(1)
      .describe('Primary name server that accepts the dynamic updates: HOST, HOST:PORT or [IPv6]:PORT (port 53 when omitted), e.g. 192.0.2.1:53. It is also the server asked for the zone (see zone).'),
    keyName: z.string().min(1).describe('TSIG key name as the server knows it, e.g. "acme-key" (the name in `key "acme-key" { ... }`); a trailing dot is ignored.'),
    algorithm: z.enum(TSIG_ALGORITHMS).default('hmac-sha256').describe('TSIG algorithm of the key, as in the `algorithm` line of its key file (tsig-keygen makes hmac-sha256).'),
    secret: z.string().min(1).meta(secret).describe('TSIG secret, base64, from the `secret "..."` line of the tsig-keygen key file. Secret: `minato config check` shows it redacted.'),
    zone: z
      .string()
      .optional()
      .describe(
        'Zone to update, e.g. example.com; every record must lie in it. Unset: found once per record name by asking `server` (not recursively) for the SOA of the name, ' +
          'then of each parent (_acme-challenge.registry.example.com, registry.example.com, example.com, ...): the first SOA it returns, in the answer or in the authority section ' +
          'of an NXDOMAIN/NODATA answer, names the zone. A REFUSED answer moves on to the parent.',
      ),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe('How long to wait for each answer from `server`, in ms: a UDP message is sent up to 3 times, timeoutMs apart; messages over 512 bytes and truncated answers go over TCP, which gets 3 x timeoutMs.'),
  })
  .describe(
    'RFC 2136 dynamic updates signed with TSIG (RFC 8945), as nsupdate sends them: BIND, Knot, PowerDNS, Windows DNS. The records of one zone go in one UPDATE message to `server`; ' +
      'a SERVFAIL answer is retried 4 times (after 0.5, 1, 2 and 4 s), any other refusal fails with the server\'s code (REFUSED, NOTAUTH, BADKEY, ...), and a success must carry a valid TSIG signature. ' +
      'For DNS-01 the key needs to update TXT records at _acme-challenge names (BIND: `grant acme-key. wildcard *.example.com. TXT;`); for DDNS, A and AAAA records of the names.',
  );

export const route53Schema = z
  .strictObject({
    kind: z.literal('route53'),
    hostedZoneId: z
      .string()
      .optional()
      .describe(
        'Hosted zone id (Z123... or /hostedzone/Z123...). Unset: found with ListHostedZonesByName, trying the record name and then each parent, longest first; ' +
          'a zone of exactly that name matches, a public one before a private one.',
      ),
    region: z.string().default('us-east-1').describe('AWS region the SDK client signs its requests for (Route53 itself is global; us-east-1 works everywhere).'),
    accessKeyId: z
      .string()
      .optional()
      .describe(
        'Static access key id, used together with secretAccessKey. Unset (either of the two): the AWS SDK\'s default credential chain: the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / ' +
          'AWS_SESSION_TOKEN variables, AWS_PROFILE with ~/.aws/credentials and ~/.aws/config (SSO included), a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, EKS), ECS container credentials, the EC2 instance role.',
      ),
    secretAccessKey: z.string().optional().meta(secret).describe('Static secret access key, with accessKeyId. Secret: `minato config check` shows it redacted.'),
    sessionToken: z.string().optional().meta(secret).describe('Session token of temporary static credentials (STS), with accessKeyId and secretAccessKey. Secret.'),
    endpoint: z.string().url().optional().describe('Another API endpoint than AWS\'s (a Route53-compatible service, or a fake in tests).'),
    syncTimeoutMs: z
      .number()
      .int()
      .nonnegative()
      .default(120_000)
      .describe('How long to wait, polling GetChange every 2 s, until a change is INSYNC, in ms; past it the attempt fails (the change may still apply). 0: do not wait.'),
  })
  .describe(
    'AWS Route53 through the AWS SDK (loaded only when used). Route53 replaces whole record sets: adding a TXT value reads the set, merges the value in and UPSERTs it; ' +
      'removing one UPSERTs the rest, or DELETEs the set when none is left; changes to one name are made one at a time. ' +
      'IAM permissions: route53:ChangeResourceRecordSets, route53:ListResourceRecordSets and route53:GetChange on the zone, and route53:ListHostedZonesByName unless hostedZoneId is set.',
  );

export const cloudflareSchema = z
  .strictObject({
    kind: z.literal('cloudflare'),
    apiToken: z
      .string()
      .min(1)
      .meta(secret)
      .describe('Cloudflare API token (sent as `Authorization: Bearer`, not the Global API Key) with the permission Zone / DNS / Edit on the zone, and Zone / Zone / Read unless zoneId is set. Secret.'),
    zoneId: z
      .string()
      .optional()
      .describe('Zone id (the "Zone ID" on the zone\'s overview page). Unset: found with GET /zones?name=, trying the record name and then each parent, longest first; a zone of exactly that name matches.'),
    baseUrl: z.string().url().default('https://api.cloudflare.com/client/v4').describe('API base URL (another one only for tests).'),
  })
  .describe(
    'Cloudflare API v4. The records of a name and type are listed to find their ids; a new value is created with POST, a removed one deleted with DELETE (DDNS creates the new addresses before it deletes the old). ' +
      'Each request times out after 30 s; TTLs are kept between 60 s and a day, as Cloudflare requires.',
  );

const argv = z.array(z.string()).min(1);

export const execSchema = z
  .strictObject({
    kind: z.literal('exec'),
    present: argv.describe(
      'DNS-01: the command that adds one record, run with MINATO_DNS_ACTION=present; minato then waits until the record is visible (tls.acme.dnsPropagation). ' +
        'Required even when only DDNS uses the provider.',
    ),
    cleanup: argv.describe('DNS-01: the command that removes that record again (MINATO_DNS_ACTION=cleanup, same name and value), run once the CA validated or gave up.'),
    set: argv
      .optional()
      .describe('DDNS only, and required there: the command that replaces the whole A or AAAA record set of a name (MINATO_DNS_ACTION=set, MINATO_DNS_VALUE the addresses, comma-separated).'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(60_000)
      .describe('A command still running after this many ms is killed with SIGKILL, together with what it started (its process group), and the attempt fails.'),
    env: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra environment variables for the commands (e.g. an API key for your DNS service); the MINATO_DNS_* variables cannot be overridden by it.'),
  })
  .describe(
    'Your own commands, for any DNS service or DDNS updater. Each command is an argv list run without a shell (write ["sh", "-c", "..."] for one), in minato\'s working directory, ' +
      'once per record and with no extra arguments: the record comes in the environment, on top of minato\'s own and `env`: MINATO_DNS_ACTION (present, cleanup or set), ' +
      'MINATO_DNS_NAME (the full record name without the trailing dot: _acme-challenge.<name>, or the target of its CNAME, for DNS-01; the configured name for DDNS), ' +
      'MINATO_DNS_TYPE (TXT for DNS-01; A or AAAA for DDNS), MINATO_DNS_VALUE (the TXT value, unquoted; for set the addresses, comma-separated) and MINATO_DNS_TTL ' +
      '(seconds: 60 for DNS-01, ddns.ttl for DDNS). Standard input and output are not used; exit status 0 is success, anything else fails the attempt with the last 4000 characters of standard error in the message.',
  );

export const dnsProviderSchema = z.discriminatedUnion('kind', [rfc2136Schema, route53Schema, cloudflareSchema, execSchema]).describe('DNS providers');

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
      .describe('DNS provider that writes the records: an object with kind rfc2136 | route53 | cloudflare | exec (exec needs "set"); the same shapes as tls.acme.dns.'),
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
