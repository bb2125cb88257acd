// CertificateProvider for tls.mode "ca": the registry's server certificate, issued by minato's
// own CA (private-ca.ts) for every configured name. The stored certificate is reused across
// restarts; it is re-issued when a third of its lifetime remains, when the configured names
// change, or when the CA was replaced. A failed renewal keeps the current certificate and retries.
// In a fleet the replicas share the CA and the server certificate: issuing runs under the lock
// tls/ca/server and re-checks the store first, and the others pick the new one up (StoreWatch).
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { Logger } from 'pino';
import type { KeyValueStore, Locker } from '../coordination/coordination.js';
import { withLock } from '../coordination/open.js';
import { assembleCertificate } from './cert-files.js';
import { SwappableCertificate, type CertificateProvider, type CertificateStatus, type ServingCertificate } from './certificate-provider.js';
import { certificateFields, describeCertificate, sanNames } from './describe.js';
import { partitionPermitted } from './name-constraints.js';
import { assertPermitted, normalizeNames, PrivateCa, PrivateCaError } from './private-ca.js';
import { StoreWatch } from './store-watch.js';

export interface PrivateCaCertificateOptions {
  /** Where the CA and the server certificate live (the asset store). */
  kv: KeyValueStore;
  locker: Locker;
  /** How often the store is checked for a server certificate another replica issued. Default 5 s. */
  storeCheckMs?: number;
  /** DNS names and IP addresses of the registry (all become SANs); one outside the CA's name constraints stops start-up. */
  names: string[];
  /**
   * Names added by default (localhost, loopback addresses, the hostname): they become SANs too,
   * unless the CA's name constraints exclude them; then they are left out, with one warning.
   */
  optionalNames?: string[];
  validityMs: number;
  /** Used only when the CA does not exist yet and is created at start. */
  caValidityYears: number;
  permittedNames: string[];
  /** Renew when this fraction of the lifetime remains (default 1/3). */
  renewRemainingFraction?: number;
}

/** Timers cannot be longer than this (~24.8 days); a longer wait is done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class PrivateCaCertificates extends SwappableCertificate implements CertificateProvider {
  private ca: PrivateCa | undefined;
  /** The server certificate's names, known once the CA (and its constraints) is. */
  private names: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextRenewal: Date | undefined;
  private stopped = false;
  private readonly watch: StoreWatch;

  constructor(
    private readonly opts: PrivateCaCertificateOptions,
    private readonly log: Logger,
  ) {
    super();
    this.watch = new StoreWatch({
      modified: () => this.ca!.serverCertificateModified(),
      adopt: () => this.adoptStored(),
      intervalMs: opts.storeCheckMs ?? 5000,
      log,
    });
  }

  /** Throws when the CA cannot be loaded or created, or no certificate can be issued: start-up stops with the reason. */
  async start(): Promise<void> {
    const required = normalizeNames(this.opts.names);
    const optional = normalizeNames(this.opts.optionalNames ?? []).filter((n) => !required.includes(n));
    // A new CA must be able to sign the configured names: refused before it is written.
    const { ca, created } = await PrivateCa.loadOrCreate(this.opts.kv, this.opts.locker, {
      validityYears: this.opts.caValidityYears,
      permittedNames: this.opts.permittedNames,
      mustPermit: required,
    });
    this.ca = ca;
    for (const w of ca.warnings) this.log.warn(w);
    const info = ca.info();
    if (created) this.log.info({ ...info, location: ca.location }, 'created a private CA; clients trust it with "minato trust" or GET /ca.crt');
    else this.log.info({ subject: info.subject, fingerprintSha256: info.fingerprintSha256, notAfter: info.notAfter }, 'using the private CA');
    this.names = this.fitNames(required, optional);

    const seen = await ca.serverCertificateModified();
    const stored = await this.loadStored();
    if (stored.cert && !stored.reason) {
      this.cert = stored.cert;
      this.log.info(describeCertificate(stored.cert), 'serving the stored certificate');
    } else {
      if (stored.reason) this.log.info({ reason: stored.reason }, 'issuing a new server certificate');
      this.cert = await this.issueOnce(undefined);
    }
    this.schedule();
    this.watch.start(seen);
  }

  /**
   * The configured names, which the CA must permit, plus the default ones it permits; the
   * default ones it does not are left out with one warning (a constrained CA for "lan" cannot
   * sign "localhost", and nobody asked for localhost explicitly).
   */
  private fitNames(required: string[], optional: string[]): string[] {
    const permitted = this.ca!.permittedNames();
    assertPermitted(required, permitted, `the CA in ${this.ca!.location}`);
    const { inside, outside } = partitionPermitted(optional, permitted);
    if (outside.length > 0) {
      const constraints = this.ca!.permittedNamesText();
      this.log.warn(
        { leftOut: outside, constraints },
        `left out of the server certificate: ${outside.join(', ')}: the CA's name constraints (${constraints.join(', ')}) do not permit them. ` +
          'They are added by default (tls.ca.includeLoopback, tls.ca.includeHostname); set those to false to silence this, or use a CA whose constraints include them',
      );
    }
    const names = [...required, ...inside];
    if (names.length === 0) throw new PrivateCaError('no names for the server certificate: list the names clients use in tls.ca.names');
    return names;
  }

  /** The CA certificate clients must trust (PEM). */
  caCertificatePem(): string {
    if (!this.ca) throw new Error('the private CA is not loaded yet');
    return this.ca.certPem;
  }

  private async loadStored(): Promise<{ cert?: ServingCertificate; reason?: string }> {
    const stored = await this.ca!.loadServerCertificate();
    if (!stored) return { reason: 'no stored server certificate' };
    let cert: ServingCertificate;
    try {
      cert = assembleCertificate(stored.certPem, stored.keyPem, stored.certName, stored.keyName);
    } catch (err) {
      return { reason: `the stored certificate is unusable: ${(err as Error).message}` };
    }
    const caNode = new NodeX509(this.ca!.certPem);
    if (!cert.leaf.checkIssued(caNode) || !cert.leaf.verify(caNode.publicKey)) return { cert, reason: 'the stored certificate was issued by another CA' };
    const have = leafNames(cert);
    if ([...have].sort().join(',') !== [...this.names].sort().join(',')) return { cert, reason: `the configured names changed (certificate: ${have.join(', ')}; configured: ${this.names.join(', ')})` };
    if (Date.now() >= this.renewAt(cert).getTime()) return { cert, reason: 'the stored certificate is due for renewal' };
    return { cert };
  }

  /**
   * A new server certificate, issued under the fleet-wide lock, unless (re-checked under it)
   * the store already holds a good one other than `had`, the serial this replica decided to
   * replace: another replica issued it while this one waited.
   */
  private issueOnce(had: string | undefined): Promise<ServingCertificate> {
    return withLock(this.opts.locker, 'tls/ca/server', undefined, async () => {
      const stored = await this.loadStored();
      if (stored.cert && !stored.reason && stored.cert.leaf.serialNumber !== had) {
        this.watch.saw(await this.ca!.serverCertificateModified());
        this.log.info(describeCertificate(stored.cert), 'another replica already issued a new server certificate; serving it');
        return stored.cert;
      }
      const cert = await this.issue();
      this.watch.saw(await this.ca!.serverCertificateModified());
      return cert;
    });
  }

  /** The stored server certificate, when another replica put a good one there that expires no sooner than ours. */
  private async adoptStored(): Promise<boolean> {
    const stored = await this.loadStored();
    if (this.stopped || (stored.cert && stored.cert.leaf.serialNumber === this.cert?.leaf.serialNumber)) return true;
    if (!stored.cert || stored.reason) return false;
    if (this.cert && Date.parse(stored.cert.leaf.validTo) < Date.parse(this.cert.leaf.validTo)) return true;
    this.swapTo(stored.cert);
    this.log.info(describeCertificate(stored.cert), 'serving the server certificate another replica issued');
    this.schedule();
    return true;
  }

  private async issue(): Promise<ServingCertificate> {
    const issued = await this.ca!.issueServerCertificate(this.names, this.opts.validityMs);
    await this.ca!.saveServerCertificate(issued);
    const cert = assembleCertificate(issued.certPem, issued.keyPem, 'the issued server certificate', 'its key');
    this.log.info(describeCertificate(cert), 'issued a server certificate from the private CA');
    return cert;
  }

  private renewAt(cert: ServingCertificate): Date {
    const from = Date.parse(cert.leaf.validFrom);
    const to = Date.parse(cert.leaf.validTo);
    return new Date(to - (to - from) * (this.opts.renewRemainingFraction ?? 1 / 3));
  }

  private schedule(retryInMs?: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const at = retryInMs !== undefined ? new Date(Date.now() + retryInMs) : this.renewAt(this.cert!);
    this.nextRenewal = at;
    const wait = Math.max(0, at.getTime() - Date.now());
    this.timer = setTimeout(() => void (wait > MAX_TIMER_MS ? this.schedule() : this.renew()), Math.min(wait, MAX_TIMER_MS));
    this.timer.unref();
  }

  /** Issues a new server certificate now. */
  async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      const next = await this.issueOnce(this.cert?.leaf.serialNumber);
      if (this.stopped) return;
      if (next.leaf.serialNumber !== this.cert?.leaf.serialNumber) this.swapTo(next);
      this.schedule();
    } catch (err) {
      const message = this.recordFailure((err as Error).message);
      const lifetime = this.cert ? Date.parse(this.cert.leaf.validTo) - Date.parse(this.cert.leaf.validFrom) : 600_000;
      const retry = Math.max(1000, Math.min(600_000, lifetime / 20));
      this.log.error({ err: message, retryInSeconds: Math.round(retry / 1000) }, 'renewing the server certificate failed; still serving the current one');
      this.schedule(retry);
    }
  }

  status(): CertificateStatus {
    return {
      source: 'ca',
      names: this.cert ? leafNames(this.cert) : this.names,
      ...certificateFields(this.cert),
      nextRenewal: this.nextRenewal?.toISOString(),
      lastError: this.lastError,
    };
  }

  stop(): void {
    this.stopped = true;
    this.watch.stop();
    clearTimeout(this.timer);
  }
}

/** The SANs of a served certificate, normalized like the configured names. */
export function leafNames(cert: ServingCertificate): string[] {
  return normalizeNames(sanNames(cert.leaf));
}
