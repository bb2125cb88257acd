// Log fields that describe a certificate (never the key).
import type { LoadedCertificate } from './cert-files.js';

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
