// Loads a certificate chain and key from PEM files the way people actually have them: CRLF line
// endings, certificates glued together without a newline, the chain in the wrong order, an extra
// unrelated certificate. It serves leaf + full chain in the right order, refuses a key that
// matches no certificate, and says plainly when the chain looks incomplete or expired.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';

export interface LoadedCertificate {
  /** Leaf first, then each issuer in order; normalized PEM. */
  certPem: string;
  keyPem: string;
  leaf: X509Certificate;
  chain: X509Certificate[];
  warnings: string[];
}

export class CertificateError extends Error {}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** Splits any PEM text into normalized certificate blocks (CRLF and missing newlines tolerated). */
export function splitPemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_CERT_RE)].map((m) => {
    const body = m[1]!.replace(/[^A-Za-z0-9+/=]/g, '');
    const lines = body.match(/.{1,64}/g) ?? [];
    return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
  });
}

let publicRoots: X509Certificate[] | undefined;

/**
 * Whether `cert` is, or is signed by, one of Node's public roots or of `extraRoots` (PEM).
 * The public roots are parsed once per process.
 */
export function isAnchored(cert: X509Certificate, extraRoots: string[] = []): boolean {
  publicRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  const roots = extraRoots.length ? [...publicRoots, ...extraRoots.map((pem) => new X509Certificate(pem))] : publicRoots;
  return roots.some((r) => r.fingerprint256 === cert.fingerprint256 || (cert.checkIssued(r) && cert.verify(r.publicKey)));
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

export function assembleCertificate(certText: string, keyText: string, certName: string, keyName: string): LoadedCertificate {
  const blocks = splitPemCertificates(certText);
  if (blocks.length === 0) throw new CertificateError(`${certName} contains no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw new CertificateError(`${certName} holds a certificate that cannot be parsed: ${(err as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(keyText.replace(/\r\n/g, '\n'));
  } catch (err) {
    throw new CertificateError(`${keyName} is not a readable PEM private key: ${(err as Error).message}`);
  }
  const leafIndex = certs.findIndex((c) => c.checkPrivateKey(key));
  if (leafIndex === -1) {
    throw new CertificateError(`the key in ${keyName} does not match any certificate in ${certName} (wrong key file, or a certificate from an older order?)`);
  }
  const warnings: string[] = [];
  const leaf = certs[leafIndex]!;
  const rest = certs.filter((_, i) => i !== leafIndex);
  if (leafIndex !== 0) warnings.push(`${certName}: the server certificate was not first; it is now served first`);

  // Follow issuers from the leaf; whatever is left does not belong to this chain.
  const chain = [leaf];
  for (;;) {
    const last = chain[chain.length - 1]!;
    if (isSelfSigned(last)) break;
    const next = rest.findIndex((c) => last.checkIssued(c) && last.verify(c.publicKey));
    if (next === -1) break;
    chain.push(rest.splice(next, 1)[0]!);
  }
  if (rest.length > 0) warnings.push(`${certName}: ${rest.length} certificate(s) not part of the server's chain were left out`);

  const top = chain[chain.length - 1]!;
  if (chain.length === 1 && !isSelfSigned(leaf) && !isAnchored(leaf)) {
    warnings.push(
      `${certName} holds only the server certificate, not its intermediate(s); clients will fail with ` +
        `"x509: certificate signed by unknown authority". Use the full chain (fullchain.pem with certbot).`,
    );
  } else if (!isSelfSigned(top) && chain.length > 1 && top.issuer === top.subject) {
    warnings.push(`${certName}: the last certificate claims to be a root but its signature does not verify`);
  }
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) warnings.push(`${certName}: the server certificate EXPIRED on ${leaf.validTo}`);
  else if (Date.parse(leaf.validFrom) > now) warnings.push(`${certName}: the server certificate is not valid before ${leaf.validFrom}`);

  return {
    certPem: chain.map((c) => c.toString()).join(''),
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    leaf,
    chain,
    warnings,
  };
}

export async function loadCertificateFiles(certFile: string, keyFile: string): Promise<LoadedCertificate> {
  const read = async (file: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new CertificateError(`cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return assembleCertificate(await read(certFile), await read(keyFile), certFile, keyFile);
}
