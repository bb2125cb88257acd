// The certificate half of Notary Project verification (signature-specification.md "Certificate
// Requirements", trust-store-trust-policy.md "Signature Verification"): the chain a signature
// carries must be well formed leaf first, every certificate signed by the next, its last one a
// root that the project's trust store holds (of the kind the signing scheme names), each
// certificate fit for its place (leaf: code signing; the others: CAs), valid when it was used;
// and the leaf's subject must match one of the trusted identities.
//
// Pure computation: parsing with @peculiar/x509 (extensions, names), signatures with
// node:crypto's X509Certificate. Every failure is a sentence for `VerificationResult.reason`.
import { X509Certificate as NodeCertificate, type KeyObject } from 'node:crypto';
import * as x509 from '../tls/x509.js';

/** One certificate of a chain, parsed once by both libraries. */
export interface ChainCertificate {
  der: Buffer;
  node: NodeCertificate;
  parsed: x509.X509Certificate;
}

/** A chain check's outcome: the leaf (for its key and subject) or why the chain does not count. */
export type ChainResult = { ok: true; leaf: ChainCertificate } | { ok: false; reason: string };

export type TrustStoreKind = 'ca' | 'signingAuthority';

/** Extended key usages a signing certificate must not have (signature-specification.md "Leaf Certificates"). */
const FORBIDDEN_EKU: Record<string, string> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
};
/** Key usages a signing certificate must not have (the same section): only digitalSignature (and nonRepudiation). */
const FORBIDDEN_KU =
  x509.KeyUsageFlags.keyEncipherment |
  x509.KeyUsageFlags.dataEncipherment |
  x509.KeyUsageFlags.keyAgreement |
  x509.KeyUsageFlags.keyCertSign |
  x509.KeyUsageFlags.cRLSign |
  x509.KeyUsageFlags.encipherOnly |
  x509.KeyUsageFlags.decipherOnly;

/**
 * Parsed certificates by their DER bytes, so that a signer's chain and a project's trust store are
 * parsed once, not at every verification (@peculiar/x509 takes ~9 ms per certificate; a
 * certificate never changes). Bounded: the oldest entry goes first.
 */
export class CertificateCache {
  private readonly entries = new Map<string, ChainCertificate>();

  constructor(private readonly max = 512) {}

  /** The parsed certificate (DER, or PEM text); throws if it is not one. */
  parse(input: Buffer | string): ChainCertificate {
    const key = typeof input === 'string' ? input : input.toString('base64');
    let cert = this.entries.get(key);
    if (!cert) {
      const node = new NodeCertificate(input);
      cert = { der: node.raw, node, parsed: new x509.X509Certificate(new Uint8Array(node.raw)) };
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, cert);
    }
    return cert;
  }

  /** Parses DER certificates; undefined if one of them is not a certificate. */
  chain(ders: Buffer[]): ChainCertificate[] | undefined {
    try {
      return ders.map((der) => this.parse(der));
    } catch {
      return undefined;
    }
  }

  /** Parses the PEM certificates of a trust store of one kind, skipping the ones that do not parse. */
  trustStore(certificates: ReadonlyArray<{ name: string; pem: string; kind: TrustStoreKind }>, kind: TrustStoreKind): ChainCertificate[] {
    const out: ChainCertificate[] = [];
    for (const c of certificates) {
      if (c.kind !== kind) continue;
      try {
        out.push(this.parse(c.pem));
      } catch {
        // A broken trust-store entry trusts nothing; the trust policy's own validation reports it.
      }
    }
    return out;
  }
}

/**
 * Checks the chain (leaf first) against the trust store: complete up to a self-signed root, every
 * certificate fit for its place and valid at each of `times`, and one of its certificates in the
 * trust store (trust-store-trust-policy.md: the chain "leads to a trusted certificate present in
 * the named store"; usually the root, possibly an intermediate).
 */
export function checkChain(chain: ChainCertificate[], trusted: ChainCertificate[], times: ReadonlyArray<readonly [Date, string]>): ChainResult {
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: 'the signature carries no certificate chain' };
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const role = i === 0 ? 'the signing certificate' : `certificate ${i + 1} of the chain`;
    const fit = i === 0 ? leafProblem(cert, chain.length === 1) : caProblem(cert, i - 1);
    if (fit) return { ok: false, reason: `${role} (${cert.parsed.subject}) ${fit}` };
    const key = keyProblem(cert.node.publicKey);
    if (key) return { ok: false, reason: `${role} (${cert.parsed.subject}) ${key}` };
    if (isSha1(cert)) return { ok: false, reason: `${role} (${cert.parsed.subject}) is signed with SHA-1, which Notary Project signatures do not accept` };
    for (const [at, what] of times) {
      if (at < cert.parsed.notBefore || at > cert.parsed.notAfter) {
        return { ok: false, reason: `${role} (${cert.parsed.subject}) is not valid ${what} (${at.toISOString()}): valid from ${cert.parsed.notBefore.toISOString()} to ${cert.parsed.notAfter.toISOString()}` };
      }
    }
    const issuer = chain[i + 1] ?? cert; // the last one must be a root: signed by itself
    // A self-signed signing certificate (a root-only chain) has no keyCertSign, which OpenSSL's
    // checkIssued demands of an issuer: its own names and its own signature decide instead.
    const named = issuer === cert ? cert.node.issuer === cert.node.subject : cert.node.checkIssued(issuer.node);
    if (!named || !cert.node.verify(issuer.node.publicKey)) {
      return {
        ok: false,
        reason: issuer === cert ? `the chain does not end in a root: ${cert.parsed.subject} is not self-signed` : `${role} (${cert.parsed.subject}) is not signed by the next certificate (${issuer.parsed.subject})`,
      };
    }
  }
  if (!chain.some((c) => trusted.some((t) => t.der.equals(c.der)))) {
    return { ok: false, reason: `no certificate of the chain (up to ${chain[chain.length - 1]!.parsed.subject}) is in the project's trust store` };
  }
  return { ok: true, leaf };
}

/** Why the leaf may not sign (code signing only, no CA), or undefined. */
function leafProblem(cert: ChainCertificate, alsoRoot: boolean): string | undefined {
  const bc = cert.parsed.getExtension(x509.BasicConstraintsExtension);
  // A root-only chain: the one certificate is its own root and must meet the leaf's rules.
  if (bc?.ca && !alsoRoot) return 'is a CA certificate, not a signing certificate';
  if (bc?.ca && alsoRoot) return 'is a CA certificate; a self-signed signing certificate must not be a CA';
  const ku = cert.parsed.getExtension(x509.KeyUsagesExtension);
  if (!ku || !ku.critical) return 'lacks the critical keyUsage extension a signing certificate needs';
  if (!(ku.usages & x509.KeyUsageFlags.digitalSignature)) return 'is not allowed digitalSignature by its keyUsage';
  if (ku.usages & FORBIDDEN_KU) return 'has a keyUsage beyond digitalSignature (keyEncipherment, keyAgreement, keyCertSign, cRLSign, ...), which a signing certificate must not';
  // An extended key usage is optional and may name codeSigning; TLS, mail and timestamping ones are refused.
  const eku = cert.parsed.getExtension(x509.ExtendedKeyUsageExtension);
  const forbidden = eku?.usages.map(String).find((u) => FORBIDDEN_EKU[u]);
  if (forbidden) return `has extended key usage ${FORBIDDEN_EKU[forbidden]}, which a code signing certificate must not`;
  return undefined;
}

/** Why a certificate may not issue the one below it, or undefined. `below`: CAs under it in the chain. */
function caProblem(cert: ChainCertificate, below: number): string | undefined {
  const bc = cert.parsed.getExtension(x509.BasicConstraintsExtension);
  if (!bc || !bc.critical || !bc.ca) return 'is not a CA (basicConstraints must be critical with cA true)';
  if (bc.pathLength !== undefined && below > bc.pathLength) return `allows ${bc.pathLength} CAs below it (pathLenConstraint), the chain has ${below}`;
  const ku = cert.parsed.getExtension(x509.KeyUsagesExtension);
  if (!ku || !ku.critical || !(ku.usages & x509.KeyUsageFlags.keyCertSign)) return 'lacks the critical keyUsage keyCertSign a CA needs';
  return undefined;
}

/** SHA1WithRSA and ECDSAWithSHA1 are refused anywhere in the chain (signature-specification.md). */
function isSha1(cert: ChainCertificate): boolean {
  const alg = cert.parsed.signatureAlgorithm as { hash?: { name?: string } } | undefined;
  return alg?.hash?.name?.toUpperCase() === 'SHA-1';
}

/** Key sizes below the specification's minimum (RSA 2048, EC 256). */
function keyProblem(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return (d.modulusLength ?? 0) < 2048 ? `has an RSA key of ${d.modulusLength} bits, below the 2048 required` : undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    return ['prime256v1', 'secp384r1', 'secp521r1'].includes(d.namedCurve ?? '') ? undefined : `has an EC key on ${d.namedCurve}, not P-256, P-384 or P-521`;
  }
  return `has a ${key.asymmetricKeyType} key, which Notary Project signatures do not use`;
}

/** The signature algorithm a key must use (signature-specification.md "Algorithm Selection"). */
export function algorithmForKey(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as Record<number, string>)[d.modulusLength ?? 0];
  }
  if (key.asymmetricKeyType === 'ec') return ({ prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as Record<string, string>)[d.namedCurve ?? ''];
  return undefined;
}

/**
 * Whether the leaf's subject matches one of the trusted identities: `*`, or `x509.subject: DN`
 * whose every attribute the subject has with the same value (trust-store-trust-policy.md
 * "Trusted Identities Constraints": a full or partial list of the subject's RDNs, which must
 * include C, ST and O; attribute types compare case-insensitively, values exactly, RFC 4514
 * escapes as @peculiar/x509 parses them). Malformed identities, and ones without C, ST and O,
 * match nothing.
 */
export function matchesIdentity(leaf: ChainCertificate, identities: readonly string[]): boolean {
  const subject = attributes(leaf.parsed.subjectName);
  for (const identity of identities) {
    if (identity.trim() === '*') return true;
    const m = /^\s*x509\.subject\s*:\s*(.+)$/.exec(identity);
    if (!m) continue;
    let wanted: Map<string, string[]>;
    try {
      wanted = attributes(new x509.Name(m[1]!.trim()));
    } catch {
      continue;
    }
    if (!REQUIRED_RDNS.every((type) => wanted.has(type))) continue;
    const all = [...wanted].every(([type, values]) => values.every((v) => subject.get(type)?.includes(v)));
    if (all) return true;
  }
  return false;
}

const REQUIRED_RDNS = ['C', 'ST', 'O'];

function attributes(name: x509.Name): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rdn of name.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      const key = type.toUpperCase();
      out.set(key, [...(out.get(key) ?? []), ...values]);
    }
  }
  return out;
}
