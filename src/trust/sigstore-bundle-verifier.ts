// Verifies cosign v3 signatures: a sigstore bundle v0.3 (harbor-layer.md §3.2) stored as an OCI
// 1.1 referrer, whose one layer is the bundle JSON. Parsed and checked with @sigstore/bundle,
// verified with @sigstore/verify, offline:
//  - key-based: against each of the project's public keys. The transparency-log entries and
//    timestamps a bundle may carry are not checked (as zot does not): trust rests on the key.
//  - keyless: the signing certificate must chain to a certificate authority of the project's
//    trusted root (sigstore trusted_root.json: Fulcio's chain) and be valid at a verified time,
//    which comes from an RFC 3161 timestamp of a timestamp authority of that root, or from a
//    transparency-log entry when the root lists logs (their entries are then verified too); a
//    certificate expired or not yet valid at that time, or from another CA, does not count. Its
//    identity (SAN) and OIDC issuer (Fulcio's extension) must match one of the policy's
//    identities (subject exactly, or /regex/ anchored).
// The DSSE envelope must carry an in-toto statement whose subject digest is the manifest's.
// Message-signature bundles (cosign signs images with DSSE) are reported as not verified.
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
// @sigstore/protobuf-specs comes with @sigstore/bundle (its dependency): the trusted root's JSON reader.
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity, type TrustMaterial as SigstoreTrust } from '@sigstore/verify';
import type { FoundSignature, SignatureParts, SignatureVerifier, TrustMaterial, VerificationResult } from './signatures.js';
import { SIGSTORE_BUNDLE_TYPE } from './signature-sources.js';
import { parsePublicKey } from './trust-material.js';

const IN_TOTO = 'application/vnd.in-toto+json';

/** A trusted root with nothing in it: key-based verification needs none. */
const EMPTY_ROOT = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };

/** The digests (algorithm → hex) an in-toto statement names as its subjects, or why not. */
export function statementSubjects(payload: Buffer): Array<Record<string, string>> | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { error: 'its DSSE payload is not JSON' };
  }
  const subjects = (doc as { subject?: unknown } | null)?.subject;
  if (!Array.isArray(subjects)) return { error: 'its DSSE payload is not an in-toto statement (no subject)' };
  return subjects.map((s) => ((s as { digest?: unknown })?.digest && typeof (s as { digest: unknown }).digest === 'object' ? ((s as { digest: Record<string, string> }).digest) : {}));
}

export class SigstoreBundleVerifier implements SignatureVerifier {
  readonly formats = ['sigstore-bundle'] as const;

  async verify(signature: FoundSignature, parts: SignatureParts, subjectDigest: string, material: TrustMaterial): Promise<VerificationResult> {
    const result = (verified: boolean, detail: { signer?: string; reason?: string }): VerificationResult => ({ format: 'sigstore-bundle', signatureDigest: signature.digest, verified, ...detail });
    const layer = parts.layers.find((l) => l.mediaType === SIGSTORE_BUNDLE_TYPE) ?? parts.layers[0];
    if (!layer) return result(false, { reason: 'malformed bundle: the manifest has no layer' });
    let bundle: Bundle;
    try {
      bundle = bundleFromJSON(JSON.parse(layer.bytes.toString('utf8')));
    } catch (err) {
      return result(false, { reason: `malformed bundle: ${(err as Error).message}`.slice(0, 300) });
    }
    const content = bundle.content;
    if (content.$case !== 'dsseEnvelope') return result(false, { reason: 'a message-signature bundle: minato verifies DSSE bundles (what cosign v3 writes for images)' });
    const key = bundle.verificationMaterial.content;
    const envelope = content.dsseEnvelope;
    let entity: SignedEntity;
    try {
      entity = toSignedEntity(bundle);
    } catch (err) {
      return result(false, { reason: `malformed bundle: ${(err as Error).message}`.slice(0, 300) });
    }
    let signer: string | undefined;
    let expiresAt: string | undefined;
    if (key.$case !== 'publicKey') {
      const keyless = verifyKeyless(entity, material);
      if ('reason' in keyless) return result(false, { reason: keyless.reason });
      signer = keyless.signer;
      expiresAt = keyless.expiresAt;
    } else if (material.publicKeys.length === 0) return result(false, { reason: 'the policy trusts no public key' });
    // Offline, key-based: the log entries and timestamps are not checked (see the file's comment).
    const keyed: SignedEntity = { ...entity, tlogEntries: [], timestamps: [] };
    for (const k of key.$case === 'publicKey' ? material.publicKeys : []) {
      const parsed = parsePublicKey(k.pem);
      if ('error' in parsed) continue;
      const trust = toTrustMaterial(EMPTY_ROOT as never, () => ({ publicKey: parsed.key, validFor: () => true }));
      try {
        new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(keyed);
        signer = k.name;
        break;
      } catch {
        // Not this key.
      }
    }
    if (!signer) return result(false, { reason: 'wrong key: no trusted key verifies it (or the envelope was altered)' });
    const by = key.$case === 'publicKey' ? `key '${signer}'` : signer;
    if (envelope.payloadType !== IN_TOTO) return result(false, { reason: `signed by ${by}, but its payload type is ${envelope.payloadType.slice(0, 80)}, not ${IN_TOTO}` });
    const subjects = statementSubjects(envelope.payload);
    if ('error' in subjects) return result(false, { reason: `signed by ${by}, but ${subjects.error}` });
    const [algorithm, hex] = subjectDigest.split(':') as [string, string];
    if (!subjects.some((d) => d[algorithm] === hex)) {
      const other = subjects.map((d) => Object.entries(d).map(([a, h]) => `${a}:${h}`)[0]).filter(Boolean)[0];
      return result(false, { reason: `signed by ${by} for another digest (${(other ?? 'none').slice(0, 80)})` });
    }
    return result(true, { signer, ...(expiresAt ? { expiresAt } : {}) });
  }
}

/** Matches a policy subject: exact, or a /regex/ that must match the whole SAN. */
function subjectMatches(pattern: string, san: string): boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    try {
      return new RegExp(`^(?:${pattern.slice(1, -1)})$`).test(san);
    } catch {
      return false;
    }
  }
  return pattern === san;
}

/**
 * A keyless bundle's signer, verified against the project's trusted root and identities: who
 * ("<SAN> (issuer <issuer>)") and until when its certificate was valid, or why it does not count.
 */
export function verifyKeyless(entity: SignedEntity, material: TrustMaterial): { signer: string; expiresAt?: string } | { reason: string } {
  const { trustedRootJson, identities } = material.keyless;
  if (!trustedRootJson) return { reason: 'keyless (certificate) signature: the policy has no keyless trusted root' };
  if (identities.length === 0) return { reason: 'keyless (certificate) signature: the policy trusts no keyless identity' };
  let trust: SigstoreTrust;
  try {
    trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(trustedRootJson)));
  } catch (err) {
    return { reason: `keyless: the policy's trusted root cannot be read (${(err as Error).message})`.slice(0, 300) };
  }
  // A short-lived certificate proves nothing without a trusted time: one timestamp at least.
  // Log entries count only when the root lists logs (else they are dropped, unverifiable).
  const usable: SignedEntity = trust.tlogs.length > 0 ? entity : { ...entity, tlogEntries: [], timestamps: entity.timestamps.filter((t) => t.$case === 'timestamp-authority') };
  let identity: { subjectAlternativeName?: string; extensions?: { issuer?: string } } | undefined;
  try {
    identity = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 }).verify(usable).identity;
  } catch (err) {
    const e = err as Error & { code?: string; cause?: Error };
    const why = e.cause?.message ? `${e.message}: ${e.cause.message}` : e.message;
    return { reason: `keyless: ${why}`.slice(0, 300) };
  }
  const san = identity?.subjectAlternativeName ?? '';
  const issuer = identity?.extensions?.issuer ?? '';
  if (!identities.some((id) => id.issuer === issuer && subjectMatches(id.subject, san))) {
    return { reason: `keyless: signed by ${san || 'no SAN'} (issuer ${issuer || 'none'}), an identity the policy does not trust` };
  }
  const cert = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
  return { signer: `${san} (issuer ${issuer})`, ...(cert ? { expiresAt: cert.notAfter.toISOString() } : {}) };
}
