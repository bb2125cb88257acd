// What a certificate says about itself, in the forms logs, status and comparisons need.
import type { X509Certificate } from 'node:crypto';
import type { LoadedCertificate } from './cert-files.js';
import type { CertificateStatus } from './certificate-provider.js';

/** Log fields that describe a certificate (never the key). */
export function describeCertificate(c: LoadedCertificate): Record<string, unknown> {
  return {
    subject: c.leaf.subject.replace(/\n/g, ', '),
    names: c.leaf.subjectAltName,
    issuer: c.leaf.issuer.replace(/\n/g, ', '),
    serial: c.leaf.serialNumber,
    notAfter: new Date(c.leaf.validTo).toISOString(),
    chainLength: c.chain.length,
  };
}

/**
 * The DNS names and IP addresses (canonical text form, lowercase) of a certificate's SAN
 * extension. Node prints IPv6 SANs fully expanded ("0:0:0:0:0:0:0:1"); URL parsing compresses them.
 */
export function sanNames(leaf: X509Certificate): string[] {
  return (leaf.subjectAltName ?? '')
    .split(', ')
    .flatMap((entry) => {
      if (entry.startsWith('DNS:')) return [entry.slice(4).toLowerCase()];
      if (entry.startsWith('IP Address:')) {
        const ip = entry.slice(11);
        return [ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip];
      }
      return [];
    });
}

/** The status fields every provider reports for the certificate it serves. */
export function certificateFields(cert: LoadedCertificate | undefined): Pick<CertificateStatus, 'issuer' | 'serial' | 'notBefore' | 'notAfter' | 'keyType'> {
  const leaf = cert?.leaf;
  if (!leaf) return {};
  return {
    issuer: leaf.issuer.replace(/\n/g, ', '),
    serial: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    keyType: keyType(leaf),
  };
}

/** The public key's kind as people name it: `ECDSA P-256`, `RSA 2048`, `Ed25519`. */
export function keyType(leaf: X509Certificate): string {
  const key = leaf.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      return `ECDSA ${{ prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[curve] ?? curve}`;
    }
    case 'rsa':
    case 'rsa-pss':
      return `RSA ${details.modulusLength ?? ''}`.trim();
    case 'ed25519':
      return 'Ed25519';
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}
