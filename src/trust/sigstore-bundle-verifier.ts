// Verifies cosign v3 signatures: a sigstore bundle v0.3 (harbor-layer.md §3.2) stored as an OCI
// 1.1 referrer, whose one layer is the bundle JSON. Parsed and checked with @sigstore/bundle;
// the signature verified with @sigstore/verify against each of the project's public keys
// (offline, key-based: the transparency-log entries and timestamps a bundle may carry are not
// checked, as zot does not; trust rests on the key alone). The DSSE envelope must carry an
// in-toto statement whose subject digest is the manifest's. Message-signature bundles (cosign
// signs images with DSSE) and keyless bundles (certificates) are reported as not verified, with
// that reason.
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity } from '@sigstore/verify';
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
    if (key.$case !== 'publicKey') return result(false, { reason: 'keyless (certificate) bundle: not verified by this version of minato' });
    if (material.publicKeys.length === 0) return result(false, { reason: 'the policy trusts no public key' });
    const envelope = content.dsseEnvelope;
    let entity: SignedEntity;
    try {
      // Offline: the log entries and timestamps are not checked (see the file's comment).
      entity = { ...toSignedEntity(bundle), tlogEntries: [], timestamps: [] };
    } catch (err) {
      return result(false, { reason: `malformed bundle: ${(err as Error).message}`.slice(0, 300) });
    }
    let signer: string | undefined;
    for (const k of material.publicKeys) {
      const parsed = parsePublicKey(k.pem);
      if ('error' in parsed) continue;
      const trust = toTrustMaterial(EMPTY_ROOT as never, () => ({ publicKey: parsed.key, validFor: () => true }));
      try {
        new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
        signer = k.name;
        break;
      } catch {
        // Not this key.
      }
    }
    if (!signer) return result(false, { reason: 'wrong key: no trusted key verifies it (or the envelope was altered)' });
    if (envelope.payloadType !== IN_TOTO) return result(false, { reason: `signed by key '${signer}', but its payload type is ${envelope.payloadType.slice(0, 80)}, not ${IN_TOTO}` });
    const subjects = statementSubjects(envelope.payload);
    if ('error' in subjects) return result(false, { reason: `signed by key '${signer}', but ${subjects.error}` });
    const [algorithm, hex] = subjectDigest.split(':') as [string, string];
    if (!subjects.some((d) => d[algorithm] === hex)) {
      const other = subjects.map((d) => Object.entries(d).map(([a, h]) => `${a}:${h}`)[0]).filter(Boolean)[0];
      return result(false, { reason: `signed by key '${signer}' for another digest (${(other ?? 'none').slice(0, 80)})` });
    }
    return result(true, { signer });
  }
}
