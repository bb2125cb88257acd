// The two envelopes of Notary Project v1 signatures, read into one shape: what the protected
// header says (alg, crit, content type, signing scheme, signing time, expiry), the certificate
// chain of the unprotected header, the payload bytes, and a check of the signature with a key.
//   JWS  (signature-envelope-jws.md): flattened JSON serialization only; verified with `jose`.
//   COSE (signature-envelope-cose.md): COSE_Sign1_Tagged (CBOR tag 18), decoded with `cbor-x`;
//        the signed bytes are RFC 9052's Sig_structure ["Signature1", protected, h'', payload].
// Nothing here decides trust: notation-verifier.ts does, with what this returns.
import { constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { flattenedVerify, type FlattenedJWS } from 'jose';
import { assertDefiniteCbor } from './notation-cbor.js';

export const NOTARY_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
export const HEADER_SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
export const HEADER_SIGNING_TIME = 'io.cncf.notary.signingTime';
export const HEADER_AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
export const HEADER_EXPIRY = 'io.cncf.notary.expiry';

/** Critical headers this verifier understands; any other in `crit` makes the signature invalid. */
export const KNOWN_CRITICAL = [HEADER_SIGNING_SCHEME, HEADER_EXPIRY, HEADER_AUTHENTIC_SIGNING_TIME] as const;

/** An envelope, parsed but not yet verified: nothing in it is trusted until `verifySignature`. */
export interface NotationEnvelope {
  alg: string;
  crit: string[];
  contentType: unknown;
  signingScheme: unknown;
  /** `io.cncf.notary.signingTime` (notary.x509) or `authenticSigningTime` (signingAuthority), if a date. */
  signingTime?: Date;
  authenticSigningTime?: Date;
  expiry?: Date;
  /** Whether an expiry header is present at all (even malformed): then `crit` must list it. */
  hasExpiry: boolean;
  hasAuthenticSigningTime: boolean;
  /** DER certificates, leaf first. */
  chain: Buffer[];
  payload: Buffer;
  /** Whether the signature is valid for `key` (integrity only). */
  verifySignature(key: KeyObject): Promise<boolean>;
}

/** The envelope cannot be read; the message says why. */
export class EnvelopeError extends Error {}

// --- JWS

const JWS_FIELDS = ['payload', 'protected', 'header', 'signature'];
const JWS_ALGS = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export function parseJws(bytes: Buffer): NotationEnvelope {
  let jws: unknown;
  try {
    jws = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EnvelopeError('the JWS envelope is not JSON');
  }
  if (!isRecord(jws) || typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
    throw new EnvelopeError('the JWS envelope is not in flattened JSON serialization (protected, payload, signature)');
  }
  // signature-envelope-jws.md: "no additional top level fields are supported" (e.g. a second signature).
  const extra = Object.keys(jws).filter((k) => !JWS_FIELDS.includes(k));
  if (extra.length > 0) throw new EnvelopeError(`the JWS envelope has fields a Notary Project envelope does not: ${extra.slice(0, 5).join(', ')}`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8'));
  } catch {
    throw new EnvelopeError('the JWS protected header is not base64url JSON');
  }
  if (!isRecord(header)) throw new EnvelopeError('the JWS protected header is not a JSON object');
  const unprotected = isRecord(jws.header) ? jws.header : {};
  const x5c = unprotected.x5c;
  if (!Array.isArray(x5c) || !x5c.every((c) => typeof c === 'string')) throw new EnvelopeError('the JWS unprotected header has no x5c certificate chain');
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const crit = Array.isArray(header.crit) ? header.crit.filter((c): c is string => typeof c === 'string') : [];
  const flattened = jws as unknown as FlattenedJWS;
  return {
    alg,
    crit,
    contentType: header.cty,
    signingScheme: header[HEADER_SIGNING_SCHEME],
    signingTime: rfc3339(header[HEADER_SIGNING_TIME]),
    authenticSigningTime: rfc3339(header[HEADER_AUTHENTIC_SIGNING_TIME]),
    expiry: rfc3339(header[HEADER_EXPIRY]),
    hasExpiry: HEADER_EXPIRY in header,
    hasAuthenticSigningTime: HEADER_AUTHENTIC_SIGNING_TIME in header,
    chain: x5c.map((c: string) => Buffer.from(c, 'base64')),
    payload: Buffer.from(jws.payload, 'base64url'),
    async verifySignature(key) {
      if (!JWS_ALGS.includes(alg)) return false;
      try {
        // `crit`: jose refuses a critical header it is not told it understands (true: must be protected).
        await flattenedVerify(flattened, key, { algorithms: [alg], crit: Object.fromEntries(KNOWN_CRITICAL.map((c) => [c, true])) });
        return true;
      } catch {
        return false;
      }
    },
  };
}

function rfc3339(value: unknown): Date | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

// --- COSE

/** COSE algorithm identifiers (IANA) and their JWS names, hashes and salt lengths. */
const COSE_ALGS: Record<number, { name: string; hash: string; pss: boolean; saltLength: number }> = {
  [-37]: { name: 'PS256', hash: 'sha256', pss: true, saltLength: 32 },
  [-38]: { name: 'PS384', hash: 'sha384', pss: true, saltLength: 48 },
  [-39]: { name: 'PS512', hash: 'sha512', pss: true, saltLength: 64 },
  [-7]: { name: 'ES256', hash: 'sha256', pss: false, saltLength: 0 },
  [-35]: { name: 'ES384', hash: 'sha384', pss: false, saltLength: 0 },
  [-36]: { name: 'ES512', hash: 'sha512', pss: false, saltLength: 0 },
};
const COSE_TAG_SIGN1 = 18;
const LABEL_ALG = 1;
const LABEL_CRIT = 2;
const LABEL_CONTENT_TYPE = 3;
const LABEL_X5CHAIN = 33;

// Maps keep their integer labels (not object keys); records off: plain RFC 8949 CBOR.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false });

export function parseCose(bytes: Buffer): NotationEnvelope {
  let message: unknown;
  try {
    assertDefiniteCbor(bytes);
    message = decoder.decode(bytes);
  } catch (err) {
    throw new EnvelopeError(`the COSE envelope is not well-formed CBOR: ${(err as Error).message}`);
  }
  if (!(message instanceof Tag) || message.tag !== COSE_TAG_SIGN1) throw new EnvelopeError('the COSE envelope is not a COSE_Sign1_Tagged message (CBOR tag 18)');
  const parts = message.value as unknown;
  if (!Array.isArray(parts) || parts.length !== 4) throw new EnvelopeError('the COSE_Sign1 message does not have four parts');
  const [protectedBytes, unprotected, payload, signature] = parts as unknown[];
  if (!isBytes(protectedBytes) || !(unprotected instanceof Map) || !isBytes(payload) || !isBytes(signature)) {
    throw new EnvelopeError('the COSE_Sign1 message is malformed (protected bstr, unprotected map, payload bstr, signature bstr)');
  }
  let header: unknown;
  try {
    assertDefiniteCbor(protectedBytes);
    header = decoder.decode(protectedBytes);
  } catch (err) {
    throw new EnvelopeError(`the COSE protected header is not well-formed CBOR: ${(err as Error).message}`);
  }
  if (!(header instanceof Map)) throw new EnvelopeError('the COSE protected header is not a map');
  const algId = header.get(LABEL_ALG);
  const alg = typeof algId === 'number' ? COSE_ALGS[algId] : undefined;
  const critValue = header.get(LABEL_CRIT);
  const crit = Array.isArray(critValue) ? critValue.map((c) => String(c)) : [];
  const x5 = unprotected.get(LABEL_X5CHAIN);
  const chain = isBytes(x5) ? [x5] : Array.isArray(x5) && x5.every(isBytes) ? x5 : undefined;
  if (!chain) throw new EnvelopeError('the COSE unprotected header has no x5chain (label 33)');
  const toSign = Buffer.from(encoder.encode(['Signature1', Buffer.from(protectedBytes), Buffer.alloc(0), Buffer.from(payload)]));
  return {
    alg: alg?.name ?? String(algId),
    crit,
    contentType: header.get(LABEL_CONTENT_TYPE),
    signingScheme: header.get(HEADER_SIGNING_SCHEME),
    signingTime: coseTime(header.get(HEADER_SIGNING_TIME)),
    authenticSigningTime: coseTime(header.get(HEADER_AUTHENTIC_SIGNING_TIME)),
    expiry: coseTime(header.get(HEADER_EXPIRY)),
    hasExpiry: header.has(HEADER_EXPIRY),
    hasAuthenticSigningTime: header.has(HEADER_AUTHENTIC_SIGNING_TIME),
    chain: chain.map((c) => Buffer.from(c)),
    payload: Buffer.from(payload),
    async verifySignature(key) {
      if (!alg) return false;
      try {
        const options = alg.pss
          ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength }
          : { key, dsaEncoding: 'ieee-p1363' as const };
        return cryptoVerify(alg.hash, toSign, options, Buffer.from(signature));
      } catch {
        return false;
      }
    },
  };
}

/** Times are CBOR tag 1 (epoch seconds), which cbor-x decodes to a Date. */
function coseTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  return undefined;
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
