// Renewals an operator asks for (POST /api/v1/certificate/renew, `minato cert renew`): at most
// one per tls.manualRenewalIntervalSeconds. Each one may order a new certificate from a public
// CA whose rate limits (Let's Encrypt: 5 identical certificates a week) the automatic renewals
// need too; the automatic schedule and its retry backoff are not affected by this limit.
import type { CertificateProvider, CertificateStatus } from './certificate-provider.js';

export type ManualRenewalResult =
  | { started: true }
  | { started: false; reason: 'unsupported'; message: string }
  | { started: false; reason: 'throttled'; retryAfterSeconds: number; message: string };

/** Whether the provider itself would renew now: no certificate, a failed attempt, or past its renewal time. */
export function isRenewalDue(status: Pick<CertificateStatus, 'notAfter' | 'lastError' | 'nextRenewal'>, now = Date.now()): boolean {
  return !status.notAfter || status.lastError !== undefined || (status.nextRenewal !== undefined && Date.parse(status.nextRenewal) <= now);
}

export class ManualRenewal {
  private lastStartedAt: number | undefined;

  constructor(
    private readonly provider: CertificateProvider,
    /** Least time between two manual renewals; 0: no limit. */
    private readonly minIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a renewal in the background (its outcome shows in the provider's status), or says why not. */
  request(): ManualRenewalResult {
    const renew = this.provider.renew?.bind(this.provider);
    if (!renew) {
      return { started: false, reason: 'unsupported', message: `certificates from ${this.provider.status().source} are not renewed by minato: replace the files` };
    }
    const now = this.now();
    if (this.lastStartedAt !== undefined && now - this.lastStartedAt < this.minIntervalMs) {
      const retryAfterSeconds = Math.ceil((this.lastStartedAt + this.minIntervalMs - now) / 1000);
      return {
        started: false,
        reason: 'throttled',
        retryAfterSeconds,
        message: `a renewal was asked for ${Math.floor((now - this.lastStartedAt) / 1000)} s ago; the next one is allowed in ${retryAfterSeconds} s (tls.manualRenewalIntervalSeconds: ${this.minIntervalMs / 1000})`,
      };
    }
    this.lastStartedAt = now;
    void renew(); // failures are recorded in the provider's status (lastError) and logged there
    return { started: true };
  }
}
