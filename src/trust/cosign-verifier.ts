// Verifies legacy cosign signatures by key (harbor-layer.md §3.1, cosign's SIGNATURE_SPEC.md):
// each layer `application/vnd.dev.cosign.simplesigning.v1+json` holds a payload, the
// containers-signature(5) JSON, and its `dev.cosignproject.cosign/signature` annotation the
// base64 signature over sha256(payload). The scheme is not recorded: it follows from the key
// (ECDSA P-256/SHA-256, P-384/SHA-384, RSA PKCS#1 v1.5/SHA-256, Ed25519). A layer counts once
// a trusted key verifies it AND its payload names the subject
// (`critical.image.docker-manifest-digest`, keys matched case-insensitively as Go's JSON decoder
// does) with `critical.type` = "cosign container image signature".
// Keyless cosign: a layer with a Fulcio certificate (`dev.sigstore.cosign/certificate`, its chain
// in `dev.sigstore.cosign/chain`) is verified as a keyless sigstore bundle is
// (sigstore-bundle-verifier.ts verifyKeyless: the chain to the project's trusted root at the time
// of the layer's RFC 3161 timestamp, `dev.sigstore.cosign/rfc3161timestamp`, and a trusted
// identity). Its Rekor SET (`dev.sigstore.cosign/bundle`) is not checked.
import { verify, type KeyObject } from 'node:crypto';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import type { SignedEntity } from '@sigstore/verify';
import { verifyKeyless } from './sigstore-bundle-verifier.js';
import type { FoundSignature, SignatureParts, SignatureVerifier, TrustMaterial, VerificationResult } from './signatures.js';
import { COSIGN_SIMPLESIGNING_LAYER } from './signature-sources.js';
import { parsePublicKey } from './trust-material.js';

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_TIMESTAMP_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';
export const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';

/** A keyless layer as @sigstore/verify's SignedEntity: the certificate's key over sha256(payload), the layer's timestamp. */
function keylessEntity(payload: Buffer, signature: Buffer, certificatePem: string, timestampJson: string | undefined): SignedEntity {
  const timestamps: SignedEntity['timestamps'] = [];
  if (timestampJson) {
    const bytes = (JSON.parse(timestampJson) as { SignedRFC3161TimestampBytes?: string }).SignedRFC3161TimestampBytes;
    if (bytes) timestamps.push({ $case: 'timestamp-authority', timestamp: RFC3161Timestamp.parse(Buffer.from(bytes, 'base64')) });
  }
  return {
    key: { $case: 'certificate', certificate: X509Certificate.parse(certificatePem) },
    signature: {
      signature,
      compareSignature: (s) => s.equals(signature),
      compareDigest: () => false,
      verifySignature: (key) => verify(hashFor(key), payload, key, signature),
    },
    timestamps,
    tlogEntries: [],
  };
}

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
    // The most telling reason among the layers, when none verifies.
    let reason = '';
    for (const layer of layers) {
      const b64 = layer.annotations[COSIGN_SIGNATURE_ANNOTATION];
      if (!b64) {
        reason ||= `a layer has no ${COSIGN_SIGNATURE_ANNOTATION} annotation`;
        continue;
      }
      const certificate = layer.annotations[COSIGN_CERTIFICATE_ANNOTATION];
      // signer: who, for the result; by: the same in a sentence ("key 'ci'", "<SAN> (issuer …)").
      let signer: string | undefined;
      let by: string;
      if (certificate) {
        let keyless: ReturnType<typeof verifyKeyless>;
        try {
          keyless = verifyKeyless(keylessEntity(layer.bytes, Buffer.from(b64, 'base64'), certificate, layer.annotations[COSIGN_TIMESTAMP_ANNOTATION]), material);
        } catch (err) {
          keyless = { reason: `keyless: unreadable certificate or timestamp (${(err as Error).message})`.slice(0, 300) };
        }
        if ('reason' in keyless) {
          reason = keyless.reason;
          continue;
        }
        signer = by = keyless.signer;
      } else if (material.publicKeys.length === 0) {
        reason ||= 'the policy trusts no public key';
        continue;
      } else {
        signer = trustedKeyFor(material, layer.bytes, Buffer.from(b64, 'base64'));
        if (!signer) {
          reason = 'wrong key: no trusted key verifies it (or the payload was altered)';
          continue;
        }
        by = `key '${signer}'`;
      }
      const claims = payloadClaims(layer.bytes);
      if ('error' in claims) {
        reason = `signed by ${by}, but ${claims.error}`;
        continue;
      }
      if (claims.type !== COSIGN_PAYLOAD_TYPE) {
        reason = `signed by ${by}, but its type is "${claims.type.slice(0, 80)}", not "${COSIGN_PAYLOAD_TYPE}"`;
        continue;
      }
      if (claims.digest !== subjectDigest) {
        reason = `signed by ${by} for another digest (${claims.digest.slice(0, 80)})`;
        continue;
      }
      return result(true, { signer });
    }
    return result(false, { reason });
  }
}
