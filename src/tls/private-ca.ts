// minato's built-in private CA (tls.mode: ca): creates a root or imports an existing one (easy-rsa,
// openssl), keeps it in the asset store (coordination/open.ts assetStore), and issues the
// registry's own server certificate. Keys, and embedded the files they are:
//
//   ca/ca.crt       <data>/ca/ca.crt     the root (public; what clients trust, see trust-exporters.ts)
//   ca/ca.key       <data>/ca/ca.key     its private key, PKCS#8 PEM
//   ca/server.crt   <data>/ca/server.crt the registry's certificate: leaf + ca.crt
//   ca/server.key   <data>/ca/server.key its private key
// (files 0600 in a 0700 directory). In a fleet every replica shares them: the first one to
// start creates the CA under the lock tls/ca, the others load it.
import { createHash, randomBytes, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
import os from 'node:os';
import type { KeyValueStore, Locker } from '../coordination/coordination.js';
import { describeKey, withLock } from '../coordination/open.js';
import { generateP256, parsePrivateKey, signingKey, type SigningKey } from './ca-keys.js';
import { splitPemCertificates } from './cert-files.js';
import { formatPermittedName, nameConstraintsExtension, NAME_CONSTRAINTS_OID, parsePermittedName, partitionPermitted, type PermittedName } from './name-constraints.js';
import * as x509 from './x509.js';

export class PrivateCaError extends Error {}

/** The CA's keys in the asset store. */
export const CA_KEYS = { caCert: 'ca/ca.crt', caKey: 'ca/ca.key', serverCert: 'ca/server.crt', serverKey: 'ca/server.key' } as const;

/** Where the CA lives, for messages: a directory when embedded, else the shared store. */
export function caLocation(kv: KeyValueStore): string {
  return kv.locate ? kv.locate('ca') : 'the shared store (keys ca/*)';
}

export interface CreateCaOptions {
  /** Default "minato private CA (<hostname>)". */
  commonName?: string;
  validityYears: number;
  /** DNS names and IP ranges the CA may issue for (name constraints); empty: unconstrained. */
  permittedNames?: string[];
  /**
   * Names the CA must be able to sign (the server certificate's configured names): when the
   * constraints exclude one, creation is refused before anything is written.
   */
  mustPermit?: string[];
  /** Replace an existing CA (every client must then trust the new one). */
  force?: boolean;
  now?: Date;
}

export interface ImportCaOptions {
  certPem: string;
  keyPem: string;
  passphrase?: string;
  force?: boolean;
  now?: Date;
}

export interface CaInfo {
  subject: string;
  fingerprintSha256: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  key: string;
  selfSigned: boolean;
  nameConstraints: boolean;
}

export interface IssuedCertificate {
  /** Leaf then the CA certificate. */
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export class PrivateCa {
  private constructor(
    private readonly kv: KeyValueStore,
    readonly certPem: string,
    readonly cert: x509.X509Certificate,
    private readonly signer: SigningKey,
    /** Warnings found on import or load (e.g. an intermediate rather than a root). */
    readonly warnings: string[],
  ) {}

  /** Where this CA lives (a directory when embedded), for messages. */
  get location(): string {
    return caLocation(this.kv);
  }

  /** Where the CA certificate is (a file when embedded), for messages. */
  get certificateLocation(): string {
    return describeKey(this.kv, CA_KEYS.caCert);
  }

  static async exists(kv: KeyValueStore): Promise<boolean> {
    return (await kv.modified(CA_KEYS.caCert)) !== undefined || (await kv.modified(CA_KEYS.caKey)) !== undefined;
  }

  static async load(kv: KeyValueStore): Promise<PrivateCa> {
    const read = async (key: string) => {
      const value = await kv.load(key).catch((err: Error) => {
        throw new PrivateCaError(`cannot read ${describeKey(kv, key)}: ${err.message}`);
      });
      if (value === undefined) throw new PrivateCaError(`no private CA in ${caLocation(kv)}: run "minato ca init" (or start the server once in tls.mode ca)`);
      return value.toString('utf8');
    };
    const [certPem, keyPem] = [await read(CA_KEYS.caCert), await read(CA_KEYS.caKey)];
    return PrivateCa.validate(kv, certPem, keyPem, describeKey(kv, CA_KEYS.caCert), describeKey(kv, CA_KEYS.caKey), undefined, new Date());
  }

  /**
   * Loads the CA, creating one with `create` when none exists yet. Creation runs under the lock
   * tls/ca and re-checks first: replicas starting together create one CA, and all load it.
   */
  static async loadOrCreate(kv: KeyValueStore, locker: Locker, create: CreateCaOptions): Promise<{ ca: PrivateCa; created: boolean }> {
    if (await PrivateCa.exists(kv)) return { ca: await PrivateCa.load(kv), created: false };
    return withLock(locker, 'tls/ca', undefined, async () => {
      if (await PrivateCa.exists(kv)) return { ca: await PrivateCa.load(kv), created: false };
      return { ca: await PrivateCa.create(kv, create), created: true };
    });
  }

  static async create(kv: KeyValueStore, opts: CreateCaOptions): Promise<PrivateCa> {
    await refuseOverwrite(kv, opts.force);
    const permitted = (opts.permittedNames ?? []).map(parsePermittedName);
    assertPermitted(opts.mustPermit ?? [], permitted, 'the CA about to be created from tls.ca.permittedNames');
    const { keys, pkcs8Pem } = await generateP256();
    const now = opts.now ?? new Date();
    const notAfter = new Date(now);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + opts.validityYears);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ];
    if (permitted.length > 0) extensions.push(nameConstraintsExtension(permitted));
    const cn = (opts.commonName ?? `minato private CA (${os.hostname()})`).replace(/[,+=<>#;"\\]/g, ' ');
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: [{ CN: [cn] }, { O: ['minato'] }],
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter,
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      extensions,
    });
    const certPem = cert.toString('pem') + '\n';
    await writeCa(kv, certPem, pkcs8Pem, opts.force);
    return PrivateCa.load(kv);
  }

  /** Imports an existing CA (e.g. easy-rsa's pki/ca.crt + pki/private/ca.key); the key is stored unencrypted. */
  static async import(kv: KeyValueStore, opts: ImportCaOptions): Promise<PrivateCa> {
    await refuseOverwrite(kv, opts.force);
    const ca = await PrivateCa.validate(kv, opts.certPem, opts.keyPem, 'the CA certificate', 'the CA key', opts.passphrase, opts.now ?? new Date());
    const keyPem = ca.signer.key.export({ format: 'pem', type: 'pkcs8' }).toString();
    await writeCa(kv, ca.certPem, keyPem, opts.force);
    return PrivateCa.load(kv);
  }

  private static async validate(kv: KeyValueStore, certText: string, keyText: string, certName: string, keyName: string, passphrase: string | undefined, now: Date): Promise<PrivateCa> {
    const blocks = splitPemCertificates(certText);
    if (blocks.length === 0) throw new PrivateCaError(`${certName} holds no PEM certificate`);
    const certPem = blocks[0]!;
    let nodeCert: NodeX509;
    let cert: x509.X509Certificate;
    try {
      nodeCert = new NodeX509(certPem);
      cert = new x509.X509Certificate(certPem);
    } catch (err) {
      throw new PrivateCaError(`${certName} cannot be parsed: ${(err as Error).message}`);
    }
    const key = parsePrivateKey(keyText, keyName, passphrase);
    if (!nodeCert.checkPrivateKey(key)) throw new PrivateCaError(`${keyName} does not belong to ${certName} (${subjectOf(cert)})`);
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) throw new PrivateCaError(`${certName} (${subjectOf(cert)}) is not a CA certificate (basicConstraints CA:TRUE is missing)`);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) throw new PrivateCaError(`${certName} may not sign certificates (keyUsage lacks keyCertSign)`);
    if (cert.notAfter.getTime() <= now.getTime()) throw new PrivateCaError(`${certName} expired on ${cert.notAfter.toISOString()}`);
    const warnings: string[] = [];
    const selfSigned = await cert.isSelfSigned();
    if (!selfSigned) warnings.push(`${certName} is not a self-signed root; clients must trust its root, or this certificate itself as the anchor`);
    const left = cert.notAfter.getTime() - now.getTime();
    if (left < 90 * 86400_000) warnings.push(`${certName} expires on ${cert.notAfter.toISOString()}; server certificates cannot outlive it`);
    return new PrivateCa(kv, certPem, cert, await signingKey(key, keyName), warnings);
  }

  info(): CaInfo {
    return {
      subject: subjectOf(this.cert),
      fingerprintSha256: createHash('sha256').update(Buffer.from(this.cert.rawData)).digest('hex').toUpperCase().match(/../g)!.join(':'),
      serial: this.cert.serialNumber,
      notBefore: this.cert.notBefore.toISOString(),
      notAfter: this.cert.notAfter.toISOString(),
      key: this.signer.description,
      selfSigned: this.warnings.every((w) => !w.includes('not a self-signed')),
      nameConstraints: this.cert.extensions.some((e) => e.type === NAME_CONSTRAINTS_OID),
    };
  }

  /** The permitted subtrees of this CA's name constraints, when it has any and they are DNS/IP. */
  permittedNames(): PermittedName[] {
    const ext = this.cert.extensions.find((e) => e.type === NAME_CONSTRAINTS_OID);
    return ext ? decodePermitted(Buffer.from(ext.value)) : [];
  }

  /** The same, as text ("lan", "192.168.0.0/16"). */
  permittedNamesText(): string[] {
    return this.permittedNames().map(formatPermittedName);
  }

  /**
   * Issues a server certificate (ECDSA P-256, serverAuth) for DNS names and IP addresses. It never
   * outlives the CA. Names outside the CA's name constraints are refused: clients would reject them.
   */
  async issueServerCertificate(names: string[], validityMs: number, now = new Date()): Promise<IssuedCertificate> {
    if (names.length === 0) throw new PrivateCaError('no names to put in the server certificate (tls.ca.names is empty)');
    assertPermitted(names, this.permittedNames(), `the CA in ${this.location}`);
    const { keys, pkcs8Pem } = await generateP256();
    const backdate = Math.min(60_000, Math.floor(validityMs / 10));
    const notBefore = new Date(now.getTime() - backdate);
    const notAfter = new Date(Math.min(now.getTime() + validityMs, this.cert.notAfter.getTime()));
    const ski = this.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const dns = names.filter((n) => !isIP(n));
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: [{ CN: [dns[0] ?? names[0]!] }],
      issuer: this.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.signer.cryptoKey,
      signingAlgorithm: this.signer.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(this.cert.publicKey),
      ],
    });
    return { certPem: leaf.toString('pem') + '\n' + this.certPem, keyPem: pkcs8Pem, notBefore, notAfter };
  }

  /** The stored server certificate and key (PEM), or undefined while there is none. */
  async loadServerCertificate(): Promise<{ certPem: string; keyPem: string; certName: string; keyName: string } | undefined> {
    const [cert, key] = await Promise.all([this.kv.load(CA_KEYS.serverCert), this.kv.load(CA_KEYS.serverKey)]);
    if (!cert || !key) return undefined;
    return { certPem: cert.toString('utf8'), keyPem: key.toString('utf8'), certName: describeKey(this.kv, CA_KEYS.serverCert), keyName: describeKey(this.kv, CA_KEYS.serverKey) };
  }

  /** When the server certificate was last stored (by any replica), or undefined. */
  serverCertificateModified(): Promise<number | undefined> {
    return this.kv.modified(CA_KEYS.serverCert);
  }

  /** Persists a server certificate next to the CA. */
  async saveServerCertificate(issued: Pick<IssuedCertificate, 'certPem' | 'keyPem'>): Promise<void> {
    // Key first: a crash in between leaves a key that matches no certificate, which the loader
    // detects and re-issues, never a certificate served with a stale key.
    await this.kv.store(CA_KEYS.serverKey, Buffer.from(issued.keyPem));
    await this.kv.store(CA_KEYS.serverCert, Buffer.from(issued.certPem));
  }
}

/**
 * Refuses names outside a CA's name constraints (clients would reject a certificate carrying
 * them), naming them, the constraints and which CA; `ca` says which one ("the CA in <dir>").
 */
export function assertPermitted(names: string[], permitted: PermittedName[], ca: string): void {
  const { outside } = partitionPermitted(names, permitted);
  if (outside.length === 0) return;
  throw new PrivateCaError(
    `the name constraints of ${ca} (${permitted.map(formatPermittedName).join(', ')}) do not permit ${outside.join(', ')}; clients would reject the certificate. ` +
      'Change tls.ca.names (or externalUrl), or the constraints: tls.ca.permittedNames applies when minato creates the CA ("minato ca init --force" makes a new one, which every client must trust again)',
  );
}

/** The canonical form of the configured names: lower-case DNS names, compressed IPs, no duplicates, in the given order. */
export function normalizeNames(names: string[]): string[] {
  const out = new Set<string>();
  for (const raw of names) {
    const n = raw.trim().replace(/^\[|\]$/g, '');
    if (n === '') continue;
    if (isIP(n)) out.add(new URL(`http://${isIP(n) === 6 ? `[${n}]` : n}/`).hostname.replace(/^\[|\]$/g, ''));
    else if (/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(n)) out.add(n.toLowerCase().replace(/\.$/, ''));
    else throw new PrivateCaError(`"${raw}" is neither a DNS name nor an IP address`);
  }
  return [...out];
}

function subjectOf(cert: x509.X509Certificate): string {
  return cert.subject;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  if (b[0] === 0) b[0] = 1; // and minimal (no leading zero byte)
  return b.toString('hex');
}

async function refuseOverwrite(kv: KeyValueStore, force: boolean | undefined): Promise<void> {
  if (!force && (await PrivateCa.exists(kv))) {
    throw new PrivateCaError(`a CA already exists in ${caLocation(kv)}; every client that trusts it would have to trust a new one. Use --force to replace it`);
  }
}

/**
 * Key first, then certificate (a CA "exists" once either does). Without force the key is stored
 * only if absent: a CA someone else created in the meantime is never overwritten.
 */
async function writeCa(kv: KeyValueStore, certPem: string, keyPem: string, force: boolean | undefined): Promise<void> {
  if (force) await kv.store(CA_KEYS.caKey, Buffer.from(keyPem));
  else if (!(await kv.storeIfAbsent(CA_KEYS.caKey, Buffer.from(keyPem)))) {
    throw new PrivateCaError(`a CA was created in ${caLocation(kv)} at the same moment; use that one (or --force to replace it)`);
  }
  await kv.store(CA_KEYS.caCert, Buffer.from(certPem));
}

/** Reads back the permitted DNS and IP subtrees written by nameConstraintsExtension (and openssl). */
function decodePermitted(der: Buffer): PermittedName[] {
  const out: PermittedName[] = [];
  const read = (buf: Buffer, at: number) => {
    const tag = buf[at]!;
    let len = buf[at + 1]!;
    let off = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | buf[off + i]!;
      off += n;
    }
    return { tag, body: buf.subarray(off, off + len), end: off + len };
  };
  const top = read(der, 0);
  for (let at = 0; at < top.body.length; ) {
    const part = read(top.body, at);
    at = part.end;
    if (part.tag !== 0xa0) continue; // excluded subtrees are not used here
    for (let s = 0; s < part.body.length; ) {
      const subtree = read(part.body, s);
      s = subtree.end;
      const base = read(subtree.body, 0);
      if (base.tag === 0x82) out.push({ type: 'dns', value: base.body.toString('ascii').replace(/^\./, '').toLowerCase() });
      else if (base.tag === 0x87) {
        const half = base.body.length / 2;
        out.push({ type: 'ip', address: Buffer.from(base.body.subarray(0, half)), mask: Buffer.from(base.body.subarray(half)) });
      } // other kinds (directoryName, email, URI) do not constrain DNS names or IPs
    }
  }
  return out;
}
