// A throw-away CA and server certificate made with the openssl CLI, for HTTPS tests, and more
// server certificates from its intermediate with any names and dates (expired, not yet valid,
// for another name), which openssl's x509 command cannot back-date.
import { execFile } from 'node:child_process';
import { randomBytes, type X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateP256, parsePrivateKey, signingKey } from '../../src/tls/ca-keys.js';
import * as x509 from '../../src/tls/x509.js';

const run = promisify(execFile);

export interface TestPki {
  caCert: string;
  caKey: string;
  /** Leaf only. */
  leafCert: string;
  leafKey: string;
  /** Intermediate CA between root and leaf (the leaf is issued by it). */
  intermediateCert: string;
  intermediateKey: string;
}

/**
 * root CA -> intermediate CA -> leaf for `names` (DNS names and IPs). The leaf's chain is
 * deliberately two deep, so tests can tell a full chain from a leaf-only file.
 */
export async function makeTestPki(dir: string, names = ['localhost', '127.0.0.1'], tag = 'test'): Promise<TestPki> {
  const p = (f: string) => path.join(dir, `${tag}-${f}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-days', '30', '-subj', `/CN=minato ${tag} root`, '-keyout', p('ca.key'), '-out', p('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', ...ec, '-subj', `/CN=minato ${tag} intermediate`, '-keyout', p('int.key'), '-out', p('int.csr')]);
  await writeFile(p('int.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  await run('openssl', ['x509', '-req', '-in', p('int.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '30', '-out', p('int.pem'), '-extfile', p('int.ext')]);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  await run('openssl', ['req', ...ec, '-subj', `/CN=${names[0]}`, '-keyout', p('leaf.key'), '-out', p('leaf.csr')]);
  await writeFile(p('leaf.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', ['x509', '-req', '-in', p('leaf.csr'), '-CA', p('int.pem'), '-CAkey', p('int.key'), '-CAcreateserial', '-days', '30', '-out', p('leaf.pem'), '-extfile', p('leaf.ext')]);
  return { caCert: p('ca.pem'), caKey: p('ca.key'), leafCert: p('leaf.pem'), leafKey: p('leaf.key'), intermediateCert: p('int.pem'), intermediateKey: p('int.key') };
}

/**
 * Another server certificate from the PKI's intermediate: `names` (DNS names and IPs) as SANs,
 * valid from `notBefore` to `notAfter`. Writes `<tag>-leaf.pem` (leaf only) and `<tag>-leaf.key`.
 */
export async function issueTestCert(
  pki: TestPki,
  dir: string,
  opts: { tag: string; names: string[]; notBefore: Date; notAfter: Date },
): Promise<{ cert: string; key: string }> {
  const issuer = new x509.X509Certificate(await readFile(pki.intermediateCert, 'utf8'));
  const signer = await signingKey(parsePrivateKey(await readFile(pki.intermediateKey, 'utf8'), pki.intermediateKey), pki.intermediateKey);
  const { keys, pkcs8Pem } = await generateP256();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: [{ CN: [opts.names[0]!] }],
    issuer: issuer.subjectName,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.cryptoKey,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(opts.names.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))),
    ],
  });
  const out = { cert: path.join(dir, `${opts.tag}-leaf.pem`), key: path.join(dir, `${opts.tag}-leaf.key`) };
  await writeFile(out.cert, cert.toString('pem') + '\n');
  await writeFile(out.key, pkcs8Pem, { mode: 0o600 });
  return out;
}

/** The leaf certificate a fresh TLS connection to 127.0.0.1:`port` (SNI localhost) is given; checked against `ca` when given. */
export function servedLeaf(port: number, ca?: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, rejectUnauthorized: ca !== undefined }, () => {
      const cert = s.getPeerX509Certificate()!;
      s.end();
      resolve(cert);
    });
    s.on('error', reject);
  });
}
