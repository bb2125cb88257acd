// Certificates from PEM files on disk, re-read when they change (polled: replacing files by
// rename, as certbot and config managers do, is seen too).
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { loadCertificateFiles } from './cert-files.js';
import { SwappableCertificate, type CertificateProvider, type CertificateStatus, type ServingCertificate } from './certificate-provider.js';
import { certificateFields, describeCertificate, sanNames } from './describe.js';

export interface FileCertificateOptions {
  cert: string;
  key: string;
  reloadCheckSeconds: number;
}

export class FileCertificates extends SwappableCertificate implements CertificateProvider {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    private readonly opts: FileCertificateOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Throws CertificateError for unusable files: start-up stops with the reason. */
  async start(): Promise<void> {
    this.cert = await this.load();
    this.log.info(describeCertificate(this.cert), 'serving certificate');
    let lastSeen = await this.fingerprint();
    let checking = false;
    this.timer = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        const now = await this.fingerprint();
        if (now === lastSeen) return;
        lastSeen = now;
        const next = await this.load();
        this.swapTo(next);
        this.log.info(describeCertificate(next), 'certificate files changed; new connections get the new certificate');
      } catch (err) {
        // E.g. the cert was replaced before the key: the next change of either file retries.
        const message = this.recordFailure((err as Error).message);
        this.failures++;
        this.log.error({ err: message }, 'certificate files changed but cannot be used; still serving the previous certificate');
      } finally {
        checking = false;
      }
    }, Math.max(1, this.opts.reloadCheckSeconds) * 1000);
    this.timer.unref();
  }

  private async load(): Promise<ServingCertificate> {
    const cert = await loadCertificateFiles(this.opts.cert, this.opts.key);
    for (const w of cert.warnings) this.log.warn(w);
    return cert;
  }

  private async fingerprint(): Promise<string> {
    const parts = await Promise.all(
      [this.opts.cert, this.opts.key].map(async (f) => {
        const s = await stat(f).catch(() => undefined);
        return s ? `${s.mtimeMs}:${s.size}:${s.ino}` : 'missing';
      }),
    );
    return parts.join('|');
  }

  status(): CertificateStatus {
    return {
      source: 'files',
      names: this.cert ? sanNames(this.cert.leaf) : [],
      ...certificateFields(this.cert),
      files: { cert: this.opts.cert, key: this.opts.key },
      lastError: this.lastError,
      renewalFailures: this.failures,
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
