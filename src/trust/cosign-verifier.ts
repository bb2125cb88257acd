// Verifies legacy cosign signatures by key (harbor-layer.md §3.1, cosign's SIGNATURE_SPEC.md):
// each layer `application/vnd.dev.cosign.simplesigning.v1+json` holds a payload, the
// containers-signature(5) JSON, and its `dev.cosignproject.cosign/signature` annotation the
// base64 signature over sha256(payload). The scheme is not recorded: it follows from the key
// (ECDSA P-256/SHA-256, P-384/SHA-384, RSA PKCS#1 v1.5/SHA-256, Ed25519). A layer counts once
// a trusted key verifies it AND its payload names the subject
// (`critical.image.docker-manifest-digest`, keys matched case-insensitively as Go's JSON decoder
// does) with `critical.type` = "cosign container image signature".
// Keyless cosign (a Fulcio certificate in the layer's annotations) is not verified here.
import { verify, type KeyObject } from 'node:crypto';
import type { FoundSignature, SignatureParts, SignatureVerifier, TrustMaterial, VerificationResult } from './signatures.js';
import { COSIGN_SIMPLESIGNING_LAYER } from './signature-sources.js';
import { parsePublicKey } from './trust-material.js';

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';

/** The digest algorithm node:crypto needs for a key (null: the key's own, Ed25519). */
export function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1') return 'sha384';
  return 'sha256';
}

/** The name of the first trusted key that verifies `signature` over `data`, if any. */
export function trustedKeyFor(material: TrustMaterial, data: Buffer, signature: Buffer): string | undefined {
  for (const k of material.publicKeys) {
    const parsed = parsePublicKey(k.pem);
    if ('error' in parsed) continue;
    try {
      if (verify(hashFor(parsed.key), data, parsed.key, signature)) return k.name;
    } catch {
      // A signature of the wrong shape for this key type: not this key.
    }
  }
  return undefined;
}

/** A property of a JSON object, its name matched case-insensitively. */
function field(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** What a simple-signing payload says it signs, or why it is not one. */
export function payloadClaims(payload: Buffer): { digest: string; type: string } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { error: 'its payload is not JSON' };
  }
  const critical = field(doc, 'critical');
  const digest = field(field(critical, 'image'), 'docker-manifest-digest');
  const type = field(critical, 'type');
  if (typeof digest !== 'string' || typeof type !== 'string') return { error: 'its payload has no critical.image.docker-manifest-digest or critical.type' };
  return { digest, type };
}

export class CosignVerifier implements SignatureVerifier {
  readonly formats = ['cosign'] as const;

  async verify(signature: FoundSignature, parts: SignatureParts, subjectDigest: string, material: TrustMaterial): Promise<VerificationResult> {
    const result = (verified: boolean, detail: { signer?: string; reason?: string }): VerificationResult => ({ format: 'cosign', signatureDigest: signature.digest, verified, ...detail });
    const layers = parts.layers.filter((l) => l.mediaType === COSIGN_SIMPLESIGNING_LAYER);
    if (layers.length === 0) return result(false, { reason: `no ${COSIGN_SIMPLESIGNING_LAYER} layer` });
    if (material.publicKeys.length === 0) return result(false, { reason: 'the policy trusts no public key' });
    // The most telling reason among the layers, when none verifies.
    let reason = '';
    for (const layer of layers) {
      const b64 = layer.annotations[COSIGN_SIGNATURE_ANNOTATION];
      if (!b64) {
        reason ||= `a layer has no ${COSIGN_SIGNATURE_ANNOTATION} annotation`;
        continue;
      }
      const signer = trustedKeyFor(material, layer.bytes, Buffer.from(b64, 'base64'));
      if (!signer) {
        reason = layer.annotations[COSIGN_CERTIFICATE_ANNOTATION] ? 'keyless (certificate) signature: no trusted key verifies it' : 'wrong key: no trusted key verifies it (or the payload was altered)';
        continue;
      }
      const claims = payloadClaims(layer.bytes);
      if ('error' in claims) {
        reason = `signed by key '${signer}', but ${claims.error}`;
        continue;
      }
      if (claims.type !== COSIGN_PAYLOAD_TYPE) {
        reason = `signed by key '${signer}', but its type is "${claims.type.slice(0, 80)}", not "${COSIGN_PAYLOAD_TYPE}"`;
        continue;
      }
      if (claims.digest !== subjectDigest) {
        reason = `signed by key '${signer}' for another digest (${claims.digest.slice(0, 80)})`;
        continue;
      }
      return result(true, { signer });
    }
    return result(false, { reason });
  }
}
