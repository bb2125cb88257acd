// ACME Renewal Information (RFC 9773): ask the CA when it wants this certificate renewed.
import * as x509 from '../x509.js';
import acme from 'acme-client';

/** The ARI certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial). */
export function ariCertId(leafPem: string): string | undefined {
  const cert = new x509.X509Certificate(leafPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return undefined;
  let serial = Buffer.from(cert.serialNumber.length % 2 ? `0${cert.serialNumber}` : cert.serialNumber, 'hex');
  if (serial[0]! >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}

/** The suggested window, or undefined when the CA has no ARI or does not know the certificate. */
export async function fetchRenewalWindow(directoryUrl: string, leafPem: string): Promise<{ start: number; end: number } | undefined> {
  const dir = (await acme.axios.get(directoryUrl)).data as { renewalInfo?: string };
  if (!dir.renewalInfo) return undefined;
  const id = ariCertId(leafPem);
  if (!id) return undefined;
  const res = await acme.axios.get(`${dir.renewalInfo.replace(/\/$/, '')}/${id}`, { validateStatus: () => true });
  const window = (res.data as { suggestedWindow?: { start?: string; end?: string } })?.suggestedWindow;
  if (res.status !== 200 || !window?.start || !window.end) return undefined;
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  return Number.isFinite(start) && Number.isFinite(end) ? { start, end } : undefined;
}
