// Obtains one certificate from an ACME CA (RFC 8555) with acme-client doing the protocol.
// What it adds: the account kept across restarts, a choice of challenge per identifier, and a
// fallback to the next challenge type when one fails (a failed authorization is final in ACME,
// so the fallback is a new order).
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import acme from 'acme-client';
import type { Logger } from 'pino';
import type { KeyValueStore } from '../../coordination/coordination.js';
import { loadAccount } from './account.js';
import type { ChallengeSolver, Identifier } from './solvers.js';

export interface AcmeIssuerOptions {
  directoryUrl: string;
  /** Where the account key and URL are kept (the asset store). */
  accounts: KeyValueStore;
  email?: string;
  termsAgreed: boolean;
  eab?: { kid: string; hmacKey: string };
  /** In order of preference. */
  solvers: ChallengeSolver[];
  log: Logger;
}

export class AcmeError extends Error {}

export class AcmeIssuer {
  private client: acme.Client | undefined;

  constructor(private readonly opts: AcmeIssuerOptions) {}

  private async account(): Promise<acme.Client> {
    if (this.client) return this.client;
    if (!this.opts.termsAgreed) {
      throw new AcmeError(`the ACME CA's terms of service must be accepted first: set tls.acme.agreeToTerms: true (read them at ${this.opts.directoryUrl})`);
    }
    const files = await loadAccount(this.opts.accounts, this.opts.directoryUrl);
    const client = new acme.Client({
      directoryUrl: this.opts.directoryUrl,
      accountKey: files.keyPem,
      accountUrl: files.url,
      externalAccountBinding: this.opts.eab,
      // Our own retry loop (renewal-policy.ts) handles longer outages; keep acme-client's short.
      backoffAttempts: 2,
      backoffMin: 1000,
      backoffMax: 5000,
    });
    if (!files.url) {
      await client.createAccount({
        termsOfServiceAgreed: true,
        contact: this.opts.email ? [`mailto:${this.opts.email}`] : undefined,
      });
      await files.save(client.getAccountUrl());
      this.opts.log.info({ account: client.getAccountUrl() }, 'ACME account registered');
    }
    this.client = client;
    return client;
  }

  /** A full chain (leaf first) for `names`, signed over `keyPem`'s public key. */
  async obtain(names: string[], keyPem: string, signal?: AbortSignal): Promise<string> {
    await this.checkReachable();
    const client = await this.account();
    const identifiers: Identifier[] = names.map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n }));
    const dnsNames = names.filter((n) => !isIP(n));
    const [, csr] = await acme.crypto.createCsr(
      { commonName: dnsNames[0] && dnsNames[0].length <= 64 ? dnsNames[0] : undefined, altNames: names },
      keyPem,
    );
    const usable = this.opts.solvers.filter((s) => identifiers.every((id) => s.supports(id, id.value.startsWith('*.'))));
    if (usable.length === 0) {
      throw new AcmeError(`no configured challenge can validate ${names.join(', ')} (wildcards need dns-01 with a DNS provider; IP addresses need http-01 or tls-alpn-01)`);
    }
    const failures: string[] = [];
    for (const solver of usable) {
      signal?.throwIfAborted();
      try {
        return await this.orderWith(client, identifiers, csr, solver, signal);
      } catch (err) {
        const message = describe(err);
        failures.push(`${solver.type}: ${message}`);
        this.opts.log.warn({ challenge: solver.type, names, err: message }, 'ACME order failed with this challenge; trying the next one if any');
      }
    }
    throw new AcmeError(`could not obtain a certificate for ${names.join(', ')}: ${failures.join('; ')}`);
  }

  /** One plain request first, so an unreachable or untrusted CA gets a clear message. */
  private async checkReachable(): Promise<void> {
    // Not through acme.axios: its retry interceptor hides the network error behind a TypeError.
    const agent = acme.axios.defaults.httpsAgent as https.Agent | undefined;
    const url = new URL(this.opts.directoryUrl);
    const get = url.protocol === 'https:' ? https.get : http.get;
    await new Promise<void>((resolve, reject) => {
      const req = get(url, { agent, timeout: 15_000 }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else reject(new AcmeError(`ACME directory ${url.href} answered HTTP ${res.statusCode}; is this an ACME directory URL?`));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 15 s'), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(new AcmeError(`ACME directory ${url.href} ${describe(err)}`)));
    });
  }

  private async orderWith(client: acme.Client, identifiers: Identifier[], csr: Buffer, solver: ChallengeSolver, signal?: AbortSignal): Promise<string> {
    const log = this.opts.log.child({ challenge: solver.type });
    const order = await client.createOrder({ identifiers });
    const authorizations = await client.getAuthorizations(order);
    const presented: Array<{ identifier: Identifier; token: string; keyAuthorization: string }> = [];
    try {
      const pending: Array<Awaited<ReturnType<typeof client.getAuthorizations>>[number]['challenges'][number]> = [];
      for (const authz of authorizations) {
        if (authz.status === 'valid') continue;
        const challenge = authz.challenges.find((c) => c.type === solver.type);
        if (!challenge) throw new AcmeError(`the CA offers no ${solver.type} challenge for ${authz.identifier.value}`);
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
        log.info({ identifier: authz.identifier.value }, 'ACME: preparing challenge');
        // Listed before present() returns: a present that fails half-way (record written, never
        // visible) must be cleaned up too.
        presented.push({ identifier: authz.identifier, token: challenge.token, keyAuthorization });
        await solver.present(authz.identifier, challenge.token, keyAuthorization, signal);
        pending.push(challenge);
      }
      for (const challenge of pending) {
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      }
      log.info({ identifiers: identifiers.map((i) => i.value) }, 'ACME: identifiers validated; finalizing order');
    } finally {
      for (const p of presented) {
        await solver.cleanup(p.identifier, p.token, p.keyAuthorization).catch((err) => log.warn({ err: describe(err), identifier: p.identifier.value }, 'ACME: challenge cleanup failed'));
      }
    }
    const finalized = await client.finalizeOrder(order, csr);
    return client.getCertificate(finalized);
  }
}

/** acme-client errors carry the CA's problem document in their message; keep it readable. */
export function describe(err: unknown): string {
  const e = err as { message?: string; code?: string };
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ETIMEDOUT' || e?.code === 'ECONNABORTED') return `unreachable (${e.code}): ${e.message}`;
  if (e?.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(e.code)) return `not trusted (${e.code}): set tls.acme.caBundle to the CA of the ACME server's HTTPS`;
  return e?.message ?? String(err);
}
