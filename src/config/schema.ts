// The whole configuration: one zod schema, the single source of defaults and documentation.
// docs/configuration.md is generated from it (`minato config docs`) and a test keeps them equal.
// Keys are camelCase so that every key maps to exactly one MINATO_* variable (see env.ts).
import { z } from 'zod';
import { auditConfigSchema } from '../audit/config.js';
import { scrubConfigSchema } from '../core/scrub-config.js';
import { ddnsConfigSchema, dnsProviderSchema } from '../dns/registry.js';
import { databaseSchema } from '../metadata/config.js';
import { storageDriverSchema } from '../storage/config.js';
import { parseStorageLimit } from '../util/size.js';
import { Cron } from 'croner';

const duration = z.number().int().nonnegative();

/** Whether croner (the scheduler's cron parser, jobs/scheduler.ts) takes the expression. */
function validCron(expression: string): boolean {
  try {
    new Cron(expression, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

const acmeSchema = z
  .strictObject({
    directory: z
      .string()
      .default('letsencrypt')
      .describe('ACME directory: "letsencrypt", "letsencrypt-staging", "zerossl", "google", "buypass", or the URL of any ACME CA (Pebble, step-ca, ...).'),
    names: z.array(z.string()).default([]).describe('DNS names (wildcards need dns-01) and IP addresses the certificate covers. Required in acme mode.'),
    email: z.string().optional().describe('Contact e-mail for the ACME account (expiry notices).'),
    agreeToTerms: z.boolean().default(false).describe("Accept the CA's terms of service; required to register an account."),
    eab: z
      .strictObject({
        kid: z.string().describe('Key identifier the CA gave for External Account Binding.'),
        hmacKey: z.string().meta({ secret: true }).describe('HMAC key (base64url) the CA gave for External Account Binding. Secret.'),
      })
      .optional()
      .describe('External Account Binding (ZeroSSL, Google, step-ca with EAB): key id and base64url HMAC key.'),
    keyType: z.enum(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096']).default('ecdsa-p256').describe('Key type of the certificate.'),
    challenges: z
      .array(z.enum(['tls-alpn-01', 'http-01', 'dns-01']))
      .default(['tls-alpn-01', 'http-01', 'dns-01'])
      .describe('Challenge types to try, in order; the next is tried when one fails. dns-01 needs tls.acme.dns.'),
    httpListen: z
      .string()
      .default('0.0.0.0:80')
      .describe('Where the HTTP-01 responder listens (it redirects every other request to HTTPS). The CA connects to port 80 of each name.'),
    caBundle: z.string().optional().describe("PEM file of extra CAs trusted for the ACME server's own HTTPS (a private ACME CA such as step-ca or Pebble)."),
    trustedRoots: z.string().optional().describe('PEM file of roots the issued chain must validate to (default: the system roots, with a warning when it does not).'),
    renewBeforeDays: z.number().positive().optional().describe('Renew this many days before expiry. Unset: when a third of the lifetime remains, or in the window the CA suggests (ARI).'),
    retryMinSeconds: duration.default(60).describe('First retry delay after a failed order; it grows after each failure.'),
    retryMaxSeconds: duration.default(86400).describe('Longest retry delay after failures.'),
    dns: dnsProviderSchema.optional().describe('DNS provider that writes the dns-01 TXT records: an object with kind rfc2136 | route53 | cloudflare | exec.'),
    dnsPropagation: z
      .strictObject({
        nameservers: z.array(z.string()).default([]).describe("DNS servers (host:port) to check for the TXT record. Empty: the zone's authoritative servers."),
        timeoutSeconds: duration.default(120).describe('How long to wait for the TXT record to be visible before giving up on dns-01.'),
      })
      .prefault({})
      .describe('DNS-01: waiting until the TXT record is visible before asking the CA to validate.'),
  })
  .prefault({})
  .describe('ACME (tls.mode "acme").');

const caSchema = z
  .strictObject({
    names: z
      .array(z.string())
      .default([])
      .describe(
        'DNS names and IPv4/IPv6 addresses clients use to reach the registry; every one becomes a SAN of the server certificate, and so does the host of externalUrl. ' +
          "They must lie inside the CA's name constraints (start-up stops otherwise, before a new CA is written).",
      ),
    includeLoopback: z
      .boolean()
      .default(true)
      .describe("Also put localhost, 127.0.0.1 and ::1 in the server certificate; left out, with one warning, when the CA's name constraints do not permit them."),
    includeHostname: z
      .boolean()
      .default(true)
      .describe("Also put this machine's hostname in the server certificate; left out, with one warning, when the CA's name constraints do not permit it."),
    validityDays: z.number().positive().default(90).describe('Lifetime of the server certificate; it is renewed when a third of it remains.'),
    caValidityYears: z.number().int().positive().default(10).describe('Lifetime of a CA created by minato (at the first start or by "minato ca init").'),
    permittedNames: z
      .array(z.string())
      .default([])
      .describe('Name constraints of a CA created by minato: DNS names (with their subdomains) and IP ranges (10.0.0.0/8) it may issue for. Empty: unconstrained.'),
  })
  .prefault({})
  .describe('Built-in private CA (tls.mode "ca"); the CA lives in <data>/ca/, clients trust it with "minato trust" or GET /ca.crt.');

export const configSchema = z.strictObject({
  listen: z
    .string()
    .default('127.0.0.1:5000')
    .describe('Address and port to serve the registry on, HOST:PORT. Use 0.0.0.0:5000 (with TLS) to accept other machines.'),
  data: z.string().default('./data').describe('Directory for blobs, the SQLite metadata database and generated keys.'),
  externalUrl: z
    .string()
    .url()
    .optional()
    .describe('Public base URL (e.g. https://registry.example.com) used for Location headers and the token realm. Unset: taken from the request.'),
  trustedProxies: z
    .array(z.string())
    .default(['127.0.0.1', '::1'])
    .describe('Addresses of the reverse proxies in front of minato: their X-Forwarded-Proto and X-Forwarded-Host are believed (Location headers, the token realm, auth.challenge auto), their X-Forwarded-For names the client for the login throttle, and they are exempt from connections.maxPerAddress.'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Least severe level written: info logs requests and events, debug more detail.'),
      accessLog: z.boolean().default(true).describe('Write one JSON line per HTTP request.'),
    })
    .prefault({})
    .describe('Structured JSON logs on standard output.'),
  auth: z
    .strictObject({
      htpasswd: z
        .string()
        .optional()
        .describe('Apache htpasswd file with the users (bcrypt; $apr1$ and {SHA} accepted). Unset: users live in the database and the first start creates "admin".'),
      realm: z.string().default('minato').describe('Realm of the Basic challenge.'),
      challenge: z
        .enum(['auto', 'bearer', 'basic'])
        .default('auto')
        .describe(
          'Challenge (WWW-Authenticate) a /v2/ request without valid credentials gets; docker, podman, skopeo and containerd follow either. ' +
            '"auto": Bearer (the Docker token flow, realm <origin>/token) when minato knows the scheme and host clients use: it serves TLS itself, externalUrl is set, ' +
            'or a trusted proxy sent X-Forwarded-Proto; else Basic for that request, so a proxy that does not say it terminated TLS cannot break logins. ' +
            '"bearer": always Bearer (behind such a proxy set externalUrl). "basic": always Basic. Basic credentials are accepted on every request in all three; ' +
            'Bearer needs auth.token.enabled.',
        ),
      anonymousPull: z
        .boolean()
        .default(false)
        .describe('Let clients without credentials pull from public projects (and list them). Off: public projects are open to every signed-in user only. Anonymous push is never allowed.'),
      admins: z
        .array(z.string())
        .default(['admin'])
        .describe(
          'Users who are system administrators whatever the database says (all projects, users, robots, quotas, the certificate API; with metrics.auth "admin", /metrics). ' +
            'Database users can also be made administrators with "minato user admin NAME" or the API (sysadmin_flag). The database mode\'s first user is "admin"; with htpasswd, list your administrators\' names here.',
        ),
      credentialCacheSeconds: duration
        .default(60)
        .describe('How long a verified user/password pair is remembered, so Basic auth does not cost a bcrypt per request. 0 disables.'),
      throttle: z
        .strictObject({
          userFailures: z
            .number()
            .int()
            .nonnegative()
            .default(10)
            .describe('Failed logins one user may have from one client address (an IPv6 /64) in windowSeconds; then that user gets 429 with Retry-After from there, other addresses are not affected. 0 turns the login throttle off.'),
          addressFailures: z
            .number()
            .int()
            .nonnegative()
            .default(100)
            .describe('Failed logins one client address may have for all users together in windowSeconds; then every login from it gets 429. 0: no limit per address.'),
          windowSeconds: z.number().int().positive().default(300).describe('Window the failures are counted in, and how long a refusal lasts from the failure that reached a limit.'),
        })
        .prefault({})
        .describe('Login throttle for Basic credentials (on /v2/, /token and the certificate API). Behind a reverse proxy it needs trustedProxies and X-Forwarded-For to see client addresses.'),
      token: z
        .strictObject({
          enabled: z
            .boolean()
            .default(true)
            .describe('Serve the token endpoint /token and accept the bearer tokens it issues. false: no /token, and the challenge is always Basic (auth.challenge "bearer" is refused).'),
          ttlSeconds: z.number().int().min(30).max(3600).default(300).describe('Lifetime of issued bearer tokens.'),
          service: z.string().default('minato').describe('The "service" (JWT audience) of issued tokens.'),
          issuer: z.string().default('minato').describe('The JWT issuer of issued tokens.'),
        })
        .prefault({})
        .describe('Built-in token endpoint of the Docker token flow at /token (GET, and POST with the OAuth2 password grant).'),
    })
    .prefault({})
    .describe('Authentication. Anonymous push is never possible.'),
  tls: z
    .strictObject({
      mode: z
        .enum(['off', 'files', 'acme', 'ca'])
        .optional()
        .describe('"files": HTTPS from cert and key; "acme": certificates obtained and renewed from an ACME CA (tls.acme); "ca": from the built-in private CA (tls.ca); "off": plain HTTP. Unset: "files" when cert and key are set, else "off".'),
      cert: z.string().optional().describe('PEM certificate chain (leaf first; order and line endings are repaired). Reloaded when it changes.'),
      key: z.string().optional().describe('PEM private key matching the certificate.'),
      reloadCheckSeconds: duration.default(5).describe('How often the certificate files are checked for changes; in acme and ca mode, how often the stored certificate is checked for one another replica (or process) obtained.'),
      manualRenewalIntervalSeconds: duration
        .default(300)
        .describe(
          'Least time between two renewals asked for through the API (minato cert renew, POST /api/v2.0/certificate/renew): one sooner is refused with 429 and the time left, ' +
            'so nobody can spend a public CA\'s rate limit by repeating it. Automatic renewals are not affected. 0: no limit.',
        ),
      ciphers: z
        .string()
        .min(1)
        .default('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305')
        .describe(
          'OpenSSL cipher list offered on TLS 1.2 (TLS 1.3 suites are all AEAD and always offered). The default is forward secrecy (ECDHE) with AEAD ciphers only, no CBC or RSA key exchange; ' +
            'append e.g. ":ECDHE-RSA-AES128-SHA" only for old clients that cannot do better.',
        ),
      acme: acmeSchema,
      ca: caSchema,
    })
    .prefault({})
    .describe('HTTPS. TLS 1.2 is the minimum version.'),
  connections: z
    .strictObject({
      headersTimeoutSeconds: z
        .number()
        .positive()
        .default(15)
        .describe("Time a client has from a connection's (or a request's) first byte to the end of its headers; then 408 and close. A TLS handshake gets the same time. Bounds clients that dribble their headers."),
      keepAliveTimeoutSeconds: z.number().positive().default(75).describe('How long an idle kept-alive connection waits for its next request.'),
      idleTimeoutSeconds: duration
        .default(300)
        .describe('A connection with no bytes in either direction for this long while a request runs is closed (a stalled upload resumes from what was stored). 0 disables.'),
      maxPerAddress: z
        .number()
        .int()
        .nonnegative()
        .default(256)
        .describe('Most connections one client address may hold open at once; more are closed on connect. trustedProxies are exempt. 0: no limit.'),
    })
    .prefault({})
    .describe('Limits on HTTP connections, against slow and greedy clients.'),
  api: z
    .strictObject({
      sessionTimeoutMinutes: z
        .number()
        .int()
        .positive()
        .default(60)
        .describe("A UI session (POST /c/login) ends after this many minutes without a request (Harbor's default). Sessions live in the database, so every replica accepts them."),
      sessionMaxHours: z.number().positive().default(12).describe('A UI session ends this many hours after its login, however active; then the user signs in again.'),
    })
    .prefault({})
    .describe("The management API (/api/v2.0, Harbor's conventions; its OpenAPI document at /api/v2.0/openapi.json) and the UI's sessions."),
  ddns: ddnsConfigSchema,
  ui: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Serve the web UI (built by `npm run build` into dist/ui) at / on the registry\'s port. Off: / and the UI\'s pages answer 404; the API and /v2/ are unaffected.'),
    })
    .prefault({})
    .describe('The web UI: React pages that talk only to the management API, served by the registry itself (no CDN, nothing else to run).'),
  database: databaseSchema
    .default({ driver: 'sqlite' })
    .describe('Where the metadata (repositories, manifests, tags, uploads, users, events) is kept: an object with driver sqlite (a file in the data directory) | postgres (a database every replica shares).'),
  storage: z
    .strictObject({
      driver: storageDriverSchema
        .default({ kind: 'filesystem' })
        .describe('Where blobs are kept: an object with kind filesystem (files under the data directory) | s3 (a bucket every replica shares).'),
      directIO: z
        .boolean()
        .default(true)
        .describe(
          'Filesystem driver: write and read large blobs (1 MiB and up) with O_DIRECT, bypassing the page cache; buffered I/O is used where the filesystem refuses it. ' +
            'Far cheaper on VMs that hand free memory back to the host; turn it off on bare metal to keep hot layers in the page cache.',
        ),
    })
    .prefault({})
    .describe('Blob storage.'),
  registry: z
    .strictObject({
      deleteEnabled: z.boolean().default(true).describe('Allow DELETE of manifests, tags and blobs (405 UNSUPPORTED when off).'),
      maxManifestBytes: z.number().int().positive().default(4 * 1024 * 1024).describe('Largest manifest accepted (413 above).'),
      uploadPurgeAgeSeconds: duration.default(24 * 3600).describe('Uploads with no activity for this long are deleted.'),
      uploadPurgeIntervalSeconds: duration.default(3600).describe('How often abandoned uploads are looked for. 0 disables purging.'),
      signatureExtension: z
        .boolean()
        .default(true)
        .describe(
          'Serve the simple-signing extension (/extensions/v2/<name>/signatures/<digest>, advertised by X-Registry-Supports-Signatures: 1): skopeo and podman --sign-by then store and read GPG signatures in the registry instead of a lookaside. Storing needs push, reading pull. Off: clients use their configured lookaside.',
        ),
    })
    .prefault({})
    .describe('OCI Distribution API behaviour.'),
  projects: z
    .strictObject({
      creationRestriction: z
        .enum(['everyone', 'adminonly'])
        .default('everyone')
        .describe('Who may create projects (Harbor\'s project_creation_restriction): "everyone" (any signed-in user, who becomes the project\'s admin) or "adminonly".'),
      autoCreate: z
        .boolean()
        .default(false)
        .describe(
          'A push to a project that does not exist creates it (private, the pusher its Project Admin) when the pusher may create projects. Off: such a push is refused with DENIED and a message that says how to create the project.',
        ),
    })
    .prefault({})
    .describe('Projects: the first path component of a repository name ("library/alpine" is in "library"). "library" exists from the start and is public.'),
  events: z
    .strictObject({
      log: z
        .string()
        .optional()
        .describe('Append every event (pushes, pulls, deletes, logins, certificates) as one JSON line to this file; a relative path is under the data directory. Unset: no event log.'),
      retentionDays: z.number().int().positive().default(7).describe('Events stay in the outbox this long, then are deleted (a sink that was down longer misses them).'),
    })
    .prefault({})
    .describe('Registry events: written with every change to an outbox in the database, then delivered at least once, in order, to sinks.'),
  quota: z
    .strictObject({
      defaultStorageLimit: z
        .union([z.number(), z.string()])
        .transform((value, ctx) => {
          try {
            return parseStorageLimit(value);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
            return z.NEVER;
          }
        })
        .default(-1)
        .describe(
          'Storage limit given to each project created from now on (existing projects keep theirs, as in Harbor): bytes, or a size such as "500MB" or "10GiB" (powers of 1000 or 1024), at most 1PiB; -1 unlimited. ' +
            'A system administrator sets one project\'s limit later; what counts as used is in docs/operations.md, "Quotas".',
        ),
    })
    .prefault({})
    .describe('Project storage quotas.'),
  gc: z
    .strictObject({
      schedule: z
        .string()
        .optional()
        .refine((cron) => cron === undefined || validCron(cron), { message: 'not a cron expression: 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "0 0 3 * * *"' })
        .describe(
          'When garbage collection runs by itself: a cron expression (5 fields, or 6 with seconds first as Harbor writes them, e.g. "0 0 3 * * *" for 03:00 daily). Unset: only when asked (`minato gc`, the API). ' +
            'A schedule set through the API (PUT /api/v2.0/system/gc/schedule) replaces it until the next start.',
        ),
      untagged: z
        .enum(['keep', 'delete'])
        .default('keep')
        .describe(
          'Untagged manifests (no tag, no index referencing them, not a signature or SBOM of an artifact still there): "keep" them, or "delete" them in every scheduled run (a run started by hand says for itself, as Harbor\'s delete_untagged).',
        ),
      untaggedMinAgeHours: z.number().nonnegative().default(0).describe('With untagged: delete, untagged manifests pushed less than this many hours ago are kept.'),
      graceMinutes: z
        .number()
        .nonnegative()
        .default(60)
        .describe(
          'Blobs a repository holds that no manifest references (layers of a push whose manifest has not arrived yet, or never will) are kept this many minutes after they were pushed. Keep it above the time your largest push takes.',
        ),
    })
    .prefault({})
    .describe('Online garbage collection (docs/operations.md, "Garbage collection").'),
  scanGate: z
    .strictObject({
      unscanned: z
        .enum(['allow', 'deny', 'scan-first'])
        .default('deny')
        .describe(
          'In a project that prevents vulnerable images (metadata prevent_vul = "true"), what a pull of an artifact without a successful scan gets: "deny" (Harbor\'s behaviour), "allow", or "scan-first" (scan it now, wait up to scanFirstTimeoutSeconds, then decide). A project overrides it with its metadata prevent_vul_unscanned.',
        ),
      scanFirstTimeoutSeconds: z.number().positive().max(3600).default(60).describe('How long a pull waits for the scan that unscanned: scan-first starts; after it, the pull is decided as unscanned (denied).'),
      cacheEntries: z.number().int().positive().default(100_000).describe('Gate decisions kept in memory (per repository and digest); a pull of a decided artifact costs a lookup.'),
    })
    .prefault({})
    .describe('The vulnerability gate at pull (docs/operations.md, "Vulnerability gate"): per project, metadata prevent_vul, severity, prevent_vul_level and prevent_vul_unscanned.'),
  audit: auditConfigSchema,
  scrub: scrubConfigSchema,
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve Prometheus metrics at /metrics.'),
      auth: z
        .enum(['none', 'user', 'admin'])
        .default('none')
        .describe(
          'Who may read /metrics. "none": anyone who reaches it (what Prometheus scrapes without credentials; keep it off a public port with metrics.listen); ' +
            '"user": any signed-in registry user (Basic credentials or a bearer token; Prometheus: basic_auth in the scrape config); "admin": one of auth.admins.',
        ),
      listen: z
        .string()
        .optional()
        .describe("Serve /metrics on a plain-HTTP listener of its own at HOST:PORT (e.g. 127.0.0.1:9090) instead of on the registry's port, which then answers /metrics with 404."),
    })
    .prefault({})
    .describe('Prometheus metrics.'),
});

export type Config = z.infer<typeof configSchema>;
