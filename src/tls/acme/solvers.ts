// Challenge solvers (RFC 8555 section 8, RFC 8737): each makes one identifier provable by one
// challenge type, then cleans up. They share the same present/cleanup shape.
import { isIP } from 'node:net';
import tls from 'node:tls';
import acme from 'acme-client';
import type { KeyValueStore } from '../../coordination/coordination.js';

export type ChallengeType = 'http-01' | 'tls-alpn-01' | 'dns-01';

export interface Identifier {
  type: string;
  value: string;
}

export interface ChallengeSolver {
  readonly type: ChallengeType;
  /** Whether this challenge type can validate the identifier (wildcards need dns-01, IPs cannot use it). */
  supports(identifier: Identifier, wildcard: boolean): boolean;
  /** Makes the challenge answerable. For dns-01 it returns only once the record is visible. */
  present(identifier: Identifier, token: string, keyAuthorization: string, signal?: AbortSignal): Promise<void>;
  cleanup(identifier: Identifier, token: string, keyAuthorization: string): Promise<void>;
}

/** RFC 8555 section 8.1: a token is base64url; anything else in a request path is not one of ours. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * HTTP-01: answers GET /.well-known/acme-challenge/<token> on port 80 (see challenge-listener.ts).
 * The key authorizations live in the shared key-value store (certmagic's distributedSolver), so
 * whichever replica the CA's request reaches answers it, not only the one that ordered.
 */
export class Http01Solver implements ChallengeSolver {
  readonly type = 'http-01';

  constructor(private readonly kv: KeyValueStore) {}

  supports(_identifier: Identifier, wildcard: boolean): boolean {
    return !wildcard;
  }

  async present(_identifier: Identifier, token: string, keyAuthorization: string): Promise<void> {
    await this.kv.store(tokenKey(token), Buffer.from(keyAuthorization));
  }

  async cleanup(_identifier: Identifier, token: string): Promise<void> {
    await this.kv.delete(tokenKey(token));
  }

  /** The key authorization for a token from a request path, or undefined. One KV lookup. */
  async respond(token: string): Promise<string | undefined> {
    if (!TOKEN.test(token)) return undefined;
    return (await this.kv.load(tokenKey(token)))?.toString('utf8');
  }
}

function tokenKey(token: string): string {
  if (!TOKEN.test(token)) throw new Error(`the ACME CA sent an HTTP-01 token that is not base64url: ${JSON.stringify(token.slice(0, 80))}`);
  return `acme/http-01/${token}`;
}

/** TLS-ALPN-01: presents a self-signed certificate with the acmeIdentifier extension on the TLS port. */
export class TlsAlpn01Solver implements ChallengeSolver {
  readonly type = 'tls-alpn-01';
  private readonly contexts = new Map<string, tls.SecureContext>();

  supports(_identifier: Identifier, wildcard: boolean): boolean {
    return !wildcard;
  }

  async present(identifier: Identifier, _token: string, keyAuthorization: string): Promise<void> {
    const authz = { identifier } as Parameters<typeof acme.crypto.createAlpnCertificate>[0];
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, key);
    this.contexts.set(this.serverName(identifier), tls.createSecureContext({ key, cert }));
  }

  async cleanup(identifier: Identifier): Promise<void> {
    this.contexts.delete(this.serverName(identifier));
  }

  /** Runs in the handshake of every acme-tls/1 client: a map lookup, no I/O. */
  contextFor(servername: string): tls.SecureContext | undefined {
    return this.contexts.get(servername.toLowerCase());
  }

  // RFC 8738: an IP identifier is validated with SNI set to its reverse-DNS name.
  private serverName(identifier: Identifier): string {
    if (identifier.type !== 'ip') return identifier.value.toLowerCase();
    if (isIP(identifier.value) === 4) return `${identifier.value.split('.').reverse().join('.')}.in-addr.arpa`;
    return identifier.value.toLowerCase();
  }
}

/** What DNS-01 needs from a DNS provider (src/dns): add and remove TXT records. */
export interface TxtRecordWriter {
  readonly kind: string;
  appendRecords(records: Array<{ name: string; type: 'TXT'; value: string; ttl: number }>, signal?: AbortSignal): Promise<void>;
  deleteRecords(records: Array<{ name: string; type: 'TXT'; value: string; ttl: number }>, signal?: AbortSignal): Promise<void>;
}

export interface Dns01Options {
  provider: TxtRecordWriter;
  /** Where the TXT record for a domain must go (follows a _acme-challenge CNAME delegation). */
  challengeName(domain: string, signal?: AbortSignal): Promise<string>;
  /** Resolves once the authoritative servers answer with the value; rejects after a bounded wait. */
  waitForTxt(name: string, value: string, signal?: AbortSignal): Promise<void>;
  ttl: number;
}

/** DNS-01: a TXT record at _acme-challenge.<domain>, written through a DNS provider. */
export class Dns01Solver implements ChallengeSolver {
  readonly type = 'dns-01';
  private readonly names = new Map<string, string>();

  constructor(private readonly opts: Dns01Options) {}

  supports(identifier: Identifier): boolean {
    return identifier.type === 'dns';
  }

  async present(identifier: Identifier, _token: string, txtValue: string, signal?: AbortSignal): Promise<void> {
    const domain = identifier.value.replace(/^\*\./, '');
    const name = await this.opts.challengeName(`_acme-challenge.${domain}`, signal);
    this.names.set(`${identifier.value}|${txtValue}`, name);
    await this.opts.provider.appendRecords([{ name, type: 'TXT', value: txtValue, ttl: this.opts.ttl }], signal);
    await this.opts.waitForTxt(name, txtValue, signal);
  }

  async cleanup(identifier: Identifier, _token: string, txtValue: string): Promise<void> {
    const key = `${identifier.value}|${txtValue}`;
    const name = this.names.get(key);
    if (!name) return;
    this.names.delete(key);
    // A fresh timeout, not the order's signal: cancellation is often why cleanup runs at all.
    await this.opts.provider.deleteRecords([{ name, type: 'TXT', value: txtValue, ttl: this.opts.ttl }], AbortSignal.timeout(60_000));
  }
}
