// Verifies Notary Project v1 signatures (formats `notation-jws` and `notation-cose`) against a
// project's trust material, in the order of trust-store-trust-policy.md "Signature Verification
// details": the envelope and its critical headers, integrity (the signature over the payload
// with the leaf's key, the algorithm the key requires), the payload's target is the subject,
// authenticity (the chain up to a root in the trust store of the signing scheme's kind, the
// certificates fit and valid, the leaf's subject a trusted identity), then expiry.
//
// What is not checked, and why: TSA timestamps (`io.cncf.notary.timestamp`) are not verified,
// so the certificates must be valid now as well as at the claimed signing time (the strict
// level's rule without a trusted timestamp); revocation (OCSP/CRL) is not checked (no network
// from a pull decision); the payload's `size` and `mediaType` are not compared with the subject,
// since the verifier is given only the subject's digest (a different manifest of the same
// digest cannot exist). Verification plugins (`io.cncf.notary.verificationPlugin`) are unknown
// critical headers here, so such signatures are invalid rather than half checked.
import type { FoundSignature, SignatureParts, SignatureVerifier, TrustMaterial, VerificationResult } from './signatures.js';
import { algorithmForKey, CertificateCache, checkChain, matchesIdentity, type TrustStoreKind } from './notation-certificates.js';
import { EnvelopeError, KNOWN_CRITICAL, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY, HEADER_SIGNING_SCHEME, NOTARY_PAYLOAD_TYPE, parseCose, parseJws, type NotationEnvelope } from './notation-envelope.js';

export const MEDIA_TYPE_JWS = 'application/jose+json';
export const MEDIA_TYPE_COSE = 'application/cose';
/** An envelope larger than this is refused unread (real ones are a few kilobytes). */
const MAX_ENVELOPE_BYTES = 1024 * 1024;
/** Longer chains are refused unparsed: each certificate costs a parse, and real chains have two or three. */
const MAX_CHAIN_LENGTH = 10;

const SCHEMES: Record<string, TrustStoreKind> = { 'notary.x509': 'ca', 'notary.x509.signingAuthority': 'signingAuthority' };

export interface NotationVerifierOptions {
  /** The clock (tests). */
  now?: () => Date;
}

export class NotationVerifier implements SignatureVerifier {
  readonly formats = ['notation-jws', 'notation-cose'] as const;
  private readonly now: () => Date;
  private readonly certificates = new CertificateCache();

  constructor(options: NotationVerifierOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  async verify(signature: FoundSignature, parts: SignatureParts, subjectDigest: string, material: TrustMaterial): Promise<VerificationResult> {
    const refuse = (reason: string, signer?: string): VerificationResult => ({ format: signature.format, signatureDigest: signature.digest, verified: false, reason, signer });
    try {
      return await this.check(signature, parts, subjectDigest, material, refuse);
    } catch (err) {
      // The contract: never a throw for bad input. Anything unforeseen is an invalid signature.
      return refuse(err instanceof EnvelopeError ? err.message : `the signature could not be verified: ${(err as Error).message}`);
    }
  }

  private async check(
    signature: FoundSignature,
    parts: SignatureParts,
    subjectDigest: string,
    material: TrustMaterial,
    refuse: (reason: string, signer?: string) => VerificationResult,
  ): Promise<VerificationResult> {
    const mediaType = signature.format === 'notation-cose' ? MEDIA_TYPE_COSE : signature.format === 'notation-jws' ? MEDIA_TYPE_JWS : undefined;
    if (!mediaType) return refuse(`format ${signature.format} is not a Notary Project signature`);
    if (parts.layers.length !== 1) return refuse(`a Notary Project signature has exactly one layer (the envelope), this one has ${parts.layers.length}`);
    const layer = parts.layers[0]!;
    if (layer.mediaType !== mediaType) return refuse(`the envelope's media type is ${layer.mediaType}, not ${mediaType}`);
    if (layer.bytes.length > MAX_ENVELOPE_BYTES) return refuse(`the envelope is ${layer.bytes.length} bytes, more than the ${MAX_ENVELOPE_BYTES} accepted`);
    const env = mediaType === MEDIA_TYPE_COSE ? parseCose(layer.bytes) : parseJws(layer.bytes);

    const header = headerProblem(env);
    if (header) return refuse(header);
    const kind = SCHEMES[env.signingScheme as string]!;
    const signingTime = (kind === 'ca' ? env.signingTime : env.authenticSigningTime)!;

    if (env.chain.length > MAX_CHAIN_LENGTH) return refuse(`the certificate chain has ${env.chain.length} certificates, more than the ${MAX_CHAIN_LENGTH} accepted`);
    const chain = this.certificates.chain(env.chain);
    if (!chain || chain.length === 0) return refuse('the certificate chain of the envelope does not parse as X.509 certificates');
    const leaf = chain[0]!;
    const signer = leaf.parsed.subject;
    const expected = algorithmForKey(leaf.node.publicKey);
    if (env.alg !== expected) return refuse(`the envelope says alg ${env.alg}, but the signing certificate's key requires ${expected ?? 'an algorithm Notary Project does not define'}`, signer);
    if (!(await env.verifySignature(leaf.node.publicKey))) return refuse('the signature does not match the payload (envelope integrity): it was altered or made with another key', signer);

    const target = targetDigest(env.payload);
    if (target === undefined) return refuse(`the payload is not a Notary Project payload (${NOTARY_PAYLOAD_TYPE} with targetArtifact.digest)`, signer);
    if (target !== subjectDigest) return refuse(`the signature is for ${target}, not for ${subjectDigest}`, signer);

    const now = this.now();
    const trusted = this.certificates.trustStore(material.notation.certificates, kind);
    if (trusted.length === 0) return refuse(`the project's trust policy has no ${kind === 'ca' ? 'ca' : 'signingAuthority'} certificates for notation signatures`, signer);
    // When the certificates must be valid. notary.x509 without a trusted timestamp (TSA
    // counter-signatures are not verified here): now, as the specification says, and also at the
    // signing time the signer claims (a signature dated outside its certificate's life is refused).
    // notary.x509.signingAuthority: the authentic signing time the signing authority vouches for.
    const times: Array<readonly [Date, string]> = kind === 'ca' ? [[signingTime, 'at signing time'], [now, 'now']] : [[signingTime, 'at the authentic signing time']];
    const verdict = checkChain(chain, trusted, times);
    if (!verdict.ok) return refuse(verdict.reason, signer);
    if (!matchesIdentity(leaf, material.notation.trustedIdentities)) return refuse(`the signer ${signer} is not one of the trusted identities of the project's trust policy`, signer);
    if (env.expiry && env.expiry <= now) return refuse(`the signature expired at ${env.expiry.toISOString()}`, signer);

    const notAfter = leaf.parsed.notAfter;
    const expiresAt = env.expiry && env.expiry < notAfter ? env.expiry : notAfter;
    return { format: signature.format, signatureDigest: signature.digest, verified: true, signer, expiresAt: expiresAt.toISOString() };
  }
}

/** Why the protected header does not make a valid Notary Project envelope, or undefined. */
function headerProblem(env: NotationEnvelope): string | undefined {
  if (env.contentType !== NOTARY_PAYLOAD_TYPE) return `the envelope's content type is ${JSON.stringify(env.contentType)}, not ${NOTARY_PAYLOAD_TYPE}`;
  const unknown = env.crit.filter((c) => !(KNOWN_CRITICAL as readonly string[]).includes(c));
  if (unknown.length > 0) return `the envelope has critical headers this registry does not understand: ${unknown.join(', ')}`;
  if (!env.crit.includes(HEADER_SIGNING_SCHEME)) return `the envelope's crit header does not list ${HEADER_SIGNING_SCHEME}`;
  if (env.hasExpiry && !env.crit.includes(HEADER_EXPIRY)) return `the envelope has ${HEADER_EXPIRY} but its crit header does not list it`;
  if (env.hasAuthenticSigningTime && !env.crit.includes(HEADER_AUTHENTIC_SIGNING_TIME)) return `the envelope has ${HEADER_AUTHENTIC_SIGNING_TIME} but its crit header does not list it`;
  if (env.hasExpiry && !env.expiry) return `the envelope's ${HEADER_EXPIRY} is not a valid time`;
  const kind = SCHEMES[env.signingScheme as string];
  if (!kind) return `the signing scheme ${JSON.stringify(env.signingScheme)} is neither notary.x509 nor notary.x509.signingAuthority`;
  if (kind === 'ca' && !env.signingTime) return 'the envelope has no valid io.cncf.notary.signingTime, which the notary.x509 scheme requires';
  if (kind === 'signingAuthority' && !env.authenticSigningTime) return 'the envelope has no valid io.cncf.notary.authenticSigningTime, which the notary.x509.signingAuthority scheme requires';
  return undefined;
}

/** The payload's `targetArtifact.digest`, if the payload is a Notary Project payload. */
function targetDigest(payload: Buffer): string | undefined {
  try {
    const p = JSON.parse(payload.toString('utf8')) as { targetArtifact?: { digest?: unknown; mediaType?: unknown; size?: unknown } };
    const t = p?.targetArtifact;
    if (!t || typeof t.digest !== 'string' || typeof t.mediaType !== 'string' || typeof t.size !== 'number') return undefined;
    return t.digest;
  } catch {
    return undefined;
  }
}
