// HTTPS from certificate files: full chain served whatever shape the PEM is in, clear refusal of
// a wrong key, warnings for an incomplete chain, live reload, TLS 1.2 minimum.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync as readFileSyncFs } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { assembleCertificate, CertificateError } from '../../src/tls/cert-files.js';
import { request } from '../helpers/http.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';

let dir: string;
let pki: TestPki;
let other: TestPki;

before(async () => {
  dir = await tempDir();
  pki = await makeTestPki(dir, ['localhost', '127.0.0.1'], 'a');
  other = await makeTestPki(dir, ['localhost', '127.0.0.1'], 'b');
});
after(() => rm(dir, { recursive: true, force: true }));

/** The certificate chain the server presents to a new connection. */
function peerChain(port: number, ca: string, opts: tls.ConnectionOptions = {}): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...opts }, () => {
      const chain: X509Certificate[] = [];
      let cert = socket.getPeerX509Certificate();
      while (cert && !chain.some((c) => c.fingerprint256 === cert!.fingerprint256)) {
        chain.push(cert);
        cert = cert.issuerCertificate;
      }
      socket.end();
      resolve(chain);
    });
    socket.on('error', reject);
  });
}

describe('PEM repair', () => {
  test('CRLF, glued certificates and wrong order are repaired into leaf + chain', async () => {
    const leaf = await readFile(pki.leafCert, 'utf8');
    const int = await readFile(pki.intermediateCert, 'utf8');
    const glued = (int.trim() + leaf.trim()).replace(/\n/g, '\r\n'); // no newline between, CRLF, wrong order
    const out = assembleCertificate(glued, await readFile(pki.leafKey, 'utf8'), 'cert.pem', 'key.pem');
    assert.equal(out.chain.length, 2);
    assert.equal(out.chain[0]!.fingerprint256, new X509Certificate(leaf).fingerprint256);
    assert.ok(out.warnings.some((w) => /was not first/.test(w)));
  });

  test('a leaf-only file warns about the missing intermediate', async () => {
    const out = assembleCertificate(await readFile(pki.leafCert, 'utf8'), await readFile(pki.leafKey, 'utf8'), 'cert.pem', 'key.pem');
    assert.ok(out.warnings.some((w) => /only the server certificate/.test(w) && /fullchain/.test(w)), out.warnings.join('\n'));
  });

  test('a key that matches no certificate is refused with a clear message', async () => {
    assert.throws(
      () => assembleCertificate(readFileSync(pki.leafCert), readFileSync(other.leafKey), 'cert.pem', 'key.pem'),
      (err: unknown) => err instanceof CertificateError && /does not match any certificate/.test(err.message),
    );
    assert.throws(() => assembleCertificate('garbage', 'garbage', 'cert.pem', 'key.pem'), /no PEM certificate/);
  });
});

function readFileSync(file: string): string {
  return readFileSyncFs(file, 'utf8');
}

describe('HTTPS listener', () => {
  let reg: TestRegistry;
  let certFile: string;
  let keyFile: string;
  let port: number;
  let bothRoots: string;

  before(async () => {
    certFile = path.join(dir, 'served.pem');
    keyFile = path.join(dir, 'served.key');
    // Leaf-only + intermediate, given in the wrong order, as people do.
    await writeFile(certFile, (await readFile(pki.intermediateCert, 'utf8')) + (await readFile(pki.leafCert, 'utf8')));
    await writeFile(keyFile, await readFile(pki.leafKey, 'utf8'));
    reg = await startTestRegistry({ tls: { cert: certFile, key: keyFile, reloadCheckSeconds: 1 } });
    port = Number(new URL(reg.url).port);
    bothRoots = (await readFile(pki.caCert, 'utf8')) + (await readFile(other.caCert, 'utf8'));
  });
  after(() => reg.close());

  test('serves leaf + intermediate, so a client with only the root trusts it', async () => {
    assert.match(reg.url, /^https:\/\//);
    const chain = await peerChain(port, await readFile(pki.caCert, 'utf8'));
    assert.equal(chain[0]!.subject.includes('CN=localhost'), true);
    assert.ok(chain.some((c) => c.subject.includes('intermediate')));
    const res = await request(`https://localhost:${port}/v2/`, { ca: await readFile(pki.caCert, 'utf8'), headers: { Authorization: reg.basic } });
    assert.equal(res.status, 200);
  });

  test('the certificate API opens for a user, not for a bearer token scoped to repositories', async () => {
    const ca = await readFile(pki.caCert, 'utf8');
    const base = `https://localhost:${port}`;
    const tok = await request(`${base}/token?service=minato&scope=repository:any/repo:pull,push`, { ca, headers: { Authorization: reg.basic } });
    assert.equal(tok.status, 200, tok.text);
    const withToken = await request(`${base}/api/v1/certificate`, { ca, headers: { Authorization: `Bearer ${tok.json().token}` } });
    assert.equal(withToken.status, 401, withToken.text);
    assert.equal((await request(`${base}/api/v1/certificate`, { ca, headers: { Authorization: reg.basic } })).status, 200);
  });

  test('refuses TLS 1.1', async () => {
    await assert.rejects(peerChain(port, bothRoots, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  });

  test('TLS 1.2 offers only AEAD suites with forward secrecy: CBC-SHA is refused, GCM and ChaCha20 work', async () => {
    const tls12 = { maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' } as const;
    for (const cbc of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'AES128-GCM-SHA256']) {
      await assert.rejects(peerChain(port, bothRoots, { ...tls12, ciphers: cbc }), /handshake failure|no ciphers/i, cbc);
    }
    for (const aead of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      assert.ok((await peerChain(port, bothRoots, { ...tls12, ciphers: aead })).length > 0, aead);
    }
    assert.ok((await peerChain(port, bothRoots, { minVersion: 'TLSv1.3' })).length > 0, 'TLS 1.3');
  });

  test('new certificate files are picked up live; an open connection keeps working', async () => {
    const ca = bothRoots;
    // A keep-alive connection opened before the swap.
    const agentSocket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    await new Promise((r) => agentSocket.once('secureConnect', r));
    const before = agentSocket.getPeerX509Certificate()!.fingerprint256;

    await writeFile(certFile, (await readFile(other.leafCert, 'utf8')) + (await readFile(other.intermediateCert, 'utf8')));
    await writeFile(keyFile, await readFile(other.leafKey, 'utf8'));
    const expected = new X509Certificate(await readFile(other.leafCert, 'utf8')).fingerprint256;
    const deadline = Date.now() + 10_000;
    let now = '';
    while (Date.now() < deadline) {
      now = (await peerChain(port, ca))[0]!.fingerprint256;
      if (now === expected) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(now, expected, 'new connections should get the new certificate');
    assert.notEqual(before, expected);

    // The old connection still answers a request.
    agentSocket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    const reply = await new Promise<string>((resolve) => {
      let data = '';
      agentSocket.on('data', (d) => (data += d));
      agentSocket.on('end', () => resolve(data));
    });
    assert.match(reply, /^HTTP\/1.1 200/);
  });

  test('broken replacement files are ignored and the current certificate stays', async () => {
    const current = (await peerChain(port, bothRoots))[0]!.fingerprint256;
    await writeFile(keyFile, await readFile(pki.leafKey, 'utf8')); // key of another certificate
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await peerChain(port, bothRoots))[0]!.fingerprint256, current);
  });
});

describe('start-up with bad files', () => {
  test('a mismatched key stops start-up with the reason', async () => {
    await assert.rejects(startTestRegistry({ tls: { cert: pki.leafCert, key: other.leafKey } }), /does not match any certificate/);
    await assert.rejects(startTestRegistry({ tls: { cert: path.join(dir, 'missing.pem'), key: pki.leafKey } }), /cannot read/);
  });

  test('tls.ciphers replaces the TLS 1.2 list; one naming no cipher stops start-up saying so', async () => {
    const fullchain = path.join(dir, 'ciphers-fullchain.pem');
    await writeFile(fullchain, (await readFile(pki.leafCert, 'utf8')) + (await readFile(pki.intermediateCert, 'utf8')));
    const reg = await startTestRegistry({ tls: { cert: fullchain, key: pki.leafKey, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' } });
    try {
      const port = Number(new URL(reg.url).port);
      const ca = await readFile(pki.caCert, 'utf8');
      const tls12 = { maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' } as const;
      await assert.rejects(peerChain(port, ca, { ...tls12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
      assert.ok((await peerChain(port, ca, { ...tls12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' })).length > 0);
    } finally {
      await reg.close();
    }
    await assert.rejects(startTestRegistry({ tls: { cert: pki.leafCert, key: pki.leafKey, ciphers: 'NOT-A-CIPHER' } }), /tls\.ciphers "NOT-A-CIPHER" selects no cipher/);
  });
});
