// The contract between where signatures are found, how each format is verified, and the
// policy that decides a pull (issue 15). Sources find the signatures stored for one subject
// (OCI 1.1 referrers, cosign's `sha256-<hex>.sig` tags, the containers/image simple-signing
// extension); verifiers check one signature of their format against a project's trust material;
// the pull decider (trust/) combines the results with the project's enforcement level and caches
// them per subject digest, signature digest and policy version.
//
// Everything here is data and interfaces: no I/O, so every module of trust/ may import it.

/** The formats minato recognises. */
export type SignatureFormat =
  | 'cosign' // legacy cosign: simple-signing payload layers on a `sha256-<hex>.sig` tag or a referrer
  | 'sigstore-bundle' // cosign v3: a sigstore bundle v0.3 as an OCI 1.1 referrer
  | 'notation-jws' // Notary Project v1, application/jose+json envelope
  | 'notation-cose' // Notary Project v1, application/cose envelope
  | 'simple-signing'; // containers/image GPG signatures (skopeo/podman --sign-by)

/** One signature stored for a subject, as a source found it; the bytes are fetched on demand. */
export interface FoundSignature {
  format: SignatureFormat;
  /** The subject manifest's digest this signature claims to cover. */
  subject: string;
  /**
   * What identifies this signature for caching and listing: the signature manifest's digest for
   * referrers and tags; `sha256:` of the signature bytes for simple signatures.
   */
  digest: string;
  /** Where it was found, for people: `referrer`, `tag sha256-….sig`, `extension signature-1`. */
  location: string;
  /**
   * The repository it was found in, when its verifier needs it: a simple signature names the
   * image it is for (`critical.identity.docker-reference`), which must be this repository.
   */
  repository?: string;
  /**
   * The signature's parts, read from the blob store on demand. For manifest-based signatures:
   * the manifest bytes and, for each layer, its descriptor and bytes (digest checked by the
   * source). For simple signing: one part, the signature blob.
   */
  load(): Promise<SignatureParts>;
}

export interface SignatureParts {
  manifest?: { mediaType: string; bytes: Buffer; annotations: Record<string, string> };
  layers: Array<{ mediaType: string; digest: string; annotations: Record<string, string>; bytes: Buffer }>;
}

/** What a project trusts. Each verifier reads its own part; an empty part trusts nothing. */
export interface TrustMaterial {
  /** The policy's version: part of every cache key, so a change of keys re-verifies. */
  version: number;
  /** cosign and sigstore-bundle key-based verification: PEM public keys (ECDSA P-256, RSA, Ed25519). */
  publicKeys: Array<{ name: string; pem: string }>;
  /** Notation: X.509 trust stores (PEM root or signing-authority certificates) and trusted identities (`x509.subject: …` or `*`). */
  notation: { certificates: Array<{ name: string; pem: string; kind: 'ca' | 'signingAuthority' }>; trustedIdentities: string[] };
  /** Simple signing: armored OpenPGP public keys. */
  gpgKeys: Array<{ name: string; armored: string }>;
  /** Sigstore keyless: a trusted root (sigstore TrustedRoot JSON) and the identities accepted (issuer + subject, subject may be a /regex/). */
  keyless: { trustedRootJson?: string; identities: Array<{ issuer: string; subject: string }> };
}

/** The outcome of verifying one signature. `verified: false` always says why in `reason`. */
export interface VerificationResult {
  format: SignatureFormat;
  signatureDigest: string;
  verified: boolean;
  /** Who signed, for people: the key's name, the certificate subject, the GPG user id, the keyless identity. */
  signer?: string;
  /** Why it does not count: bad signature, unknown key, other digest, expired certificate, … */
  reason?: string;
  /** When the signer's certificate or the signature stops being valid, if known (ISO 8601). */
  expiresAt?: string;
}

/** Verifies signatures of one format. Pure computation over the parts: no store access. */
export interface SignatureVerifier {
  readonly formats: readonly SignatureFormat[];
  /**
   * Whether `signature` is a valid signature of `subjectDigest` by something `material` trusts.
   * Never throws for bad input (a malformed envelope is `verified: false` with the reason).
   * Cost: one or a few public-key operations; the caller caches the result.
   */
  verify(signature: FoundSignature, parts: SignatureParts, subjectDigest: string, material: TrustMaterial): Promise<VerificationResult>;
}

/** Finds the signatures stored for a subject. Reads metadata only; never loads signature bytes. */
export interface SignatureSource {
  list(repository: string, subjectDigest: string): Promise<FoundSignature[]>;
}
