// `minato doctor` against real failures: minato serving TLS files itself; minato and CNCF
// Distribution behind nginx terminating TLS, configured well and naively (no X-Forwarded-Proto,
// nginx's default 1 MiB body limit); nginx serving a leaf-only chain, an expired certificate,
// one about to expire, one for another name, one without the IP address, a chain out of order;
// and Distribution with a token realm on the wrong scheme, or with a token service whose clock is
// behind. Each run is the built CLI with --json; the test asserts which check fails or warns, with
// which cause, and the exit status.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Check, DoctorReport } from '../../src/doctor/check.js';
import { caCertDir, concatPem, freePort, htpasswdFile, run, startDistribution, startNginx, type RunningDistribution, type RunningNginx } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { issueTestCert, makeTestPki, type TestPki } from '../helpers/tls.js';

const USER = 'prober';
const PASSWORD = 'prober-Pa55';
const DAY = 86_400_000;

let tmp: string;
let nginxDir: string;
let pki: TestPki;
let dockerCerts: string; // stand-ins for /etc/docker/certs.d and /etc/containers/certs.d
let containersCerts: string;
let minatoTls: ServeProcess;
let minatoPlain: ServeProcess;
let distGood: RunningDistribution;
let distNaive: RunningDistribution;
let distToken: RunningDistribution;
let distSkewed: RunningDistribution;
let tokenService: https.Server;
let nginx: RunningNginx;
/** 127.0.0.1:PORT of each nginx server block. */
const proxy: Record<string, string> = {};

/**
 * The minato behind the proxies, forced to the Docker token flow: behind the NAIVE proxy (no
 * X-Forwarded-Proto) its realm comes out http://, the wrong-scheme realm doctor must catch.
 */
function tokenBackendConfig(htpasswd: string): Record<string, unknown> {
  // challenge: 'bearer' forces the realm the default ('auto') would avoid here by challenging with Basic.
  // The user administers the registry, so the probe may push into library (as an operator's would).
  return { data: path.join(tmp, 'plain'), auth: { htpasswd, admins: [USER], challenge: 'bearer', token: { enabled: true } }, log: { level: 'info' } };
}

before(async () => {
  tmp = await tempDir('minato-e2e-doctor-');
  nginxDir = await tempDir('minato-e2e-doctor-nginx-'); // world-readable: nginx's workers read the keys and temp dir
  dockerCerts = path.join(tmp, 'docker-certs.d');
  containersCerts = path.join(tmp, 'containers-certs.d');
  pki = await makeTestPki(tmp, ['localhost', '127.0.0.1']);
  const chain = await concatPem(path.join(nginxDir, 'chain.pem'), [pki.leafCert, pki.intermediateCert]);
  const outOfOrder = await concatPem(path.join(nginxDir, 'out-of-order.pem'), [pki.leafCert, pki.caCert, pki.intermediateCert]);
  const key = path.join(nginxDir, 'leaf.key');
  await writeFile(key, await readFile(pki.leafKey), { mode: 0o600 });
  const now = Date.now();
  const issue = async (tag: string, names: string[], from: number, to: number) => {
    const c = await issueTestCert(pki, nginxDir, { tag, names, notBefore: new Date(from), notAfter: new Date(to) });
    return { cert: await concatPem(path.join(nginxDir, `${tag}-chain.pem`), [c.cert, pki.intermediateCert]), key: c.key };
  };
  const expired = await issue('expired', ['localhost', '127.0.0.1'], now - 30 * DAY, now - DAY);
  const expiring = await issue('expiring', ['localhost', '127.0.0.1'], now - 60 * DAY, now + 5 * DAY);
  const otherName = await issue('other', ['registry.other.test'], now - DAY, now + 30 * DAY);
  const dnsOnly = await issue('dnsonly', ['localhost'], now - DAY, now + 30 * DAY);
  const htpasswd = await htpasswdFile(path.join(tmp, 'htpasswd'), { [USER]: PASSWORD });

  const tlsConfig = path.join(tmp, 'tls.json');
  await writeFile(tlsConfig, JSON.stringify({ data: path.join(tmp, 'tls'), auth: { htpasswd, admins: [USER] }, tls: { cert: chain, key } }));
  const plainConfig = path.join(tmp, 'plain.json');
  await writeFile(plainConfig, JSON.stringify(tokenBackendConfig(htpasswd)));
  // Distribution's token auth needs a bundle to verify tokens with; any certificate will do, nothing gets that far.
  const tokenAddr = `127.0.0.1:${await freePort()}`;
  [minatoTls, minatoPlain, distGood, distNaive] = await Promise.all([
    spawnServe(['-c', tlsConfig]),
    spawnServe(['-c', plainConfig]),
    startDistribution(path.join(tmp, 'dist-good'), { htpasswd, deleteEnabled: true }),
    startDistribution(path.join(tmp, 'dist-naive'), { htpasswd, deleteEnabled: false }),
  ]);
  const minato = new URL(minatoPlain.url).host;

  // A token service (a test double: Distribution issues no tokens) whose clock is 15 minutes
  // behind: its 5-minute tokens have expired when they arrive.
  tokenService = https.createServer({ cert: await readFile(chain), key: await readFile(key) }, (_req, res) => {
    const now = Math.floor(Date.now() / 1000) - 900;
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ token: `${part({ alg: 'ES256', typ: 'JWT' })}.${part({ iss: 'test', aud: 'registry', iat: now, nbf: now, exp: now + 300 })}.c2ln`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => tokenService.listen(0, '127.0.0.1', resolve));
  distSkewed = await startDistribution(path.join(tmp, 'dist-skewed'), {
    token: { realm: `https://127.0.0.1:${(tokenService.address() as AddressInfo).port}/token`, service: 'registry', issuer: 'test', rootCertBundle: pki.caCert },
  });

  const good = (port: number, upstream: string, cert = chain, certKey = key) => `
  server {
    listen 127.0.0.1:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${certKey};
    client_max_body_size 0;
    location / {
      proxy_pass http://${upstream};
      proxy_set_header Host              $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }`;
  // Only proxy_pass and Host: no X-Forwarded-Proto; `limit` false keeps nginx's default 1 MiB body limit.
  const naive = (port: number, upstream: string, limit: boolean) => `
  server {
    listen 127.0.0.1:${port} ssl; ssl_certificate ${chain}; ssl_certificate_key ${key};
    ${limit ? '' : 'client_max_body_size 0;'}
    location / { proxy_pass http://${upstream}; proxy_set_header Host $http_host; }
  }`;
  const blocks: Array<[string, (port: number) => string]> = [
    ['good', (p) => good(p, minato)],
    ['naive', (p) => naive(p, minato, false)],
    ['naiveLimit', (p) => naive(p, minato, true)],
    ['leafOnly', (p) => good(p, minato, pki.leafCert)],
    ['outOfOrder', (p) => good(p, minato, outOfOrder)],
    ['expired', (p) => good(p, minato, expired.cert, expired.key)],
    ['expiring', (p) => good(p, minato, expiring.cert, expiring.key)],
    ['otherName', (p) => good(p, minato, otherName.cert, otherName.key)],
    ['dnsOnly', (p) => good(p, minato, dnsOnly.cert, dnsOnly.key)],
    ['distGood', (p) => good(p, distGood.addr)],
    ['distNaive', (p) => naive(p, distNaive.addr, false)],
    ['distToken', (p) => good(p, tokenAddr)],
    ['distSkewed', (p) => good(p, distSkewed.addr)],
  ];
  nginx = await startNginx(nginxDir, blocks.length, (ports) => blocks.map(([, block], i) => block(ports[i]!)).join('\n'));
  blocks.forEach(([name], i) => (proxy[name] = `127.0.0.1:${nginx.ports[i]}`));
  // A realm on plain HTTP pointing at nginx's TLS port, independent of minato: Distribution's realm
  // is static. It starts after nginx, whose port the realm names; nginx connects only per request.
  distToken = await startDistribution(path.join(tmp, 'dist-token'), {
    addr: tokenAddr,
    token: { realm: `http://${proxy.distToken}/token`, service: 'registry', issuer: 'test', rootCertBundle: pki.caCert },
  });
});

after(async () => {
  await nginx?.stop();
  await Promise.all([minatoTls?.stop(), minatoPlain?.stop(), distGood?.stop(), distNaive?.stop(), distToken?.stop(), distSkewed?.stop()]);
  await new Promise((resolve) => (tokenService ? tokenService.close(resolve) : resolve(undefined)));
  for (const d of [tmp, nginxDir]) if (d) await rm(d, { recursive: true, force: true });
});

interface Run {
  code: number;
  report: DoctorReport;
  stderr: string;
  check(id: string): Check;
}

/** `minato doctor TARGET --json` with the test's certs.d stand-ins; logs in as USER unless `anonymous`. */
async function doctor(target: string, args: string[] = [], opts: { anonymous?: boolean } = {}): Promise<Run> {
  const login = opts.anonymous ? [] : ['--user', USER, '--password-stdin'];
  const r = await run(process.execPath, [CLI, 'doctor', target, '--json', '--docker-certs-dir', dockerCerts, '--containers-certs-dir', containersCerts, ...login, ...args], {
    input: `${PASSWORD}\n`,
    timeoutMs: 60_000,
  });
  let report: DoctorReport;
  try {
    report = JSON.parse(r.stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return {
    code: r.code,
    report,
    stderr: r.stderr,
    check(id) {
      const c = report.checks.find((x) => x.id === id);
      assert.ok(c, `no check ${id} in ${report.checks.map((x) => x.id).join(', ')}`);
      return c;
    },
  };
}

function show(r: Run): string {
  return r.report.checks.map((c) => `${c.status} ${c.id}: ${c.detail}${c.cause ? ` | ${c.cause}` : ''}`).join('\n');
}

function assertStatus(r: Run, id: string, status: Check['status'], pattern?: RegExp): Check {
  const c = r.check(id);
  assert.equal(c.status, status, `${id}\n${show(r)}`);
  if (pattern) assert.match(`${c.detail} | ${c.cause ?? ''} | ${c.fix ?? ''}`, pattern, `${id}\n${show(r)}`);
  return c;
}

const PUSH = ['push.blob', 'push.chunked', 'push.location', 'push.digest', 'push.cleanup'];

describe('minato serving TLS files itself', () => {
  test('with --ca-file: nothing fails, the probe push round-trips and is deleted (exit 0)', async () => {
    const r = await doctor(new URL(minatoTls.url).host, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.report.ok, true);
    assert.equal(r.report.target, minatoTls.url);
    for (const id of ['dns.resolve', 'tcp.connect', 'tls.handshake', 'tls.name', 'tls.expiry', 'tls.trust.ca-file', 'http.v2', 'http.challenge', 'http.clock', 'auth.token', 'auth.login', ...PUSH]) {
      assertStatus(r, id, 'pass');
    }
    assertStatus(r, 'tls.chain', 'pass', /leaf \+ 1 intermediate/);
    assertStatus(r, 'http.v2', 'pass', /Docker-Distribution-API-Version: registry\/2\.0/);
    assertStatus(r, 'auth.token', 'pass', /JWT, expires in \d+ s/);
    assertStatus(r, 'push.chunked', 'pass', /2097152 bytes/);
    // The CA is in --ca-file only: docker and podman here would not trust it, and doctor says how to fix that.
    assertStatus(r, 'tls.trust.docker', 'warn', new RegExp(`cp ${pki.caCert.replace(/[.]/g, '\\.')} ${dockerCerts}/127\\.0\\.0\\.1:\\d+/ca\\.crt`));
    assertStatus(r, 'tls.trust.docker', 'warn', /docker skips certificate checks for registries on 127\.0\.0\.0\/8/);
    assertStatus(r, 'tls.trust.system', 'warn', /update-ca-certificates/);
    // The blobs are gone: a second probe push starts from nothing and is deleted again.
    const again = await doctor(new URL(minatoTls.url).host, ['--ca-file', pki.caCert]);
    assertStatus(again, 'push.cleanup', 'pass', /deleted the 2 probe blob/);
  });

  test('without --ca-file: unknown CA, every store fails, no credentials are sent (exit 1)', async () => {
    const r = await doctor(new URL(minatoTls.url).host);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.report.ok, false);
    assertStatus(r, 'tls.chain', 'pass');
    for (const store of ['system', 'docker', 'containers']) {
      assertStatus(r, `tls.trust.${store}`, 'fail', /UNABLE_TO_GET_ISSUER_CERT_LOCALLY \| this store does not hold CN=minato test root, the CA the chain leads to.*certificate signed by unknown authority/);
    }
    assertStatus(r, 'http.v2', 'pass', /certificate not verified/);
    for (const id of ['auth.token', 'auth.login', ...PUSH]) assertStatus(r, id, 'skip', /no credentials sent: the certificate is not accepted/);
  });

  test("docker's and podman's certs.d directories count as those clients read them", async () => {
    const host = new URL(minatoTls.url).host;
    await caCertDir(path.join(dockerCerts, host), pki.caCert);
    try {
      const r = await doctor(host, ['--no-push']);
      assert.equal(r.code, 0, show(r));
      assertStatus(r, 'tls.trust.docker', 'pass', new RegExp(`${dockerCerts}/${host}`));
      // containers/image falls back to /etc/docker/certs.d when /etc/containers/certs.d has no directory for the host.
      assertStatus(r, 'tls.trust.containers', 'pass', new RegExp(`${dockerCerts}/${host}`));
      assertStatus(r, 'tls.trust.system', 'warn');
      for (const id of PUSH) assertStatus(r, id, 'skip', /--no-push/);
      // A CA saved as ca.cert is read as a client certificate without its key: docker fails.
      await writeFile(path.join(dockerCerts, host, 'ca.cert'), await readFile(pki.caCert));
      const broken = await doctor(host, ['--no-push']);
      assertStatus(broken, 'tls.trust.docker', 'fail', /ca\.cert is read as a client certificate and its key ca\.key is missing; if it is the CA certificate, rename it to ca\.crt/);
    } finally {
      await rm(path.join(dockerCerts, host), { recursive: true, force: true });
    }
  });
});

describe('minato behind nginx', () => {
  test('GOOD proxy: everything passes, including the probe push (exit 0)', async () => {
    const r = await doctor(proxy.good!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 0, show(r));
    assertStatus(r, 'http.challenge', 'pass', new RegExp(`Bearer realm="https://${proxy.good!.replace(/\./g, '\\.')}/token"`));
    for (const id of ['auth.token', 'auth.login', ...PUSH]) assertStatus(r, id, 'pass');
    assertStatus(r, 'push.location', 'pass', /absolute on https:/);
  });

  test('NAIVE proxy: the token realm is http://, the token request meets the 400 (exit 1)', async () => {
    const r = await doctor(proxy.naive!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    const challenge = assertStatus(r, 'http.challenge', 'fail', new RegExp(`realm is http://${proxy.naive!.replace(/\./g, '\\.')}, plain HTTP`));
    assert.match(challenge.cause!, /Requesting bearer token: invalid status code from registry 400 \(Bad Request\)/);
    assert.match(challenge.fix!, /proxy_set_header X-Forwarded-Proto \$scheme;/);
    assert.match(challenge.fix!, /externalUrl: https:\/\//);
    assertStatus(r, 'auth.token', 'fail', /400 "The plain HTTP request was sent to HTTPS port"/);
    assertStatus(r, 'auth.login', 'skip', /accepts Basic credentials directly/);
    // minato sends relative Locations and takes Basic, so the rest of the push works through the naive proxy.
    for (const id of PUSH) assertStatus(r, id, 'pass');
    assertStatus(r, 'push.location', 'pass', /5 relative/);
  });

  test("NAIVE proxy with nginx's default body limit: the 2 MiB chunk gets 413, client_max_body_size is named (exit 1)", async () => {
    const r = await doctor(proxy.naiveLimit!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'push.blob', 'pass');
    const chunk = assertStatus(r, 'push.chunked', 'fail', /413 Request Entity Too Large \(Server: nginx/);
    assert.match(chunk.cause!, /client_max_body_size, 1 MiB by default/);
    assert.match(chunk.fix!, /client_max_body_size 0;/);
    assertStatus(r, 'push.digest', 'skip');
    assertStatus(r, 'push.cleanup', 'pass', /deleted the 1 probe blob/);
  });

  test('leaf-only chain: "serve fullchain.pem, not cert.pem" (exit 1)', async () => {
    const r = await doctor(proxy.leafOnly!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    const chain = assertStatus(r, 'tls.chain', 'fail', /server sends leaf only; its issuer CN=minato test intermediate is not sent/);
    assert.match(chain.fix!, /fullchain\.pem; \(not cert\.pem\)/);
    assertStatus(r, 'tls.trust.ca-file', 'fail', /UNABLE_TO_VERIFY_LEAF_SIGNATURE \| the server does not send the issuer of its certificate \(CN=minato test intermediate\).*see tls\.chain/);
    assertStatus(r, 'push.blob', 'skip', /no credentials sent/);
  });

  test('chain out of order: a warning, clients mostly cope (exit 0)', async () => {
    const r = await doctor(proxy.outOfOrder!, ['--ca-file', pki.caCert, '--no-push']);
    assert.equal(r.code, 0, show(r));
    assertStatus(r, 'tls.chain', 'warn', /out of order: CN=localhost -> CN=minato test root -> CN=minato test intermediate/);
  });

  test('expired certificate: tls.expiry fails (exit 1)', async () => {
    const r = await doctor(proxy.expired!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'tls.expiry', 'fail', /the server certificate expired on .*certificate has expired or is not yet valid/);
    assertStatus(r, 'tls.trust.ca-file', 'fail', /CERT_HAS_EXPIRED/);
    assertStatus(r, 'auth.login', 'skip', /see tls\.expiry/);
  });

  test('certificate expiring in 5 days: a warning (exit 0)', async () => {
    const r = await doctor(proxy.expiring!, ['--ca-file', pki.caCert, '--no-push']);
    assert.equal(r.code, 0, show(r));
    assertStatus(r, 'tls.expiry', 'warn', /\(4 days\).*expires in less than 14 days/);
  });

  test('certificate for another name: tls.name fails, and says which names it has (exit 1)', async () => {
    const port = proxy.otherName!.split(':')[1];
    const r = await doctor(`https://localhost:${port}`, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'dns.resolve', 'pass', /A: 127\.0\.0\.1/);
    const name = assertStatus(r, 'tls.name', 'fail', /localhost is not in the certificate \(registry\.other\.test\)/);
    assert.match(name.cause!, /certificate is valid for registry\.other\.test, not localhost/);
    assert.match(name.fix!, new RegExp(`https://registry\\.other\\.test:${port}`));
    assertStatus(r, 'tls.trust.ca-file', 'pass'); // the chain itself is fine
    assertStatus(r, 'auth.login', 'skip', /see tls\.name/);
  });

  test('IP address not in the SANs: tls.name fails (exit 1)', async () => {
    const r = await doctor(proxy.dnsOnly!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'tls.name', 'fail', /127\.0\.0\.1 is not in the certificate \(localhost\).*doesn't contain any IP SANs/);
    // The same server by the name it has passes.
    const byName = await doctor(`https://localhost:${proxy.dnsOnly!.split(':')[1]}`, ['--ca-file', pki.caCert, '--no-push']);
    assert.equal(byName.code, 0, show(byName));
    assertStatus(byName, 'tls.name', 'pass');
  });
});

describe('CNCF Distribution behind nginx (not minato)', () => {
  test('GOOD proxy: everything passes, the probe blobs are deleted (exit 0)', async () => {
    const r = await doctor(proxy.distGood!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 0, show(r));
    assertStatus(r, 'http.challenge', 'pass', /^Basic realm="test-registry"/);
    assertStatus(r, 'auth.token', 'skip', /Basic challenge/);
    assertStatus(r, 'auth.login', 'pass');
    for (const id of PUSH) assertStatus(r, id, 'pass');
    assertStatus(r, 'push.location', 'pass', /0 relative, 5 absolute on https:/);
  });

  test('NAIVE proxy: Locations say http:// (the unknown-blob failure); deletes are disabled and doctor says so (exit 1)', async () => {
    const r = await doctor(proxy.distNaive!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    const location = assertStatus(r, 'push.location', 'fail', new RegExp(`Location http://${proxy.distNaive!.replace(/\./g, '\\.')}/v2/library/minato-doctor-probe/blobs/uploads/`));
    assert.match(location.cause!, /unknown blob/);
    assert.match(location.fix!, /proxy_set_header X-Forwarded-Proto \$scheme;.*relativeurls: true/);
    // doctor went on with the right origin: the rest of the push worked.
    for (const id of ['push.blob', 'push.chunked', 'push.digest']) assertStatus(r, id, 'pass');
    assertStatus(r, 'push.cleanup', 'warn', /405 UNSUPPORTED.*does not allow deletes.*storage\.delete\.enabled: true/);
  });

  test('token realm on plain HTTP (a static realm: http://): http.challenge fails (exit 1)', async () => {
    const r = await doctor(proxy.distToken!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'http.challenge', 'fail', /realm is http:\/\/.*Requesting bearer token: invalid status code from registry 400/);
    assertStatus(r, 'auth.token', 'fail', /400 "The plain HTTP request was sent to HTTPS port"/);
  });

  test('a token service whose clock is 15 minutes behind: the token expired on arrival (exit 1)', async () => {
    const r = await doctor(proxy.distSkewed!, ['--ca-file', pki.caCert]);
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'http.challenge', 'pass', /\(token service on 127\.0\.0\.1:\d+\)/);
    assertStatus(r, 'http.clock', 'pass'); // the registry's own clock is right
    assertStatus(r, 'auth.token', 'fail', /JWT, expired \d+ s ago.*the token expired on arrival: exp .*The token service's clock is behind/);
    assertStatus(r, 'auth.login', 'fail', /refused a fresh token/);
  });
});

describe('reaching the registry at all', () => {
  test('plain HTTP: a warning about clients refusing it; the API and the push work (exit 0)', async () => {
    const r = await doctor(minatoPlain.url);
    assert.equal(r.code, 0, show(r));
    assertStatus(r, 'tls.handshake', 'warn', /insecure-registries/);
    assertStatus(r, 'tls.chain', 'skip', /plain HTTP/);
    for (const id of ['http.v2', 'auth.token', 'auth.login', ...PUSH]) assertStatus(r, id, 'pass');
  });

  test('https:// on a plain-HTTP port: tls.handshake fails with the cause (exit 1)', async () => {
    const r = await doctor(new URL(minatoPlain.url).host, [], { anonymous: true });
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'tls.handshake', 'fail', /answers plain HTTP, not TLS.*use http:\/\//);
    assertStatus(r, 'http.v2', 'skip');
  });

  test('http:// on an HTTPS port: nginx answers 400, doctor says to use https:// (exit 1)', async () => {
    const r = await doctor(`http://${proxy.good}`, [], { anonymous: true });
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'http.v2', 'fail', new RegExp(`400.*is an HTTPS port.*use https://${proxy.good!.replace(/\./g, '\\.')}`));
  });

  test('nothing listens: tcp.connect fails, everything after is skipped (exit 1)', async () => {
    const port = await freePort();
    const r = await doctor(`127.0.0.1:${port}`, [], { anonymous: true });
    assert.equal(r.code, 1, show(r));
    assertStatus(r, 'tcp.connect', 'fail', /ECONNREFUSED.*nothing listens/);
    for (const c of r.report.checks.slice(2)) assert.equal(c.status, 'skip', `${c.id} after a failed connect\n${show(r)}`);
  });

  test('text output: one line per check, cause and fix indented under a failure', async () => {
    const r = await run(process.execPath, [CLI, 'doctor', proxy.naiveLimit!, '--ca-file', pki.caCert, '--user', USER, '--password-stdin',
      '--docker-certs-dir', dockerCerts, '--containers-certs-dir', containersCerts], { input: PASSWORD });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^minato doctor: https:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(r.stdout, /\nPASS {2}dns\.resolve {11}127\.0\.0\.1 is an IP address/);
    assert.match(r.stdout, /\nFAIL {2}push\.chunked {10}PATCH of 2097152 bytes: 413 Request Entity Too Large[^\n]*\n(?: {28}[^\n]*\n)*? {6}cause: a proxy[^\n]*\n(?: {13}[^\n]*\n)* {6}fix: {3}in the nginx server/);
    assert.match(r.stdout, /\nPROBLEMS FOUND: \d+ failed, \d+ warnings?, \d+ passed, \d+ skipped\n$/);
  });
});

describe('usage errors exit 2 with one line', () => {
  const cases: Array<[string, string[], RegExp, string?]> = [
    ['no registry', [], /error: missing required argument 'registry'/],
    ['a bad URL', ['https://'], /minato doctor: "https:\/\/" is not a registry URL/],
    ['a repository instead of a registry', ['registry.example.test/team/app'], /give the registry only \(https:\/\/registry\.example\.test\), not a path or a repository/],
    ['--password-stdin without --user', ['127.0.0.1:1', '--password-stdin'], /minato doctor: --password-stdin needs --user/],
    ['--user without a password', ['127.0.0.1:1', '--user', 'u'], /give the password of u on standard input \(--password-stdin\) or in MINATO_PASSWORD/],
    ['an unknown flag', ['127.0.0.1:1', '--bogus'], /error: unknown option '--bogus'/],
    ['an unreadable --ca-file', ['127.0.0.1:1', '--ca-file', '/nonexistent/ca.pem'], /cannot read --ca-file \/nonexistent\/ca\.pem: ENOENT/],
    ['a bad --repository', ['127.0.0.1:1', '--repository', 'Bad Name'], /--repository "Bad Name" is not a repository name/],
  ];
  for (const [what, args, message] of cases) {
    test(what, async () => {
      const r = await run(process.execPath, [CLI, 'doctor', ...args], { env: { MINATO_PASSWORD: '' } });
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line:\n${r.stderr}`);
      assert.equal(r.stdout, '');
    });
  }
});
