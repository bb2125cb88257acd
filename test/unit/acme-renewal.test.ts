// When certificates are renewed: the lifetime rule, renewBefore, the CA's ARI window (RFC 9773,
// against a spec-faithful fake since Pebble 2.4 has no ARI), and the retry backoff.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { ariCertId, fetchRenewalWindow } from '../../src/tls/acme/ari.js';
import { renewalTime, retryDelay } from '../../src/tls/acme/renewal-policy.js';
import { tempDir } from '../helpers/registry.js';
import { makeTestPki } from '../helpers/tls.js';

let dir: string;
let leafPem: string;
let leaf: X509Certificate;
before(async () => {
  dir = await tempDir();
  const pki = await makeTestPki(dir, ['registry.example.test'], 'ari');
  leafPem = readFileSync(pki.leafCert, 'utf8');
  leaf = new X509Certificate(leafPem);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('without ARI: renew when a third of the lifetime remains, slightly jittered earlier', () => {
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  const at = renewalTime(leaf, { random: () => 0 });
  assert.equal(at, to - (to - from) / 3);
  const jittered = renewalTime(leaf, { random: () => 1 });
  assert.ok(jittered < at && at - jittered <= 3600_000);
  assert.equal(renewalTime(leaf, { renewBeforeMs: 14 * 86_400_000, random: () => 0 }), to - 14 * 86_400_000);
});

test('with ARI: a time inside the window the CA suggested', () => {
  const window = { start: Date.now() + 1000, end: Date.now() + 5000 };
  for (const r of [0, 0.5, 0.999]) {
    const at = renewalTime(leaf, { ariWindow: window, random: () => r });
    assert.ok(at >= window.start && at <= window.end);
  }
});

test('retry backoff grows after each failure and is capped', () => {
  assert.equal(retryDelay(1), 60_000);
  assert.ok(retryDelay(3) > retryDelay(2));
  assert.equal(retryDelay(50), 86_400_000);
  assert.equal(retryDelay(50, { maxMs: 3600_000 }), 3600_000);
  assert.equal(retryDelay(1, { minMs: 1000 }), 1000);
});

test('the ARI certificate id is base64url(AKI key id) "." base64url(DER serial)', () => {
  const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'authorityKeyIdentifier', '-serial'], { input: leafPem }).toString();
  const keyId = /([0-9A-F]{2}(?::[0-9A-F]{2}){19})/.exec(text)![1]!.replace(/:/g, '');
  let serial = Buffer.from(/serial=([0-9A-F]+)/.exec(text)![1]!.padStart(2, '0'), 'hex');
  if (serial[0]! >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  assert.equal(ariCertId(leafPem), `${Buffer.from(keyId, 'hex').toString('base64url')}.${serial.toString('base64url')}`);
});

test('the renewal window is fetched from the directory’s renewalInfo endpoint', async () => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url!);
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    if (req.url === '/dir') return void res.end(JSON.stringify({ newOrder: `${base}/new-order`, renewalInfo: `${base}/renewal-info` }));
    if (req.url === `/renewal-info/${ariCertId(leafPem)}`) {
      res.setHeader('Retry-After', '21600');
      return void res.end(JSON.stringify({ suggestedWindow: { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' } }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const window = await fetchRenewalWindow(`${base}/dir`, leafPem);
    assert.deepEqual(window, { start: Date.parse('2030-01-01T00:00:00Z'), end: Date.parse('2030-01-02T00:00:00Z') });
    assert.deepEqual(seen, ['/dir', `/renewal-info/${ariCertId(leafPem)}`]);
    // A CA without ARI: no window, the lifetime rule applies.
    seen.length = 0;
    server.removeAllListeners('request');
    server.on('request', (_req, res) => res.end(JSON.stringify({ newOrder: 'x' })));
    assert.equal(await fetchRenewalWindow(`${base}/dir`, leafPem), undefined);
  } finally {
    server.close();
  }
});
