// The proxy detector: one warning, naming what it saw and the proxy lines that fix it, only when
// minato cannot know the origin; silent for direct clients and well-configured proxies.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import pino from 'pino';
import { ClientAddresses } from '../../../src/server/client-address.js';
import { ExternalUrl } from '../../../src/server/external-url.js';
import { ProxyWarning } from '../../../src/server/proxy-warning.js';

const TRUSTED = ['127.0.0.1', '::1'];

function fakeRequest(headers: Record<string, string>, remoteAddress = '127.0.0.1', localPort = 5000): FastifyRequest {
  return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), raw: { socket: { remoteAddress, localPort } } } as unknown as FastifyRequest;
}

function detector(externalUrl?: string, scheme: 'http' | 'https' = 'http') {
  const lines: Array<{ msg: string; seen: string[]; remote?: string }> = [];
  const log = pino(new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  const warning = ProxyWarning.create(new ExternalUrl(externalUrl, new ClientAddresses(TRUSTED), scheme), TRUSTED, log);
  return { warning, lines };
}

test('a Host port other than the listening one, without X-Forwarded-Proto, is warned about once with the fix', () => {
  const { warning, lines } = detector();
  assert.ok(warning);
  for (let i = 0; i < 5; i++) warning.observe(fakeRequest({ Host: 'localhost:8443' }));
  assert.equal(lines.length, 1, 'one line, not one per request');
  const { msg, seen } = lines[0]!;
  assert.deepEqual(seen, ['the Host port 8443 differs from the port minato listens on (5000)']);
  assert.match(msg, /requests arrive through a proxy \(the Host port 8443 differs from the port minato listens on \(5000\)\) that sends no X-Forwarded-Proto/);
  assert.match(msg, /challenges them with Basic/);
  assert.ok(msg.includes('proxy_set_header X-Forwarded-Proto $scheme;'), msg);
  assert.ok(msg.includes('http-request set-header X-Forwarded-Proto https if { ssl_fc }'), msg);
  assert.match(msg, /externalUrl/);
});

test('proxy headers count as signs of a proxy; a Host without port means port 80', () => {
  const { warning } = detector();
  assert.deepEqual(warning!.check(fakeRequest({ Host: '127.0.0.1:5000', 'X-Forwarded-For': '10.0.0.1', Via: '1.1 proxy' }))?.seen, ['Via present', 'X-Forwarded-For present']);
  assert.deepEqual(warning!.check(fakeRequest({ Host: '127.0.0.1:5000', 'X-Real-IP': '10.0.0.1' }))?.seen, ['X-Real-IP present']);
  assert.deepEqual(warning!.check(fakeRequest({ Host: 'registry.example.com' }))?.seen, ['the Host port 80 differs from the port minato listens on (5000)']);
  assert.equal(warning!.check(fakeRequest({ Host: 'registry.example.com' }, '127.0.0.1', 80)), undefined);
  assert.equal(warning!.check(fakeRequest({ Host: '[::1]:5000' }, '::1')), undefined);
});

test('direct clients and proxies that send X-Forwarded-Proto from a trusted address are not warned about', () => {
  const { warning, lines } = detector();
  warning!.observe(fakeRequest({ Host: '127.0.0.1:5000' }));
  warning!.observe(fakeRequest({ Host: 'localhost:8443', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '10.0.0.1' }));
  assert.equal(lines.length, 0);
});

test('X-Forwarded-Proto from an address outside trustedProxies is warned about, naming the address', () => {
  const { warning, lines } = detector();
  warning!.observe(fakeRequest({ Host: 'registry.example.com', 'X-Forwarded-Proto': 'https' }, '10.1.2.3'));
  warning!.observe(fakeRequest({ Host: 'localhost:8443' }));
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.remote, '10.1.2.3');
  assert.match(lines[0]!.msg, /a request from 10\.1\.2\.3 sent X-Forwarded-Proto, but 10\.1\.2\.3 is not in trustedProxies \(127\.0\.0\.1, ::1\), so the header is ignored/);
  assert.match(lines[0]!.msg, /add it to trustedProxies \(MINATO_TRUSTED_PROXIES\)/);
});

test('no detector when the origin is certain: externalUrl set, or minato serves TLS itself', () => {
  assert.equal(detector('https://registry.example.com').warning, undefined);
  assert.equal(detector(undefined, 'https').warning, undefined);
});
