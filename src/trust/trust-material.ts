// Checks trust material before it is stored, so that a stored policy always loads: public keys
// must parse with node:crypto and be of a kind cosign signs with (ECDSA P-256/P-384, RSA of at
// least 2048 bits, Ed25519); certificates must parse as X.509; GPG keys must be armored public key
// blocks; a keyless trusted root must be JSON with certificate authorities; names are unique.
// A bad item is refused with INVALID (400) naming it and what is wrong.
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { invalid } from '../util/domain-error.js';
import type { StoredMaterial } from './trust-policy-store.js';

/** Limits against hostile bodies: a policy is read whole into every process's memory. */
export const MAX_KEYS = 64;
export const MAX_PEM_BYTES = 16 * 1024;
export const MAX_TRUSTED_ROOT_BYTES = 256 * 1024;
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** The public key of a PEM, or undefined with why not. */
export function parsePublicKey(pem: string): { key: KeyObject } | { error: string } {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    return { error: `not a PEM public key (${(err as Error).message})` };
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'secp384r1') return { error: `an ECDSA key on ${curve ?? 'an unknown curve'}: P-256 or P-384 are accepted` };
  } else if (type === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return { error: 'an RSA key shorter than 2048 bits' };
  } else if (type !== 'ed25519') {
    return { error: `a ${type ?? 'unknown'} key: ECDSA, RSA and Ed25519 keys are accepted` };
  }
  return { key };
}

/** Throws INVALID for the first item of `material` that is not acceptable. */
export function checkMaterial(project: string, material: StoredMaterial): void {
  const names = new Set<string>();
  const named = (kind: string, name: string) => {
    if (!KEY_NAME.test(name)) throw invalid(`${kind} name "${name.slice(0, 80)}" is not valid: 1-64 letters, digits, '.', '_', '@' or '-'`);
    if (names.has(`${kind}:${name}`)) throw invalid(`the trust policy of project ${project} names ${kind} "${name}" twice`);
    names.add(`${kind}:${name}`);
  };
  const count = material.publicKeys.length + material.notation.certificates.length + material.gpgKeys.length;
  if (count > MAX_KEYS) throw invalid(`a trust policy holds at most ${MAX_KEYS} keys and certificates; this one has ${count}`);
  for (const k of material.publicKeys) {
    named('key', k.name);
    if (k.pem.length > MAX_PEM_BYTES) throw invalid(`key "${k.name}" is larger than ${MAX_PEM_BYTES} bytes`);
    const parsed = parsePublicKey(k.pem);
    if ('error' in parsed) throw invalid(`key "${k.name}" is ${parsed.error}`);
  }
  for (const c of material.notation.certificates) {
    named('certificate', c.name);
    if (c.pem.length > MAX_PEM_BYTES) throw invalid(`certificate "${c.name}" is larger than ${MAX_PEM_BYTES} bytes`);
    try {
      new X509Certificate(c.pem);
    } catch (err) {
      throw invalid(`certificate "${c.name}" is not a PEM X.509 certificate (${(err as Error).message})`);
    }
  }
  for (const g of material.gpgKeys) {
    named('gpg key', g.name);
    if (g.armored.length > MAX_PEM_BYTES * 4) throw invalid(`gpg key "${g.name}" is larger than ${MAX_PEM_BYTES * 4} bytes`);
    if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/.test(g.armored)) throw invalid(`gpg key "${g.name}" is not an armored OpenPGP public key block (gpg --armor --export)`);
  }
  const root = material.keyless.trustedRootJson;
  if (root !== undefined) {
    if (root.length > MAX_TRUSTED_ROOT_BYTES) throw invalid(`the keyless trusted root is larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(root);
    } catch {
      throw invalid('the keyless trusted root is not JSON (a sigstore trusted_root.json)');
    }
    const cas = (parsed as { certificateAuthorities?: unknown }).certificateAuthorities;
    if (!Array.isArray(cas) || cas.length === 0) throw invalid('the keyless trusted root has no certificateAuthorities (a sigstore trusted_root.json lists Fulcio under them)');
    try {
      // What the verifier will do with it: certificates and keys must parse.
      toTrustMaterial(TrustedRoot.fromJSON(parsed));
    } catch (err) {
      throw invalid(`the keyless trusted root cannot be read: ${(err as Error).message}`.slice(0, 300));
    }
  }
  for (const id of material.keyless.identities) {
    if (!id.issuer || !id.subject) throw invalid('a keyless identity needs an issuer and a subject');
    if (id.subject.startsWith('/') && id.subject.endsWith('/') && id.subject.length > 1) {
      try {
        new RegExp(id.subject.slice(1, -1));
      } catch (err) {
        throw invalid(`keyless subject ${id.subject} is not a valid regular expression (${(err as Error).message})`);
      }
    }
  }
}
