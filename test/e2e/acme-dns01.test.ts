// DNS-01 end to end: Pebble validates TXT records that minato writes into a real BIND 9 through
// RFC 2136 + TSIG, for a wildcard and plain names; skopeo then trusts the registry with Pebble's
// root only. A wrong TSIG key and a record that never becomes visible fail clearly and boundedly.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { findAuthoritativeServers } from '../../src/dns/propagation.js';
import { startBind, type RunningBind } from '../helpers/bind.js';
import { makeOciLayout } from '../helpers/oci.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { spawnServe, tempDir } from '../helpers/registry.js';
import { servedLeaf } from '../helpers/tls.js';

const run = promisify(execFile);

let dir: string;
let bind: RunningBind;
let pebble: Pebble;
let tlsPort: number;

before(async () => {
  dir = await tempDir('minato-dns01-');
  const ACME_TXT = 'grant acme-key. wildcard *.example.test. TXT;';
  bind = await startBind(path.join(dir, 'bind'), {
    zones: {
      'example.test': {
        records: 'registry IN A 127.0.0.1\n_acme-challenge.delegated IN CNAME _acme-challenge.challenges.example.test.',
        policy: [ACME_TXT, 'grant ddns-key. name home.example.test. A AAAA;'],
      },
      localhost: { records: '@ IN A 127.0.0.1', policy: ['grant acme-key. wildcard *.localhost. TXT;'] },
    },
  });
  const [httpPort, port] = await freePorts(2);
  tlsPort = port!;
  await mkdir(path.join(dir, 'pebble'));
  pebble = await startPebble({ dir: path.join(dir, 'pebble'), httpPort: httpPort!, tlsPort, dnsServer: bind.server });
});
after(async () => {
  await pebble?.stop();
  await bind?.stop();
  await rm(dir, { recursive: true, force: true });
});

function env(names: string, dns: Record<string, unknown>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MINATO_TLS_MODE: 'acme',
    MINATO_TLS_ACME_DIRECTORY: pebble.directoryUrl,
    MINATO_TLS_ACME_NAMES: names,
    MINATO_TLS_ACME_AGREE_TO_TERMS: 'true',
    MINATO_TLS_ACME_CA_BUNDLE: pebble.listenerCa,
    MINATO_TLS_ACME_TRUSTED_ROOTS: pebble.rootFile,
    MINATO_TLS_ACME_CHALLENGES: 'dns-01',
    MINATO_TLS_ACME_DNS: JSON.stringify(dns),
    MINATO_TLS_ACME_DNS_PROPAGATION_NAMESERVERS: bind.server,
    MINATO_TLS_ACME_RETRY_MIN_SECONDS: '1',
    MINATO_LOG_ACCESS_LOG: 'false',
    ...extra,
  };
}

const rfc2136 = (over: Record<string, unknown> = {}) => ({
  kind: 'rfc2136',
  server: bind.server,
  keyName: 'acme-key',
  secret: bind.keys['acme-key']!.secret,
  ...over,
});

describe('ACME DNS-01 through BIND', { concurrency: false }, () => {
  test('a wildcard + base name + localhost certificate via RFC 2136; records are removed afterwards; skopeo trusts it', async () => {
    const srv = await spawnServe(['--data', path.join(dir, 'ok'), '--listen', `127.0.0.1:${tlsPort}`], env('localhost,registry.example.test,*.registry.example.test', rfc2136()));
    try {
      const leaf = await waitFor(() => servedLeaf(tlsPort, pebble.rootPem).catch(() => undefined), 40_000, 'a DNS-01 certificate');
      assert.match(leaf.subjectAltName!, /DNS:\*\.registry\.example\.test/);
      assert.match(leaf.subjectAltName!, /DNS:registry\.example\.test/);
      assert.match(srv.output(), /"challenge":"dns-01".*identifiers validated/);
      // Clean-up removed every challenge record.
      assert.deepEqual(await bind.dig('_acme-challenge.registry.example.test', 'TXT'), []);
      assert.deepEqual(await bind.dig('_acme-challenge.localhost', 'TXT'), []);

      const certDir = path.join(dir, 'certs');
      await mkdir(certDir, { recursive: true });
      await writeFile(path.join(certDir, 'ca.crt'), pebble.rootPem);
      const image = await makeOciLayout(path.join(dir, 'img'), 'v1', 2048);
      const ref = `docker://localhost:${tlsPort}/dns01/app:v1`;
      await run('skopeo', ['copy', '--dest-creds', `admin:${srv.adminPassword}`, '--dest-cert-dir', certDir, image.ref, ref]);
      const { stdout } = await run('skopeo', ['inspect', '--creds', `admin:${srv.adminPassword}`, '--cert-dir', certDir, ref]);
      assert.equal(JSON.parse(stdout).Digest, image.manifestDigest);
    } finally {
      await srv.stop();
    }
  });

  test('a wrong TSIG key fails with a message naming the key, and the registry stays up', async () => {
    const wrong = Buffer.from('not the real secret at all, 32 bytes!').toString('base64');
    const srv = await spawnServe(['--data', path.join(dir, 'badkey'), '--listen', `127.0.0.1:${tlsPort}`], env('localhost', rfc2136({ secret: wrong })));
    try {
      await waitFor(() => /could not obtain a certificate; will retry/.test(srv.output()), 20_000, 'the failure to be logged');
      assert.match(srv.output(), /TSIG key 'acme-key\.?' was rejected \(BADSIG\)/);
      assert.equal(srv.child.exitCode, null);
    } finally {
      await srv.stop();
    }
  });

  test('a record that never becomes visible ends the wait after the configured time, clearly', async () => {
    // Propagation is checked against a DNS server that answers but never gets the record
    // (pebble-challtestsrv): the wait must end by itself and say what it saw.
    const [dnsPort, mgmtPort] = await freePorts(2);
    const stale = spawn('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${mgmtPort}`, '-defaultIPv6', ''], { stdio: 'ignore' });
    after(() => {
      stale.kill();
    });
    await waitFor(async () => (await run('dig', ['+short', '+time=1', '@127.0.0.1', '-p', String(dnsPort), 'localhost', 'A'])).stdout.includes('127.0.0.1'), 10_000, 'the stale DNS server');
    const silent = dnsPort;
    const started = Date.now();
    const srv = await spawnServe(
      ['--data', path.join(dir, 'noprop'), '--listen', `127.0.0.1:${tlsPort}`],
      env('localhost', rfc2136(), { MINATO_TLS_ACME_DNS_PROPAGATION_NAMESERVERS: `127.0.0.1:${silent}`, MINATO_TLS_ACME_DNS_PROPAGATION_TIMEOUT_SECONDS: '3' }),
    );
    try {
      await waitFor(() => /could not obtain a certificate; will retry/.test(srv.output()), 30_000, 'the propagation failure');
      assert.ok(Date.now() - started < 30_000);
      assert.match(srv.output(), /"err":"[^"]*dns-01: [^"]*_acme-challenge\.localhost/);
      // The record it wrote was removed again.
      await waitFor(async () => (await bind.dig('_acme-challenge.localhost', 'TXT')).length === 0, 10_000, 'the TXT record to be cleaned up');
    } finally {
      await srv.stop();
    }
  });

  test('DDNS: the running server publishes its address through RFC 2136', async () => {
    const srv = await spawnServe(['--data', path.join(dir, 'ddns')], {
      MINATO_DDNS_ENABLED: 'true',
      MINATO_DDNS_NAMES: 'home.example.test',
      MINATO_DDNS_PROVIDER: JSON.stringify({ kind: 'rfc2136', server: bind.server, keyName: 'ddns-key', secret: bind.keys['ddns-key']!.secret }),
      MINATO_DDNS_IPV6: 'false',
      MINATO_DDNS_IPV4_COMMAND: 'echo,127.0.0.42',
      MINATO_LOG_ACCESS_LOG: 'false',
    });
    try {
      await waitFor(async () => (await bind.dig('home.example.test', 'A')).includes('127.0.0.42'), 15_000, 'the A record');
      assert.doesNotMatch(srv.output(), new RegExp(bind.keys['ddns-key']!.secret.replace(/[+/=]/g, '.')), 'the TSIG secret is never logged');
    } finally {
      await srv.stop();
    }
  });

  test('without configured nameservers, the authoritative servers of the zone are found by NS lookup', async () => {
    // BIND plays the recursive resolver here; the servers found are what waitForTxt would ask.
    const servers = await findAuthoritativeServers('_acme-challenge.registry.example.test', { resolvers: [bind.server] });
    assert.deepEqual(servers, ['127.0.0.1:53']); // ns1.example.test. A 127.0.0.1 in the test zone
    const local = await findAuthoritativeServers('_acme-challenge.localhost', { resolvers: [bind.server] });
    assert.deepEqual(local, ['127.0.0.1:53']);
  });
});
