// Private keys of the private CA: read from whatever PEM people have (PKCS#8 "PRIVATE KEY", SEC1
// "EC PRIVATE KEY" from openssl/easy-rsa, PKCS#1 "RSA PRIVATE KEY", optionally encrypted), turned
// into a WebCrypto signing key and the matching signature algorithm for @peculiar/x509.
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';

export class CaKeyError extends Error {}

export interface SigningKey {
  key: KeyObject;
  cryptoKey: CryptoKey;
  /** Passed to X509CertificateGenerator as signingAlgorithm. */
  algorithm: Algorithm | EcdsaParams;
  /** e.g. "ECDSA P-256", "RSA 2048" (for logs and `minato ca show`). */
  description: string;
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

export function parsePrivateKey(pem: string, source: string, passphrase?: string): KeyObject {
  try {
    return createPrivateKey({ key: pem.replace(/\r\n/g, '\n'), format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) });
  } catch (err) {
    const msg = (err as Error).message;
    if (/ENCRYPTED/.test(pem) && passphrase === undefined) throw new CaKeyError(`${source} is encrypted; give its passphrase (--import-key-passphrase-file)`);
    throw new CaKeyError(`${source} is not a readable PEM private key: ${msg}`);
  }
}

export async function signingKey(key: KeyObject, source: string): Promise<SigningKey> {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new CaKeyError(`${source}: EC curve ${key.asymmetricKeyDetails?.namedCurve} is not supported (P-256, P-384, P-521 are)`);
    const cryptoKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: curve.namedCurve }, false, ['sign']);
    return { key, cryptoKey: cryptoKey as unknown as CryptoKey, algorithm: { name: 'ECDSA', hash: curve.hash } as EcdsaParams, description: `ECDSA ${curve.namedCurve}` };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const cryptoKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign']);
    return { key, cryptoKey: cryptoKey as unknown as CryptoKey, algorithm: alg, description: `RSA ${key.asymmetricKeyDetails?.modulusLength ?? ''}`.trim() };
  }
  throw new CaKeyError(`${source}: ${key.asymmetricKeyType} keys are not supported for the CA (ECDSA or RSA are)`);
}

/** A fresh ECDSA P-256 key pair, extractable so that it can be stored. */
export async function generateP256(): Promise<{ keys: CryptoKeyPair; pkcs8Pem: string }> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
  return { keys, pkcs8Pem: pem('PRIVATE KEY', der) };
}

export function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}
