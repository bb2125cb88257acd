// A throw-away CA and server certificate made with the openssl CLI, for HTTPS tests.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  caCert: string;
  caKey: string;
  /** Leaf only. */
  leafCert: string;
  leafKey: string;
  /** Intermediate CA between root and leaf (the leaf is issued by it). */
  intermediateCert: string;
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
  return { caCert: p('ca.pem'), caKey: p('ca.key'), leafCert: p('leaf.pem'), leafKey: p('leaf.key'), intermediateCert: p('int.pem') };
}
