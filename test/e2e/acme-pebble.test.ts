// ACME end to end against Pebble: TLS-ALPN-01 and HTTP-01 issue certificates that skopeo trusts
// with Pebble's root as its only extra CA; restarts reuse the stored certificate; an unreachable
// CA at start-up or at renewal never takes the registry down; renewal under load drops nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from '../helpers/http.js';
import { makeOciLayout } from '../helpers/oci.js';
import { acmeServeEnv, startPebble, type Pebble } from '../helpers/pebble.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { servedLeaf } from '../helpers/tls.js';

const run = promisify(execFile);

let dir: string;
before(async () => {
  dir = await tempDir('minato-acme-');
});
after(() => rm(dir, { recursive: true, force: true }));

interface Setup {
  pebble: Pebble;
  httpPort: number;
  tlsPort: number;
}

async function setup(validitySeconds?: number): Promise<Setup> {
  const [httpPort, tlsPort] = await freePorts(2);
  const sub = path.join(dir, `pebble-${tlsPort}`);
  await mkdir(sub);
  const pebble = await startPebble({ dir: sub, httpPort: httpPort!, tlsPort: tlsPort!, validitySeconds });
  return { pebble, httpPort: httpPort!, tlsPort: tlsPort! };
}

function acmeEnv(s: Setup, challenges: string, extra: Record<string, string> = {}): Record<string, string> {
  return acmeServeEnv(s.pebble, s.httpPort, challenges, extra);
}

async function serve(s: Setup, data: string, env: Record<string, string>): Promise<ServeProcess> {
  return spawnServe(['--data', data, '--listen', `127.0.0.1:${s.tlsPort}`], env);
}

/** Pushes and inspects an image with skopeo trusting only Pebble's root. */
async function skopeoRoundTrip(s: Setup, password: string, repo: string): Promise<void> {
  const certDir = path.join(dir, `certs-${s.tlsPort}`);
  await mkdir(certDir, { recursive: true });
  await writeFile(path.join(certDir, 'ca.crt'), s.pebble.rootPem);
  const image = await makeOciLayout(path.join(dir, `img-${repo.replace(/\//g, '-')}`), 'v1', 4096);
  for (const host of ['localhost', '127.0.0.1']) {
    const ref = `docker://${host}:${s.tlsPort}/${repo}:v1`;
    await run('skopeo', ['copy', '--dest-creds', `admin:${password}`, '--dest-cert-dir', certDir, image.ref, ref]);
    const { stdout } = await run('skopeo', ['inspect', '--creds', `admin:${password}`, '--cert-dir', certDir, ref]);
    assert.equal(JSON.parse(stdout).Digest, image.manifestDigest);
  }
  // Without Pebble's root the same client refuses the registry.
  await assert.rejects(run('skopeo', ['inspect', '--creds', `admin:${password}`, `docker://localhost:${s.tlsPort}/${repo}:v1`]), /x509|certificate/);
}

describe('ACME with Pebble', { concurrency: false }, () => {
  test('TLS-ALPN-01 issues a certificate skopeo trusts; a restart reuses it without a new order', async () => {
    const s = await setup();
    const data = path.join(dir, 'alpn');
    let srv = await serve(s, data, acmeEnv(s, 'tls-alpn-01'));
    try {
      const leaf = await waitFor(() => servedLeaf(s.tlsPort, s.pebble.rootPem).catch(() => undefined), 20_000, 'a Pebble certificate');
      assert.match(leaf.subjectAltName!, /DNS:localhost/);
      assert.match(leaf.subjectAltName!, /IP Address:127\.0\.0\.1/);
      assert.match(srv.output(), /"challenge":"tls-alpn-01".*identifiers validated/);
      await skopeoRoundTrip(s, srv.adminPassword!, 'acme/alpn');
      const password = srv.adminPassword!;
      await srv.stop();

      srv = await serve(s, data, acmeEnv(s, 'tls-alpn-01'));
      const again = await servedLeaf(s.tlsPort, s.pebble.rootPem);
      assert.equal(again.serialNumber, leaf.serialNumber, 'the stored certificate is served after a restart');
      assert.match(srv.output(), /serving the stored ACME certificate/);
      assert.doesNotMatch(srv.output(), /ACME: ordering a certificate/);
      assert.equal((await request(`https://127.0.0.1:${s.tlsPort}/v2/`, { ca: s.pebble.rootPem, servername: 'localhost', headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } })).status, 200);

      // Operators see it with `minato cert status` (from the data dir) and renew on demand.
      const status = (await run(process.execPath, [CLI, 'cert', 'status', '--data', data])).stdout;
      assert.match(status, /names: +localhost, 127\.0\.0\.1/);
      assert.match(status, /issuer: +CN=Pebble Intermediate/);
      assert.match(status, new RegExp(`serial: +${leaf.serialNumber}`));
      assert.match(status, /last error: +none/);
      const apiFlags = ['--url', `https://127.0.0.1:${s.tlsPort}`, '--user', 'admin', '--ca-file', s.pebble.rootFile];
      const notDue = (await run(process.execPath, [CLI, 'cert', 'renew', ...apiFlags], { env: { ...process.env, MINATO_PASSWORD: password } })).stdout;
      assert.match(notDue, /not due/);
      const renewed = (await run(process.execPath, [CLI, 'cert', 'renew', '--force', ...apiFlags], { env: { ...process.env, MINATO_PASSWORD: password } })).stdout;
      assert.match(renewed, /renewed: serial /);
      const fresh = await servedLeaf(s.tlsPort, s.pebble.rootPem);
      assert.notEqual(fresh.serialNumber, leaf.serialNumber);
    } finally {
      await srv.stop();
      await s.pebble.stop();
    }
  });

  test('HTTP-01 issues a certificate through the port-80 responder, which otherwise redirects to HTTPS', async () => {
    const s = await setup();
    const srv = await serve(s, path.join(dir, 'http01'), acmeEnv(s, 'http-01'));
    try {
      await waitFor(() => servedLeaf(s.tlsPort, s.pebble.rootPem).catch(() => undefined), 20_000, 'a Pebble certificate');
      assert.match(srv.output(), /"answered":true,[^\n]*"msg":"HTTP-01 challenge request"/);
      await skopeoRoundTrip(s, srv.adminPassword!, 'acme/http');
      const redirect = await request(`http://127.0.0.1:${s.httpPort}/v2/_catalog`);
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.location, `https://127.0.0.1:${s.tlsPort}/v2/_catalog`);
    } finally {
      await srv.stop();
      await s.pebble.stop();
    }
  });

  test('a failing challenge type falls back to the next one', async () => {
    const s = await setup();
    // HTTP-01 answers on a port Pebble does not connect to, so it fails; TLS-ALPN-01 then works.
    const [wrongHttp] = await freePorts(1);
    const srv = await serve(s, path.join(dir, 'fallback'), acmeEnv(s, 'http-01,tls-alpn-01', { MINATO_TLS_ACME_HTTP_LISTEN: `127.0.0.1:${wrongHttp}` }));
    try {
      await waitFor(() => servedLeaf(s.tlsPort, s.pebble.rootPem).catch(() => undefined), 30_000, 'a certificate by the second challenge');
      assert.match(srv.output(), /"challenge":"http-01"[^\n]*ACME order failed with this challenge; trying the next one/);
      assert.match(srv.output(), /"challenge":"tls-alpn-01"[^\n]*identifiers validated/);
    } finally {
      await srv.stop();
      await s.pebble.stop();
    }
  });

  test('External Account Binding: refused without it, an RSA certificate with it; files are private', async () => {
    const [httpPort, tlsPort] = await freePorts(2);
    const sub = path.join(dir, 'pebble-eab');
    await mkdir(sub);
    const hmacKey = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
    const pebble = await startPebble({ dir: sub, httpPort: httpPort!, tlsPort: tlsPort!, eabKeys: { 'kid-1': hmacKey } });
    const s: Setup = { pebble, httpPort: httpPort!, tlsPort: tlsPort! };
    try {
      const without = await serve(s, path.join(dir, 'eab-missing'), acmeEnv(s, 'tls-alpn-01'));
      try {
        await waitFor(() => /could not obtain a certificate; will retry/.test(without.output()), 20_000, 'the refusal');
        assert.match(without.output(), /externalAccountRequired|External Account|EAB|account binding/i);
      } finally {
        await without.stop();
      }
      const data = path.join(dir, 'eab');
      const srv = await serve(s, data, acmeEnv(s, 'tls-alpn-01', { MINATO_TLS_ACME_EAB_KID: 'kid-1', MINATO_TLS_ACME_EAB_HMAC_KEY: hmacKey, MINATO_TLS_ACME_KEY_TYPE: 'rsa-2048' }));
      try {
        const leaf = await waitFor(() => servedLeaf(tlsPort!, pebble.rootPem).catch(() => undefined), 30_000, 'a certificate with EAB');
        assert.equal(leaf.publicKey.asymmetricKeyType, 'rsa');
        const { stat, readdir } = await import('node:fs/promises');
        const certDir = path.join(data, 'certificates', 'localhost');
        for (const f of await readdir(certDir)) {
          if (f.endsWith('.pem')) assert.equal((await stat(path.join(certDir, f))).mode & 0o077, 0, `${f} must not be readable by others`);
        }
        assert.doesNotMatch(srv.output(), new RegExp(hmacKey), 'the HMAC key is never logged');
      } finally {
        await srv.stop();
      }
    } finally {
      await pebble.stop();
    }
  });

  test('with the CA unreachable at start-up the registry serves a placeholder and says why', async () => {
    const [httpPort, tlsPort, acmePort] = await freePorts(3);
    const deadCa: Setup = {
      pebble: { directoryUrl: `https://127.0.0.1:${acmePort}/dir`, listenerCa: '', rootPem: '', rootFile: '', httpPort: httpPort!, tlsPort: tlsPort!, acmePort: acmePort!, stop: async () => undefined, output: () => '' },
      httpPort: httpPort!,
      tlsPort: tlsPort!,
    };
    const env = acmeEnv(deadCa, 'tls-alpn-01');
    delete env.MINATO_TLS_ACME_CA_BUNDLE;
    delete env.MINATO_TLS_ACME_TRUSTED_ROOTS;
    const srv = await serve(deadCa, path.join(dir, 'down'), env);
    try {
      await waitFor(() => /could not obtain a certificate; will retry/.test(srv.output()), 15_000, 'the failure to be logged');
      assert.match(srv.output(), /unreachable \(ECONNREFUSED\)/);
      assert.match(srv.output(), /"serving":"a placeholder/);
      const placeholder = await servedLeaf(tlsPort!);
      assert.match(placeholder.subject, /no certificate yet/);
      // Still up and retrying: a second failure is logged after the (1 s) backoff.
      await waitFor(() => (srv.output().match(/could not obtain a certificate/g) ?? []).length >= 2, 15_000, 'a retry');
      assert.equal(srv.child.exitCode, null, 'the registry keeps running');
    } finally {
      await srv.stop();
    }
  });

  test('the CA coming back is picked up by the retry loop', async () => {
    const [httpPort, tlsPort, acmePort] = await freePorts(3);
    // Start Pebble once to learn its listener CA, stop it, start minato, then bring Pebble back.
    const sub = path.join(dir, 'pebble-back');
    await mkdir(sub);
    let pebble = await startPebble({ dir: sub, httpPort: httpPort!, tlsPort: tlsPort!, acmePort: acmePort! });
    const s: Setup = { pebble, httpPort: httpPort!, tlsPort: tlsPort! };
    const env = acmeEnv(s, 'tls-alpn-01');
    delete env.MINATO_TLS_ACME_TRUSTED_ROOTS; // the root changes at every Pebble start
    await pebble.stop();
    const srv = await serve(s, path.join(dir, 'back'), env);
    try {
      await waitFor(() => /could not obtain a certificate; will retry/.test(srv.output()), 15_000, 'the failure to be logged');
      pebble = await startPebble({ dir: sub, httpPort: httpPort!, tlsPort: tlsPort!, acmePort: acmePort! });
      const leaf = await waitFor(() => servedLeaf(tlsPort!, pebble.rootPem).catch(() => undefined), 30_000, 'a certificate after the CA came back');
      assert.match(leaf.issuer, /Pebble/);
    } finally {
      await srv.stop();
      await pebble.stop();
    }
  });

  test('renewal under load swaps the certificate with zero failed requests; a later renewal failure keeps it', async () => {
    // 24 s certificates: renewal when a third of the lifetime remains, i.e. ~16 s after issue.
    const s = await setup(24);
    const srv = await serve(s, path.join(dir, 'renew'), acmeEnv(s, 'tls-alpn-01'));
    try {
      const first = await waitFor(() => servedLeaf(s.tlsPort, s.pebble.rootPem).catch(() => undefined), 20_000, 'the first certificate');
      const auth = `Basic ${Buffer.from(`admin:${srv.adminPassword}`).toString('base64')}`;
      let ok = 0;
      const failures: string[] = [];
      let renewed: X509Certificate | undefined;
      const deadline = Date.now() + 40_000;
      // Four clients: new connections each time (they see the swap) while the renewal happens.
      const worker = async () => {
        while (!renewed && Date.now() < deadline) {
          try {
            const res = await request(`https://127.0.0.1:${s.tlsPort}/v2/`, { ca: s.pebble.rootPem, servername: 'localhost', headers: { Authorization: auth } });
            if (res.status === 200) ok++;
            else failures.push(`status ${res.status}`);
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      };
      const watcher = async () => {
        while (!renewed && Date.now() < deadline) {
          const leaf = await servedLeaf(s.tlsPort, s.pebble.rootPem).catch(() => undefined);
          if (leaf && leaf.serialNumber !== first.serialNumber) renewed = leaf;
          await new Promise((r) => setTimeout(r, 250));
        }
      };
      await Promise.all([worker(), worker(), worker(), worker(), watcher()]);
      assert.ok(renewed, 'the certificate should have been renewed');
      assert.deepEqual(failures, [], 'no request may fail during the swap');
      assert.ok(ok > 20, `requests were made during the renewal (${ok})`);

      // Now the CA goes away: the next renewal fails, loudly, and the current certificate stays.
      await s.pebble.stop();
      await waitFor(() => /could not obtain a certificate; will retry/.test(srv.output()), 30_000, 'the renewal failure');
      const still = await servedLeaf(s.tlsPort, s.pebble.rootPem);
      assert.equal(still.serialNumber, renewed.serialNumber);
      const metrics = (await request(`https://127.0.0.1:${s.tlsPort}/metrics`, { ca: s.pebble.rootPem, servername: 'localhost' })).text;
      assert.match(metrics, /minato_certificate_renewal_failures [1-9]/);
      assert.match(metrics, /minato_certificate_expiry_seconds \d/);
      const api = await request(`https://127.0.0.1:${s.tlsPort}/api/v1/certificate`, { ca: s.pebble.rootPem, servername: 'localhost', headers: { Authorization: auth } });
      assert.equal(api.status, 200);
      assert.match(api.json().lastError.message, /unreachable/);
      assert.equal(api.json().serial, renewed.serialNumber);
      assert.equal((await request(`https://127.0.0.1:${s.tlsPort}/api/v1/certificate`, { ca: s.pebble.rootPem, servername: 'localhost' })).status, 401);
    } finally {
      await srv.stop();
    }
  });
});

