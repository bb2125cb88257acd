// Certificates that take care of themselves: the CertificateProvider for tls.mode "acme".
// On start it serves the stored certificate when it is still good for the configured names
// (never re-ordering at each start: CAs rate-limit), else orders one in the background while
// the server stays up. It renews ahead of expiry, keeps serving the current certificate when a
// renewal fails, retries with backoff, and makes every failure loud (log, status, metrics).
//
// In a fleet every replica runs one, on a shared store and locker (certmagic's renewCert): an
// order happens under the lock tls/acme/<id>, and whoever gets the lock first reloads the store
// and re-checks whether the order is still needed, so of several replicas due at once exactly
// one orders and the others take its certificate. Replicas also poll the store (StoreWatch) and
// swap to a certificate another one obtained within tls.reloadCheckSeconds.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Locker } from '../../coordination/coordination.js';
import { withLock } from '../../coordination/open.js';
import { assembleCertificate, CertificateError, isAnchored, type LoadedCertificate } from '../cert-files.js';
import { SwappableCertificate, type CertificateProvider, type CertificateStatus, type ServingCertificate } from '../certificate-provider.js';
import { CertStore } from '../cert-store.js';
import { certificateFields, describeCertificate, sanNames } from '../describe.js';
import { describe, type AcmeIssuer } from './acme-issuer.js';
import { fetchRenewalWindow } from './ari.js';
import { StoreWatch } from '../store-watch.js';
import { renewalTime, retryDelay } from './renewal-policy.js';
import type { TlsAlpn01Solver } from './solvers.js';

export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-4096';

export interface AcmeCertificatesOptions {
  names: string[];
  directoryUrl: string;
  /** The challenge types the issuer may answer, in order (for the status). */
  challenges: string[];
  keyType: KeyType;
  store: CertStore;
  /** Orders are taken under this fleet-wide lock (one replica orders, the others reload). */
  locker: Locker;
  /** How often the store is checked for a certificate another replica obtained. Default 5 s. */
  storeCheckMs?: number;
  issuer: AcmeIssuer;
  alpnSolver?: TlsAlpn01Solver;
  renewBeforeMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Extra trust anchors the issued chain must validate to (e.g. a private ACME CA's root). */
  trustedRoots?: string[];
  log: Logger;
}

export class AcmeCertificates extends SwappableCertificate implements CertificateProvider {
  private readonly statusListeners: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private nextAttempt: number | undefined;
  private inFlight: Promise<void> | undefined;
  private consecutiveFailures = 0;
  private totalFailures = 0;
  private readonly abort = new AbortController();
  private readonly id: string;
  private needsFirstOrder = false;
  private readonly watch: StoreWatch;

  constructor(private readonly opts: AcmeCertificatesOptions) {
    super();
    this.id = CertStore.idFor(opts.names);
    this.watch = new StoreWatch({
      modified: () => opts.store.modified(this.id),
      adopt: () => this.adoptStored(),
      intervalMs: opts.storeCheckMs ?? 5000,
      log: opts.log,
    });
  }

  async start(): Promise<void> {
    // A store that cannot be read now is not a reason to stop: the order (under the lock)
    // re-checks it, and fails and retries rather than order while the store is unreadable.
    const unreadable = (err: Error) => {
      this.opts.log.error({ err: err.message }, 'the certificate store cannot be read; ordering a certificate once it can');
      return undefined;
    };
    const seen = await this.opts.store.modified(this.id).catch(unreadable);
    const stored = await this.loadUsable(true).catch(unreadable);
    if (stored) {
      this.cert = stored;
      this.opts.log.info(describeCertificate(stored), 'serving the stored ACME certificate');
      await this.scheduleRenewal();
    } else {
      this.opts.log.warn({ names: this.opts.names }, 'no certificate yet: ordering one from the ACME CA; HTTPS serves a placeholder until then');
      this.needsFirstOrder = true;
    }
    this.watch.start(seen);
  }

  /**
   * The stored certificate when it can be served for the configured names and CA, else
   * undefined. Content that cannot be used (damaged, or parts of two saves read in between)
   * counts as none; a store that cannot be read throws, so that nobody orders because of it.
   */
  private async loadUsable(logUnusable = false): Promise<LoadedCertificate | undefined> {
    const stored = await this.opts.store.load(this.id).catch((err: Error) => {
      if (!(err instanceof CertificateError || err instanceof SyntaxError)) throw err;
      if (logUnusable) this.opts.log.error({ err: err.message }, 'stored certificate is unreadable; a new one will be ordered');
      return undefined;
    });
    const usable = stored && this.covers(stored.cert.leaf) && Date.parse(stored.cert.leaf.validTo) > Date.now() && stored.meta.directory === this.opts.directoryUrl;
    return usable ? stored.cert : undefined;
  }

  /** Whether `cert` is due for renewal by the lifetime rule (without jitter: the latest moment). */
  private isDue(cert: LoadedCertificate): boolean {
    return Date.now() >= renewalTime(cert.leaf, { renewBeforeMs: this.opts.renewBeforeMs, random: () => 0 });
  }

  /**
   * The store's certificate, when another replica put a different one there that expires no
   * sooner than ours (never back to an older one): served from now on.
   */
  private async adoptStored(): Promise<boolean> {
    const stored = await this.loadUsable();
    if (!stored) return false;
    if (this.cert && (stored.leaf.serialNumber === this.cert.leaf.serialNumber || Date.parse(stored.leaf.validTo) < Date.parse(this.cert.leaf.validTo))) return true;
    await this.adopt(stored, 'ACME: serving the certificate another replica obtained');
    return true;
  }

  private async adopt(cert: LoadedCertificate, message: string): Promise<void> {
    this.needsFirstOrder = false;
    this.consecutiveFailures = 0;
    this.swapTo(cert);
    this.opts.log.info(describeCertificate(cert), message);
    await this.scheduleRenewal();
    for (const l of this.statusListeners) l();
  }

  listening(): void {
    if (this.needsFirstOrder) {
      this.needsFirstOrder = false;
      this.schedule(0);
    }
  }

  /** Whether a certificate's SANs are exactly the configured names. */
  private covers(leaf: X509Certificate): boolean {
    const sans = sanNames(leaf);
    const want = this.opts.names.map((n) => n.toLowerCase());
    return want.length === sans.length && want.every((n) => sans.includes(n));
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.nextAttempt = Date.now() + delayMs;
    // setTimeout holds at most ~24.8 days; longer waits are re-checked then.
    const wait = Math.min(Math.max(0, delayMs), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      if (Date.now() + 1000 < this.nextAttempt!) this.schedule(this.nextAttempt! - Date.now());
      else void this.renew();
    }, wait);
    this.timer.unref();
  }

  private async scheduleRenewal(): Promise<void> {
    const leaf = this.cert!.leaf;
    let ariWindow: { start: number; end: number } | undefined;
    try {
      ariWindow = await fetchRenewalWindow(this.opts.directoryUrl, this.cert!.chain[0]!.toString());
    } catch (err) {
      this.opts.log.debug({ err: describe(err) }, 'ACME renewal information unavailable; using the lifetime rule');
    }
    const at = renewalTime(leaf, { renewBeforeMs: this.opts.renewBeforeMs, ariWindow });
    this.schedule(at - Date.now());
    this.opts.log.info({ names: this.opts.names, renewAt: new Date(Math.max(at, Date.now())).toISOString(), ari: Boolean(ariWindow) }, 'certificate renewal scheduled');
  }

  /** Orders a new certificate now (deduplicated: concurrent calls share one order). */
  renew(): Promise<void> {
    this.inFlight ??= this.obtain().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async obtain(): Promise<void> {
    try {
      await this.attempt();
    } finally {
      for (const l of this.statusListeners) l();
    }
  }

  private async attempt(): Promise<void> {
    const log = this.opts.log;
    const had = this.cert?.leaf.serialNumber;
    try {
      await withLock(this.opts.locker, `tls/acme/${this.id}`, this.abort.signal, async (lease) => {
        // Re-check under the lock: another replica may have renewed while this one waited.
        const stored = await this.loadUsable();
        if (stored && stored.leaf.serialNumber !== had && !this.isDue(stored)) {
          log.info({ names: this.opts.names, serial: stored.leaf.serialNumber }, 'ACME: another replica already obtained a new certificate; not ordering');
          this.watch.saw(await this.opts.store.modified(this.id));
          // The store watch may have swapped to it while this replica waited for the lock.
          if (stored.leaf.serialNumber !== this.cert?.leaf.serialNumber) await this.adopt(stored, 'ACME: serving the certificate another replica obtained');
          else await this.scheduleRenewal();
          return;
        }
        log.info({ names: this.opts.names, directory: this.opts.directoryUrl }, 'ACME: ordering a certificate');
        const started = Date.now();
        const keyPem = newKey(this.opts.keyType);
        // Stops when the server stops, or when the lock is lost (another replica may order then).
        const chainPem = await this.opts.issuer.obtain(this.opts.names, keyPem, AbortSignal.any([this.abort.signal, lease.signal]));
        const cert = assembleCertificate(chainPem, keyPem, 'certificate from the ACME CA', 'generated key');
        this.verifyChain(cert);
        await this.opts.store.save(this.id, cert.certPem, cert.keyPem, {
          names: this.opts.names,
          directory: this.opts.directoryUrl,
          obtainedAt: new Date().toISOString(),
        });
        this.watch.saw(await this.opts.store.modified(this.id));
        this.consecutiveFailures = 0;
        this.swapTo(cert);
        log.info({ ...describeCertificate(cert), seconds: Math.round((Date.now() - started) / 100) / 10 }, 'ACME: certificate obtained and now served');
        await this.scheduleRenewal();
      });
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.consecutiveFailures++;
      this.totalFailures++;
      const message = this.recordFailure(describe(err));
      const delay = retryDelay(this.consecutiveFailures, { minMs: this.opts.retryMinMs, maxMs: this.opts.retryMaxMs });
      log.error(
        { names: this.opts.names, err: message, failures: this.consecutiveFailures, retryInSeconds: Math.round(delay / 1000), serving: this.cert ? 'the current certificate' : 'a placeholder (clients will not trust it)' },
        'ACME: could not obtain a certificate; will retry',
      );
      this.schedule(delay);
    }
  }

  /** The chain must be in order and end at a trusted root: the system's or a configured one. */
  private verifyChain(cert: ServingCertificate): void {
    const top = cert.chain[cert.chain.length - 1]!;
    if (!isAnchored(top, this.opts.trustedRoots)) {
      const msg = `the chain from the ACME CA does not lead to a trusted root (top: ${top.subject.replace(/\n/g, ', ')}, issued by ${top.issuer.replace(/\n/g, ', ')})`;
      if (this.opts.trustedRoots?.length) throw new Error(msg);
      this.opts.log.warn(`${msg}; clients may not trust it (set tls.acme.trustedRoots for a private CA)`);
    }
  }

  onStatus(listener: () => void): void {
    this.statusListeners.push(listener);
  }

  alpnChallengeContext(servername: string): tls.SecureContext | undefined {
    return this.opts.alpnSolver?.contextFor(servername);
  }

  status(): CertificateStatus & { ordering: boolean } {
    return {
      source: 'acme',
      names: this.opts.names,
      ...certificateFields(this.cert),
      acme: { directory: this.opts.directoryUrl, challenges: this.opts.challenges },
      nextRenewal: this.nextAttempt ? new Date(this.nextAttempt).toISOString() : undefined,
      lastError: this.lastError,
      renewalFailures: this.totalFailures,
      ordering: this.inFlight !== undefined,
    };
  }

  stop(): void {
    this.abort.abort();
    this.watch.stop();
    clearTimeout(this.timer);
  }
}

function newKey(type: KeyType): string {
  const pair =
    type === 'ecdsa-p256' || type === 'ecdsa-p384'
      ? generateKeyPairSync('ec', { namedCurve: type === 'ecdsa-p256' ? 'P-256' : 'P-384' })
      : generateKeyPairSync('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : 4096 });
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
