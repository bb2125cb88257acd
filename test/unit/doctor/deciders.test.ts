// The pure deciders of `minato doctor`: target parsing, challenge and JWT reading, the address
// a client would use (an AAAA-only name without an IPv6 route cannot be set up for real here),
// and the chain cases nginx refuses to serve (a CA certificate first).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { chainVerdict, expiryVerdict } from '../../../src/doctor/chain.js';
import { jwtTimes, parseChallenges } from '../../../src/doctor/challenge.js';
import { resolutionVerdict } from '../../../src/doctor/network-checks.js';
import { parseTarget, TargetError } from '../../../src/doctor/target.js';
import { certificatesSent } from '../../../src/doctor/tls-probe.js';
import { tempDir } from '../../helpers/registry.js';
import { makeTestPki } from '../../helpers/tls.js';

describe('parseTarget', () => {
  test('host, host:port and URLs, as clients read them', () => {
    assert.deepEqual(parseTarget('registry.example.test'), {
      origin: 'https://registry.example.test', scheme: 'https', hostname: 'registry.example.test', port: 443, hostPort: 'registry.example.test', ip: false,
    });
    assert.equal(parseTarget('registry.example.test:5443').hostPort, 'registry.example.test:5443');
    assert.equal(parseTarget('https://registry.example.test:443/v2/').origin, 'https://registry.example.test');
    const v6 = parseTarget('[::1]:5000');
    assert.equal(v6.hostname, '::1');
    assert.equal(v6.ip, true);
    assert.equal(v6.port, 5000);
    assert.equal(parseTarget('http://127.0.0.1:5000').port, 5000);
    assert.equal(parseTarget('http://127.0.0.1').port, 80);
  });

  for (const bad of ['', 'ftp://x', 'https://', 'https://u:p@x', 'x/team/app', 'https://x/?a=b']) {
    test(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseTarget(bad), TargetError));
  }
});

describe('parseChallenges', () => {
  test('Bearer with quoted params (commas inside quotes) and a second challenge', () => {
    const c = parseChallenges('Bearer realm="https://r.test/token",service="registry",scope="repository:a/b:pull,push", Basic realm="x \\"y\\""');
    assert.deepEqual(c, [
      { scheme: 'bearer', params: { realm: 'https://r.test/token', service: 'registry', scope: 'repository:a/b:pull,push' } },
      { scheme: 'basic', params: { realm: 'x "y"' } },
    ]);
  });
  test('unquoted params and garbage', () => {
    assert.deepEqual(parseChallenges('Basic realm=minato'), [{ scheme: 'basic', params: { realm: 'minato' } }]);
    assert.deepEqual(parseChallenges(''), []);
  });
});

test('jwtTimes reads exp/nbf/iat without verifying; not a JWT gives undefined', () => {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.deepEqual(jwtTimes(`${part({ alg: 'ES256' })}.${part({ exp: 20, nbf: 5, iat: 10, sub: 'x' })}.sig`), { exp: 20, nbf: 5, iat: 10 });
  assert.equal(jwtTimes('opaque-token'), undefined);
  assert.equal(jwtTimes('a.!!!.c'), undefined);
});

describe('resolutionVerdict', () => {
  test('a name with only AAAA records and no IPv6 route fails, with the fix', () => {
    const v = resolutionVerdict('v6only.example.test', [{ address: '2001:db8::1', family: 6, routable: false }]);
    assert.equal(v.status, 'fail');
    assert.match(v.cause!, /resolves only to IPv6 \(AAAA\) addresses and this machine has no IPv6 route/);
    assert.match(v.fix!, /add an A record/);
  });
  test('A and AAAA, no IPv6 route: warn, and the client uses the IPv4 address', () => {
    const v = resolutionVerdict('dual.example.test', [
      { address: '2001:db8::1', family: 6, routable: false },
      { address: '192.0.2.10', family: 4, routable: true },
    ]);
    assert.equal(v.status, 'warn');
    assert.equal(v.use?.address, '192.0.2.10');
    assert.match(v.detail, /A: 192\.0\.2\.10; AAAA: 2001:db8::1; would use 192\.0\.2\.10/);
  });
  test('the first routable address in resolver order is the one used', () => {
    const v = resolutionVerdict('x', [{ address: '192.0.2.1', family: 4, routable: true }, { address: '192.0.2.2', family: 4, routable: true }]);
    assert.equal(v.status, 'pass');
    assert.equal(v.use?.address, '192.0.2.1');
  });
});

test('certificatesSent: bytes that are no TLS 1.2 handshake give undefined, never a throw', () => {
  assert.equal(certificatesSent(Buffer.alloc(0)), undefined);
  assert.equal(certificatesSent(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), undefined);
  // A Certificate message that claims more bytes than there are.
  assert.equal(certificatesSent(Buffer.from([22, 3, 3, 0, 8, 11, 0, 0, 4, 0, 0, 9, 0])), undefined);
});

describe('chainVerdict and expiryVerdict', () => {
  let dir: string;
  let leaf: X509Certificate;
  let int: X509Certificate;
  let root: X509Certificate;
  let stranger: X509Certificate;
  before(async () => {
    dir = await tempDir('minato-doctor-unit-');
    const [pki, other] = await Promise.all([makeTestPki(dir), makeTestPki(dir, ['other.test'], 'other')]);
    const load = async (f: string) => new X509Certificate(await readFile(f));
    [leaf, int, root, stranger] = await Promise.all([load(pki.leafCert), load(pki.intermediateCert), load(pki.caCert), load(other.leafCert)]);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a CA certificate sent first fails: the server certificate must come first', () => {
    const v = chainVerdict([int, leaf], [root]);
    assert.equal(v.status, 'fail');
    assert.match(v.detail, /the first certificate is CN=minato test intermediate, a CA; the server's own \(CN=localhost\) comes later/);
  });
  test('leaf only: fails unless its issuer is a root known here', () => {
    assert.equal(chainVerdict([leaf], [root]).status, 'fail');
    assert.equal(chainVerdict([leaf], [int]).status, 'pass');
  });
  test('leaf + intermediate + root passes and says the root is sent', () => {
    assert.deepEqual(chainVerdict([leaf, int, root], []), { status: 'pass', detail: 'server sends leaf + 1 intermediate + root' });
  });
  test('a certificate that is not part of the chain is a warning', () => {
    const v = chainVerdict([leaf, int, stranger], [root]);
    assert.equal(v.status, 'warn');
    assert.match(v.detail, /plus 1 certificate\(s\) not in the chain: CN=other\.test/);
  });
  test('expiry: under 14 days warns, not yet valid fails', () => {
    const to = Date.parse(leaf.validTo);
    assert.equal(expiryVerdict([leaf], to - 20 * 86_400_000).status, 'pass');
    assert.equal(expiryVerdict([leaf], to - 5 * 86_400_000).status, 'warn');
    assert.equal(expiryVerdict([leaf], Date.parse(leaf.validFrom) - 1000).status, 'fail');
    assert.match(expiryVerdict([leaf], to + 1000).detail, /expired on/);
  });
});
