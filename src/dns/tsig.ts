// TSIG (RFC 8945): HMAC signatures on DNS messages with a shared secret, the way BIND's
// `tsig-keygen` keys and `nsupdate -k` work. Signs requests and verifies the server's answer.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS, TYPE, TSIG_ERRORS, decodeName, encodeName, encodeRecord, scanMessage } from './wire.js';
import { DnsConfigError, DnsProtocolError } from './errors.js';

export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha512', 'hmac-sha384', 'hmac-sha224', 'hmac-sha1'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

export interface TsigKey {
  /** Key name as the server knows it (`acme-key` or `acme-key.`). */
  name: string;
  algorithm: TsigAlgorithm;
  /** The secret, decoded from the base64 in the key file. */
  secret: Buffer;
}

/** Accepts `hmac-sha256`, `hmac-sha256.` and `HMAC-SHA256`. */
export function parseTsigAlgorithm(value: string): TsigAlgorithm {
  const v = value.trim().toLowerCase().replace(/\.$/, '');
  const found = TSIG_ALGORITHMS.find((a) => a === v);
  if (!found) throw new DnsConfigError('rfc2136', `unknown TSIG algorithm "${value}": use one of ${TSIG_ALGORITHMS.join(', ')}`);
  return found;
}

/** Decodes a base64 secret strictly: a typo should fail here, not as BADSIG at the server. */
export function decodeTsigSecret(base64: string): Buffer {
  const s = base64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new DnsConfigError('rfc2136', 'the TSIG secret is not valid base64: copy the secret "..." value from the tsig-keygen key file');
  }
  return Buffer.from(s, 'base64');
}

const hashOf: Record<TsigAlgorithm, string> = {
  'hmac-sha256': 'sha256',
  'hmac-sha512': 'sha512',
  'hmac-sha384': 'sha384',
  'hmac-sha224': 'sha224',
  'hmac-sha1': 'sha1',
};

interface TsigFields {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** The "TSIG variables" of RFC 8945 section 4.3.3 (name and algorithm in canonical form). */
function variables(f: TsigFields): Buffer {
  const mid = Buffer.alloc(6);
  mid.writeUInt16BE(CLASS.ANY, 0);
  mid.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(12);
  writeUint48(tail, f.timeSigned, 0);
  tail.writeUInt16BE(f.fudge, 6);
  tail.writeUInt16BE(f.error, 8);
  tail.writeUInt16BE(f.other.length, 10);
  return Buffer.concat([encodeName(f.keyName, true), mid, encodeName(f.algorithm, true), tail, f.other]);
}

function writeUint48(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt16BE(Math.floor(value / 2 ** 32), offset);
  buf.writeUInt32BE(value % 2 ** 32, offset + 2);
}

export interface SignedRequest {
  message: Buffer;
  /** The request MAC: the server's answer is signed over it. */
  mac: Buffer;
}

/**
 * Appends a TSIG record to `message` (a complete message whose additional section does not yet
 * hold it) and increments ARCOUNT. `now` is seconds since the epoch.
 */
export function signMessage(message: Buffer, key: TsigKey, now = Math.floor(Date.now() / 1000), fudge = 300): SignedRequest {
  const fields: TsigFields = { keyName: key.name, algorithm: key.algorithm, timeSigned: now, fudge, error: 0, other: Buffer.alloc(0) };
  const mac = createHmac(hashOf[key.algorithm], key.secret).update(message).update(variables(fields)).digest();
  const rdata = tsigRdata(fields, mac, message.readUInt16BE(0));
  const out = Buffer.concat([message, encodeRecord(key.name, TYPE.TSIG, CLASS.ANY, 0, rdata)]);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: out, mac };
}

function tsigRdata(f: TsigFields, mac: Buffer, originalId: number): Buffer {
  const a = Buffer.alloc(10);
  writeUint48(a, f.timeSigned, 0);
  a.writeUInt16BE(f.fudge, 6);
  a.writeUInt16BE(mac.length, 8);
  const b = Buffer.alloc(6);
  b.writeUInt16BE(originalId, 0);
  b.writeUInt16BE(f.error, 2);
  b.writeUInt16BE(f.other.length, 4);
  return Buffer.concat([encodeName(f.algorithm), a, mac, b, f.other]);
}

export interface ResponseTsig {
  /** The TSIG error of the answer (0, or 16 BADSIG, 17 BADKEY, 18 BADTIME, 22 BADTRUNC). */
  error: number;
  errorName?: string;
  /** true when the MAC verified with our key. BADSIG/BADKEY answers are unsigned (RFC 8945 5.3.2). */
  verified: boolean;
}

/**
 * Finds and checks the TSIG record of a server answer. Returns undefined when the answer carries
 * none. Throws DnsProtocolError when a MAC is present but does not verify, or the key differs.
 */
export function verifyResponse(response: Buffer, key: TsigKey, requestMac: Buffer): ResponseTsig | undefined {
  const scanned = scanMessage(response);
  const additional = scanned.records[2]!;
  const rr = additional[additional.length - 1];
  if (!rr || rr.type !== TYPE.TSIG) return undefined;
  let pos = rr.rdataStart;
  const alg = decodeName(response, pos);
  pos += alg.length;
  const timeSigned = response.readUInt16BE(pos) * 2 ** 32 + response.readUInt32BE(pos + 2);
  const fudge = response.readUInt16BE(pos + 6);
  const macSize = response.readUInt16BE(pos + 8);
  const mac = response.subarray(pos + 10, pos + 10 + macSize);
  pos += 10 + macSize;
  const originalId = response.readUInt16BE(pos);
  const error = response.readUInt16BE(pos + 2);
  const otherLen = response.readUInt16BE(pos + 4);
  const other = response.subarray(pos + 6, pos + 6 + otherLen);
  const errorName = error ? TSIG_ERRORS[error] ?? `TSIG_ERROR_${error}` : undefined;
  if (macSize === 0) return { error, errorName, verified: false };
  if (rr.name.toLowerCase().replace(/\.$/, '') !== key.name.toLowerCase().replace(/\.$/, '') || alg.name.toLowerCase() !== key.algorithm) {
    throw new DnsProtocolError('rfc2136', `the server signed its answer with key ${rr.name} (${alg.name}), not ${key.name} (${key.algorithm})`);
  }
  const unsigned = Buffer.from(response.subarray(0, rr.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(scanned.counts[3] - 1, 10);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(requestMac.length, 0);
  const expected = createHmac(hashOf[key.algorithm], key.secret)
    .update(prefix)
    .update(requestMac)
    .update(unsigned)
    .update(variables({ keyName: rr.name, algorithm: alg.name, timeSigned, fudge, error, other }))
    .digest();
  if (expected.length !== mac.length || !timingSafeEqual(expected, mac)) {
    throw new DnsProtocolError('rfc2136', 'the TSIG signature of the server answer did not verify: the answer was altered or did not come from the server holding the key');
  }
  return { error, errorName, verified: true };
}
