// The one seam between "a name needs these DNS records" (ACME DNS-01, DDNS) and the service that
// holds the zone (an RFC 2136 server such as BIND, Route53, Cloudflare, or a user's exec hook).
// Kept as small as certmagic's: append and delete, plus an optional RRset replace for DDNS.

/** One resource record. `name` is an FQDN without the trailing dot; TXT `value` is the raw text (unquoted). */
export interface DnsRecord {
  name: string;
  type: 'TXT' | 'A' | 'AAAA';
  value: string;
  ttl: number;
}

/**
 * A DNS service that can change records in a zone it controls.
 *
 * Contract shared by every implementation (see test/conformance/dns-provider.ts):
 * - `appendRecords` adds the values and never removes other values of the same name and type,
 *   so two ACME challenges for `example.com` and `*.example.com` (same `_acme-challenge` name)
 *   can be present at once. Appending a value that already exists is not an error.
 * - `deleteRecords` removes exactly the given values and is idempotent: deleting a value that is
 *   not there succeeds. It is the clean-up path, so callers should give it a fresh signal rather
 *   than the one whose abort caused the clean-up.
 * - `setRecords` (DDNS) replaces the whole A or AAAA RRset of `name` with `values`, atomically where
 *   the service allows it. Providers that cannot do it leave it undefined.
 * - Concurrent calls on one instance are safe; providers that read-modify-write serialise per name.
 * - `signal` aborts waiting (network, retries, polling); a change already sent may still apply.
 * - Failures are the typed errors of ./errors.ts (DnsError subclasses), with messages a person can act on.
 * - Returning does not mean the change is visible everywhere: use waitForTxt (propagation.ts).
 */
export interface DnsProvider {
  /** 'rfc2136' | 'route53' | 'cloudflare' | 'exec' */
  readonly kind: string;
  appendRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void>;
  deleteRecords(records: DnsRecord[], signal?: AbortSignal): Promise<void>;
  setRecords?(name: string, type: 'A' | 'AAAA', values: string[], ttl: number, signal?: AbortSignal): Promise<void>;
}
