// The seam between "where certificates come from" (files, ACME, the private CA) and the HTTPS
// listener that serves them. A provider owns its certificate's life (loading, renewing,
// reloading) and tells the listener when to swap; the listener knows nothing else about it.
import type { SecureContext } from 'node:tls';
import type { LoadedCertificate } from './cert-files.js';

export type ServingCertificate = LoadedCertificate;

export interface CertificateStatus {
  /** files | acme | ca */
  source: string;
  names: string[];
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  /** The certificate's key: `ECDSA P-256`, `RSA 2048`, `Ed25519`. */
  keyType?: string;
  /** ACME: the directory it orders from and the challenge types it may answer, in order. */
  acme?: { directory: string; challenges: string[] };
  /** Files: the certificate and key files it serves and watches. */
  files?: { cert: string; key: string };
  /** When the provider will next try to renew (ISO time), if it renews. */
  nextRenewal?: string;
  /** The last failure, kept until a success: shown by `minato cert status` and the API. */
  lastError?: { message: string; at: string };
  /** Failed renewals since start (a Prometheus counter). */
  renewalFailures?: number;
}

export interface CertificateProvider {
  /**
   * Loads or obtains the first certificate and starts background work (watching, renewing).
   * May resolve before a certificate exists (ACME while the CA is unreachable): the listener
   * then serves a placeholder and swaps as soon as onChange fires.
   */
  start(): Promise<void>;
  /** The certificate to serve now, or undefined while none exists yet. Cheap: no I/O. */
  current(): ServingCertificate | undefined;
  /** Called with every new certificate; the listener swaps its SecureContext. */
  onChange(listener: (cert: ServingCertificate) => void): void;
  /**
   * For TLS-ALPN-01 (RFC 8737): the challenge context to present to a client that offers only
   * the "acme-tls/1" protocol for `servername`, or undefined. Runs in every such handshake.
   */
  alpnChallengeContext?(servername: string): SecureContext | undefined;
  /** Obtains or issues a new certificate now (ACME order, private CA issuance). */
  renew?(): Promise<void>;
  /** Called after every attempt to obtain a certificate, successful or not (for status files). */
  onStatus?(listener: () => void): void;
  /** Called once the HTTPS port is listening (challenges answered on it can now be validated). */
  listening?(): void;
  status(): CertificateStatus;
  stop(): void;
}

/**
 * What every provider shares: the certificate served now, the last failure, and the listeners
 * to tell when a new certificate takes over.
 */
export abstract class SwappableCertificate {
  protected cert: ServingCertificate | undefined;
  protected lastError: CertificateStatus['lastError'];
  private readonly listeners: Array<(c: ServingCertificate) => void> = [];

  current(): ServingCertificate | undefined {
    return this.cert;
  }

  onChange(listener: (cert: ServingCertificate) => void): void {
    this.listeners.push(listener);
  }

  /** Serves `next` from now on: clears the last failure and tells the listeners to swap. */
  protected swapTo(next: ServingCertificate): void {
    this.cert = next;
    this.lastError = undefined;
    for (const l of this.listeners) l(next);
  }

  /** Keeps a failure for status() until the next success; returns its message for the log. */
  protected recordFailure(message: string): string {
    this.lastError = { message, at: new Date().toISOString() };
    return message;
  }
}
