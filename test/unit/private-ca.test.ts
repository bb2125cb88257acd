// The built-in private CA: creation (constraints, key modes), import of openssl-made CAs in every
// key format, server certificate issuance (SANs, EKU, AKI, chain verified by openssl), and the
// certificate provider's reuse across restarts, re-issue on name change and timed renewal.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { runOk } from '../helpers/peers.js';
import { tempDir } from '../helpers/registry.js';
import { isPermitted, parsePermittedName } from '../../src/tls/name-constraints.js';
import type { Coordination } from '../../src/coordination/coordination.js';
import { FileKeyValueStore } from '../../src/coordination/files.js';
import { openCoordination } from '../../src/coordination/open.js';
import { CA_KEYS, normalizeNames, PrivateCa } from '../../src/tls/private-ca.js';
import { PrivateCaCertificates } from '../../src/tls/private-ca-certificates.js';
import type { ServingCertificate } from '../../src/tls/certificate-provider.js';

const silent = pino({ level: 'silent' });
const DAY = 86_400_000;

/** The embedded asset store of a data directory: its files. */
const files = (dataDir: string) => new FileKeyValueStore(dataDir);

/** Where the CA's keys are as files in a data directory (the layout minato has always had). */
function caPaths(dataDir: string) {
  const f = files(dataDir);
  return { dir: f.locate('ca'), caCert: f.locate(CA_KEYS.caCert), caKey: f.locate(CA_KEYS.caKey), serverCert: f.locate(CA_KEYS.serverCert), serverKey: f.locate(CA_KEYS.serverKey) };
}

// One embedded locker for the providers below (its own directory: the data dirs stay as minato leaves them).
let coordination: Coordination;
let lockDir: string;
before(async () => {
  lockDir = await tempDir('minato-ca-locks-');
  coordination = await openCoordination({ driver: 'sqlite', dataDir: lockDir });
});
after(async () => {
  await coordination.close();
  await rm(lockDir, { recursive: true, force: true });
});

async function opensslText(pemFile: string): Promise<string> {
  return (await runOk('openssl', ['x509', '-in', pemFile, '-noout', '-text'])).stdout;
}

/** Splits server.crt into leaf and chain files and runs openssl verify against the CA only. */
async function opensslVerify(dir: string, caFile: string, chainPem: string): Promise<string> {
  const leaf = path.join(dir, 'leaf-only.pem');
  await writeFile(leaf, chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
  return (await runOk('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFile, leaf])).stdout;
}

describe('private CA', () => {
  let tmp: string;
  before(async () => {
    tmp = await tempDir('minato-ca-unit-');
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('creates an ECDSA P-256 root with CA constraints, key usage, SKI and name constraints; key 0600 in a 0700 dir', async () => {
    const data = path.join(tmp, 'create');
    const ca = await PrivateCa.create(files(data), { validityYears: 10, permittedNames: ['example.internal', 'localhost', '127.0.0.0/8', '::1', 'fd00::/8'] });
    const p = caPaths(data);
    assert.equal((await stat(p.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(p.caKey)).mode & 0o777, 0o600);
    const text = await opensslText(p.caCert);
    assert.match(text, /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(text, /Subject Key Identifier/);
    assert.match(text, /Name Constraints: critical\s+Permitted:\s+DNS:example.internal\s+DNS:localhost\s+IP:127.0.0.0\/255.0.0.0\s+IP:0:0:0:0:0:0:0:1\/FFFF(:FFFF){7}\s+IP:FD00:0:0:0:0:0:0:0\/FF00:0:0:0:0:0:0:0/);
    const info = ca.info();
    const years = (Date.parse(info.notAfter) - Date.now()) / (365.25 * DAY);
    assert.ok(years > 9.9 && years < 10.1, `CA lifetime ${years} years`);
    assert.equal(info.nameConstraints, true);
    assert.equal(info.key, 'ECDSA P-256');
    assert.equal(info.fingerprintSha256, new X509Certificate(await readFile(p.caCert)).fingerprint256);
    await assert.rejects(PrivateCa.create(files(data), { validityYears: 1 }), /already exists.*--force/);
    const replaced = await PrivateCa.create(files(data), { validityYears: 1, force: true });
    assert.notEqual(replaced.info().fingerprintSha256, info.fingerprintSha256);
  });

  test('issues a P-256 serverAuth leaf with every DNS and IP name, AKI = CA SKI, that openssl verifies', async () => {
    const data = path.join(tmp, 'issue');
    const ca = await PrivateCa.create(files(data), { validityYears: 10, permittedNames: ['localhost', 'example.internal', '127.0.0.0/8', '::1'] });
    const names = ['localhost', 'reg.example.internal', '127.0.0.1', '::1'];
    const issued = await ca.issueServerCertificate(names, 90 * DAY);
    await ca.saveServerCertificate(issued);
    const p = caPaths(data);
    assert.equal((await stat(p.serverKey)).mode & 0o777, 0o600);
    assert.equal((issued.certPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'chain = leaf + CA');
    assert.ok(issued.certPem.endsWith(ca.certPem), 'the CA follows the leaf');
    assert.match(await opensslVerify(tmp, p.caCert, issued.certPem), /OK/);
    const text = await opensslText(p.serverCert);
    assert.match(text, /DNS:localhost, DNS:reg.example.internal, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Public-Key: \(256 bit\)/);
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(await opensslText(p.caCert))![1];
    assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
    const leaf = new X509Certificate(issued.certPem);
    const days = (Date.parse(leaf.validTo) - Date.now()) / DAY;
    assert.ok(days > 89.9 && days <= 90, `leaf lifetime ${days} days`);
    // Names outside the name constraints would be rejected by clients: refused at issuance.
    await assert.rejects(ca.issueServerCertificate(['registry.example.com'], DAY), /the name constraints of the CA in .* do not permit registry\.example\.com/);
    await assert.rejects(ca.issueServerCertificate(['10.0.0.1'], DAY), /do not permit 10.0.0.1/);
  });

  test('imports openssl-made CAs with PKCS#8, SEC1 and PKCS#1 RSA keys and refuses mismatches and non-CAs', async () => {
    const dir = path.join(tmp, 'openssl');
    await runOk('mkdir', ['-p', dir]);
    const f = (n: string) => path.join(dir, n);
    const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
    // peers.md section 1: PKCS#8 "PRIVATE KEY"
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=peers test CA', '-keyout', f('p8.key'), '-out', f('p8.pem'), ...caExt]);
    // SEC1 "EC PRIVATE KEY" (what easy-rsa with EASYRSA_ALGO=ec writes), on P-384
    await runOk('openssl', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', f('sec1.key')]);
    await runOk('openssl', ['req', '-x509', '-key', f('sec1.key'), '-days', '30', '-subj', '/CN=sec1 CA', '-out', f('sec1.pem'), ...caExt]);
    // PKCS#1 "RSA PRIVATE KEY" (easy-rsa's default algorithm)
    await runOk('openssl', ['genrsa', '-traditional', '-out', f('rsa.key'), '2048']);
    await runOk('openssl', ['req', '-x509', '-key', f('rsa.key'), '-days', '30', '-subj', '/CN=rsa CA', '-out', f('rsa.pem'), ...caExt]);
    // An encrypted key, and a certificate that is not a CA.
    await runOk('openssl', ['pkey', '-in', f('p8.key'), '-aes256', '-passout', 'pass:s3cret', '-out', f('enc.key')]);
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=not a CA', '-keyout', f('leaf.key'), '-out', f('leaf.pem'), '-addext', 'basicConstraints=critical,CA:FALSE']);
    assert.match(await readFile(f('sec1.key'), 'utf8'), /BEGIN EC PRIVATE KEY/);
    assert.match(await readFile(f('rsa.key'), 'utf8'), /BEGIN RSA PRIVATE KEY/);

    const cases = [
      { cert: 'p8.pem', key: 'p8.key', desc: 'ECDSA P-256' },
      { cert: 'sec1.pem', key: 'sec1.key', desc: 'ECDSA P-384' },
      { cert: 'rsa.pem', key: 'rsa.key', desc: 'RSA 2048' },
    ];
    for (const c of cases) {
      const data = path.join(tmp, `import-${c.key}`);
      // CRLF line endings, as files copied from Windows have.
      const certPem = (await readFile(f(c.cert), 'utf8')).replace(/\n/g, '\r\n');
      const ca = await PrivateCa.import(files(data), { certPem, keyPem: await readFile(f(c.key), 'utf8') });
      assert.equal(ca.info().key, c.desc);
      assert.equal((await stat(caPaths(data).caKey)).mode & 0o777, 0o600);
      assert.match(await readFile(caPaths(data).caKey, 'utf8'), /^-----BEGIN PRIVATE KEY-----/, 'stored as PKCS#8');
      const issued = await ca.issueServerCertificate(['localhost', '127.0.0.1'], DAY);
      assert.match(await opensslVerify(tmp, f(c.cert), issued.certPem), /OK/, `leaf of the ${c.desc} CA verifies against the original ca.pem`);
      const reloaded = await PrivateCa.load(files(data));
      assert.equal(reloaded.info().fingerprintSha256, ca.info().fingerprintSha256);
      await assert.rejects(PrivateCa.import(files(data), { certPem, keyPem: await readFile(f(c.key), 'utf8') }), /already exists/);
    }
    const p8 = await readFile(f('p8.pem'), 'utf8');
    await assert.rejects(PrivateCa.import(files(path.join(tmp, 'bad1')), { certPem: p8, keyPem: await readFile(f('rsa.key'), 'utf8') }), /does not belong to/);
    await assert.rejects(PrivateCa.import(files(path.join(tmp, 'bad2')), { certPem: await readFile(f('leaf.pem'), 'utf8'), keyPem: await readFile(f('leaf.key'), 'utf8') }), /not a CA certificate/);
    await assert.rejects(PrivateCa.import(files(path.join(tmp, 'bad3')), { certPem: p8, keyPem: await readFile(f('enc.key'), 'utf8') }), /encrypted/);
    const enc = await PrivateCa.import(files(path.join(tmp, 'enc')), { certPem: p8, keyPem: await readFile(f('enc.key'), 'utf8'), passphrase: 's3cret' });
    assert.equal(enc.info().key, 'ECDSA P-256');
    assert.equal(await PrivateCa.exists(files(path.join(tmp, 'bad1'))), false, 'a refused import leaves nothing behind');
  });

  test('names: DNS lower-cased, IPs canonical, duplicates dropped; constraints match subdomains and ranges', () => {
    assert.deepEqual(normalizeNames(['LocalHost', '127.0.0.1', '::1', '[0:0::1]', 'localhost', 'reg.lan.']), ['localhost', '127.0.0.1', '::1', 'reg.lan']);
    assert.throws(() => normalizeNames(['bad name']), /neither a DNS name nor an IP/);
    const permitted = ['lan', '10.0.0.0/8', 'fd00::/8'].map(parsePermittedName);
    assert.ok(isPermitted('registry.lan', permitted));
    assert.ok(isPermitted('lan', permitted));
    assert.ok(!isPermitted('evil-lan', permitted));
    assert.ok(isPermitted('10.1.2.3', permitted));
    assert.ok(!isPermitted('11.0.0.1', permitted));
    assert.ok(isPermitted('fd12::1', permitted));
    assert.ok(!isPermitted('2001:db8::1', permitted));
    assert.throws(() => parsePermittedName('10.0.0.0/33'), /prefix length/);
  });
});

describe('PrivateCaCertificates (tls.mode ca)', () => {
  let tmp: string;
  before(async () => {
    tmp = await tempDir('minato-ca-provider-');
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const provider = (dataDir: string, names: string[], validityMs = 90 * DAY) =>
    new PrivateCaCertificates({ kv: files(dataDir), locker: coordination.locker, names, validityMs, caValidityYears: 10, permittedNames: [] }, silent);

  test('creates the CA at first start, reuses the stored certificate across restarts, re-issues when names change', async () => {
    const data = path.join(tmp, 'reuse');
    const first = provider(data, ['localhost', '127.0.0.1', '::1']);
    await first.start();
    const serial = first.current()!.leaf.serialNumber;
    const ca = await readFile(caPaths(data).caCert, 'utf8');
    assert.equal(first.caCertificatePem(), ca);
    assert.equal(first.status().source, 'ca');
    assert.deepEqual(first.status().names, ['localhost', '127.0.0.1', '::1']);
    const next = Date.parse(first.status().nextRenewal!);
    assert.ok(Math.abs(next - (Date.now() + 60 * DAY)) < DAY, 'renewal planned when a third of 90 days remains');
    first.stop();

    const second = provider(data, ['127.0.0.1', 'localhost', '::1']); // same set, other order
    await second.start();
    assert.equal(second.current()!.leaf.serialNumber, serial, 'the stored certificate is reused');
    assert.equal(await readFile(caPaths(data).caCert, 'utf8'), ca, 'the CA is kept');
    second.stop();

    const third = provider(data, ['localhost', '127.0.0.1', '::1', 'registry.lan']);
    await third.start();
    assert.notEqual(third.current()!.leaf.serialNumber, serial, 'new names, new certificate');
    assert.match(third.current()!.leaf.subjectAltName!, /DNS:registry.lan/);
    third.stop();

    // A replaced CA: the stored certificate no longer chains to it and is re-issued.
    await PrivateCa.create(files(data), { validityYears: 1, force: true });
    const fourth = provider(data, ['localhost', '127.0.0.1', '::1', 'registry.lan']);
    await fourth.start();
    const newCa = new X509Certificate(await readFile(caPaths(data).caCert));
    assert.ok(fourth.current()!.leaf.checkIssued(newCa));
    fourth.stop();
  });

  test('renews when a third of a (short) lifetime remains and tells the listener', async () => {
    const data = path.join(tmp, 'renew');
    const p = provider(data, ['localhost'], 3000);
    await p.start();
    const first = p.current()!;
    const from = Date.parse(first.leaf.validFrom);
    const to = Date.parse(first.leaf.validTo);
    const renewAt = Date.parse(p.status().nextRenewal!);
    assert.ok(Math.abs(renewAt - (to - (to - from) / 3)) < 5, 'renewal at two thirds of the lifetime');
    const renewed = await new Promise<ServingCertificate>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no renewal within 6 s')), 6000);
      p.onChange((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    p.stop();
    assert.notEqual(renewed.leaf.serialNumber, first.leaf.serialNumber);
    assert.equal(p.current(), renewed);
    assert.ok(Date.now() < to, 'renewed before the old certificate expired');
    const stored = new X509Certificate(await readFile(caPaths(data).serverCert));
    assert.equal(stored.serialNumber, renewed.leaf.serialNumber, 'the renewed certificate is persisted');
    assert.equal((await stat(caPaths(data).serverKey)).mode & 0o777, 0o600);
  });
});

describe('PrivateCaCertificates with a name-constrained CA', () => {
  let tmp: string;
  before(async () => {
    tmp = await tempDir('minato-ca-constrained-');
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const logged = () => {
    const lines: Array<{ level: number; msg: string; leftOut?: string[] }> = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    return { log, warnings: () => lines.filter((l) => l.level === 40) };
  };
  const constrained = (dataDir: string, names: string[], log = silent) =>
    new PrivateCaCertificates(
      { kv: files(dataDir), locker: coordination.locker, names, optionalNames: ['localhost', '127.0.0.1', '::1', 'buildhost'], validityMs: 90 * DAY, caValidityYears: 10, permittedNames: ['lan', '192.168.0.0/16'] },
      log,
    );

  test('default names the constraints exclude are left out with one warning naming them', async () => {
    const { log, warnings } = logged();
    const p = constrained(path.join(tmp, 'fits'), ['registry.lan', '192.168.1.10'], log);
    await p.start();
    p.stop();
    assert.equal(p.current()!.leaf.subjectAltName, 'DNS:registry.lan, IP Address:192.168.1.10');
    assert.equal(warnings().length, 1);
    assert.deepEqual(warnings()[0]!.leftOut, ['localhost', '127.0.0.1', '::1', 'buildhost']);
    assert.match(warnings()[0]!.msg, /^left out of the server certificate: localhost, 127\.0\.0\.1, ::1, buildhost: the CA's name constraints \(lan, 192\.168\.0\.0\/16\) do not permit them/);
  });

  test('a configured name outside the constraints stops start-up before a new CA is written', async () => {
    const data = path.join(tmp, 'outside');
    await assert.rejects(
      constrained(data, ['registry.lan', 'registry.example.com']).start(),
      /the name constraints of the CA about to be created from tls\.ca\.permittedNames \(lan, 192\.168\.0\.0\/16\) do not permit registry\.example\.com; clients would reject the certificate/,
    );
    assert.equal(await PrivateCa.exists(files(data)), false, 'no CA was left on disk');
  });

  test('a configured name outside the constraints of an existing CA stops start-up; the CA is kept', async () => {
    const data = path.join(tmp, 'existing');
    await PrivateCa.create(files(data), { validityYears: 10, permittedNames: ['lan'] });
    const ca = await readFile(caPaths(data).caCert, 'utf8');
    await assert.rejects(constrained(data, ['nas.example.com']).start(), /the name constraints of the CA in .*\/ca \(lan\) do not permit nas\.example\.com/);
    assert.equal(await readFile(caPaths(data).caCert, 'utf8'), ca);
    await assert.rejects(stat(caPaths(data).serverCert), { code: 'ENOENT' });
  });
});
