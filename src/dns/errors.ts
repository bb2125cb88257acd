// Typed failures of the DNS providers, propagation checks and DDNS. Each has a stable `code`
// (callers branch on it or on the class, never on the text) and a message a person can act on.

export abstract class DnsError extends Error {
  abstract readonly code: string;
  /** The provider kind ('rfc2136', 'route53', ...) or the subsystem ('propagation', 'ddns'). */
  readonly provider: string;
  constructor(provider: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.provider = provider;
  }
}

/** DNS response codes of RFC 1035/2136 and the TSIG error codes of RFC 8945 section 3. */
export type DnsRcode =
  | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'YXDOMAIN' | 'YXRRSET' | 'NXRRSET' | 'NOTAUTH' | 'NOTZONE'
  | 'BADSIG' | 'BADKEY' | 'BADTIME' | 'BADTRUNC' | string;

/**
 * The server understood the update and said no. `rcode` is the most specific code: the TSIG
 * error (BADSIG/BADKEY/BADTIME) when the server set one, else the header RCODE.
 */
export class DnsUpdateRefusedError extends DnsError {
  readonly code = 'DNS_UPDATE_REFUSED';
  constructor(
    readonly rcode: DnsRcode,
    readonly detail: { server: string; zone: string; keyName?: string; names: string[] },
  ) {
    super('rfc2136', refusalMessage(rcode, detail));
  }
}

function refusalMessage(rcode: DnsRcode, d: { server: string; zone: string; keyName?: string; names: string[] }): string {
  const key = d.keyName ? `'${d.keyName.replace(/\.?$/, '.')}'` : '(none)';
  const what = `update of ${d.names.join(', ')} in zone ${d.zone} at ${d.server}`;
  switch (rcode) {
    case 'BADKEY':
      return `TSIG key ${key} was rejected (BADKEY): check the key name and secret (the server does not know a key of that name and algorithm); ${what}`;
    case 'BADSIG':
      return `TSIG key ${key} was rejected (BADSIG): check the key name and secret (the signature did not verify, so the secret differs from the server's); ${what}`;
    case 'BADTIME':
      return `TSIG key ${key} was rejected (BADTIME): this machine's clock differs from the server's by more than the allowed fudge; sync the clock (NTP); ${what}`;
    case 'REFUSED':
      return `${what} was REFUSED: the server's update-policy (or allow-update) does not let key ${key} change these names/types, or the server is not primary for the zone`;
    case 'NOTAUTH':
      return `${what} failed with NOTAUTH: the server is not authoritative for zone ${d.zone}, or it rejected the TSIG signature of key ${key}; check the zone and the key`;
    case 'NOTZONE':
      return `${what} failed with NOTZONE: a record name is outside zone ${d.zone}; set the zone explicitly or check the names`;
    case 'FORMERR':
      return `${what} failed with FORMERR: the server could not parse the update (please report this as a minato bug)`;
    case 'NOTIMP':
      return `${what} failed with NOTIMP: the server does not implement dynamic updates (RFC 2136)`;
    case 'SERVFAIL':
      return `${what} failed with SERVFAIL (after retries): look at the server's log; the zone may not be loaded or its journal not writable`;
    default:
      return `${what} failed with ${rcode}`;
  }
}

/** No answer from a DNS server within the time allowed (all attempts). */
export class DnsTimeoutError extends DnsError {
  readonly code = 'DNS_TIMEOUT';
  constructor(provider: string, readonly server: string, timeoutMs: number, what: string) {
    super(provider, `no answer from DNS server ${server} to ${what} within ${timeoutMs} ms: check the address and port and that the server runs and is reachable (UDP and TCP)`);
  }
}

/** The answer was malformed, or its TSIG signature did not verify (possible spoofing). */
export class DnsProtocolError extends DnsError {
  readonly code = 'DNS_PROTOCOL';
}

/** No zone that contains `name` was found (SOA walk, hosted zone or Cloudflare zone lookup). */
export class DnsZoneNotFoundError extends DnsError {
  readonly code = 'DNS_ZONE_NOT_FOUND';
  constructor(provider: string, readonly recordName: string, where: string) {
    super(provider, `no zone containing ${recordName} was found ${where}: configure the zone explicitly or check that the account/key can see it`);
  }
}

/** An HTTP API (Route53, Cloudflare) answered with an error. */
export class DnsApiError extends DnsError {
  readonly code = 'DNS_API_ERROR';
  constructor(provider: string, message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(provider, message, options);
  }
}

/** An exec hook failed: non-zero exit, timeout, or it could not be started. */
export class DnsHookError extends DnsError {
  readonly code = 'DNS_HOOK_FAILED';
  constructor(message: string, readonly exitCode: number | null, readonly stderr: string) {
    super('exec', message);
  }
}

/** A TXT record did not become visible on every authoritative server in time. */
export class DnsPropagationTimeoutError extends DnsError {
  readonly code = 'DNS_PROPAGATION_TIMEOUT';
  constructor(
    readonly recordName: string,
    readonly value: string,
    readonly timeoutMs: number,
    /** Per server (host:port): the TXT values it last answered, or the error it gave. */
    readonly seen: Record<string, string[] | { error: string }>,
  ) {
    const parts = Object.entries(seen).map(([server, s]) =>
      Array.isArray(s) ? `${server} answered ${s.length ? s.map((v) => JSON.stringify(v)).join(', ') : 'no TXT values'}` : `${server}: ${s.error}`,
    );
    super(
      'propagation',
      `TXT ${recordName} = ${JSON.stringify(value)} was not visible on every authoritative server after ${timeoutMs} ms (${parts.join('; ')}); ` +
        'check that the update reached the primary and that secondaries transfer the zone (NOTIFY/AXFR)',
    );
  }
}

/** The provider cannot do what was asked (e.g. DDNS with a provider that has no setRecords). */
export class DnsUnsupportedError extends DnsError {
  readonly code = 'DNS_UNSUPPORTED';
}

/** DDNS could not determine the host's address. */
export class DdnsAddressError extends DnsError {
  readonly code = 'DDNS_ADDRESS';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ddns', message, options);
  }
}

/** Configuration values that parse but cannot work (bad base64 secret, bad host:port). */
export class DnsConfigError extends DnsError {
  readonly code = 'DNS_CONFIG';
}
