// What a certificate says about itself, in the forms logs, status and comparisons need.
import type { X509Certificate } from 'node:crypto';
import type { LoadedCertificate } from './cert-files.js';
import type { CertificateStatus } from './certificate-provider.js';
import * as x509 from './x509.js';

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

/** The DNS names and IP addresses (in canonical text form) of a certificate's SAN extension. */
export function sanNames(leaf: X509Certificate): string[] {
  const san = new x509.X509Certificate(leaf.raw).getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.items ?? []).filter((n) => n.type === 'dns' || n.type === 'ip').map((n) => n.value.toLowerCase());
}

/** The status fields every provider reports for the certificate it serves. */
export function certificateFields(cert: LoadedCertificate | undefined): Pick<CertificateStatus, 'issuer' | 'serial' | 'notBefore' | 'notAfter'> {
  const leaf = cert?.leaf;
  if (!leaf) return {};
  return {
    issuer: leaf.issuer.replace(/\n/g, ', '),
    serial: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
  };
}
