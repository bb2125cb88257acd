// tls.mode "ca" end to end: a real `minato serve` issues its own certificate for localhost,
// 127.0.0.1 and ::1 from its built-in CA, and skopeo trusts it with nothing but what
// `minato trust` wrote (the podman/skopeo certs.d form) or what GET /ca/install.sh installed.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/http.js';
import { makeOciLayout, type OciLayout } from '../helpers/oci.js';
import { run, runOk } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

describe('private CA (tls.mode ca) with skopeo', () => {
  let tmp: string;
  let data: string;
  let configFile: string;
  let serve: ServeProcess;
  let port: number;
  let creds: string;
  let caPem: string;
  let image: OciLayout;

  const skopeo = (...args: string[]) => run('skopeo', args, { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') } });
  const skopeoOk = async (...args: string[]) => {
    const r = await skopeo(...args);
    assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
    return r;
  };
  /** `minato trust --format podman --out DIR --host HOST`: the only trust skopeo gets. */
  const trustDir = async (host: string): Promise<string> => {
    const out = path.join(tmp, `trust-${host.replace(/[^a-z0-9]/gi, '_')}`);
    await runOk(process.execPath, [CLI, 'trust', '-c', configFile, '--format', 'podman', '--host', host, '--out', out]);
    return path.join(out, 'etc', 'containers', 'certs.d', host);
  };

  before(async () => {
    tmp = await tempDir('minato-e2e-ca-');
    data = path.join(tmp, 'data');
    configFile = path.join(tmp, 'minato.json');
    await writeFile(
      configFile,
      JSON.stringify({ data, tls: { mode: 'ca', ca: { names: ['localhost', '127.0.0.1', '::1'], includeHostname: false } }, log: { level: 'info', accessLog: false } }),
    );
    serve = await spawnServe(['-c', configFile]);
    assert.ok(serve.adminPassword, 'the first start prints the admin password');
    creds = `admin:${serve.adminPassword}`;
    port = Number(new URL(serve.url).port);
    caPem = await readFile(path.join(data, 'ca', 'ca.crt'), 'utf8');
    image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 32 * 1024);
  });

  after(async () => {
    await serve?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the server certificate names localhost, 127.0.0.1 and ::1 and chains to the CA', async () => {
    assert.match(serve.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const served = await readFile(path.join(data, 'ca', 'server.crt'), 'utf8');
    const leaf = new X509Certificate(served);
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(leaf.checkIssued(new X509Certificate(caPem)));
    const res = await request(`https://localhost:${port}/v2/`, { ca: caPem });
    assert.equal(res.status, 401, 'TLS to localhost verifies against the CA alone');
  });

  for (const hostname of ['localhost', '127.0.0.1']) {
    test(`skopeo pushes, inspects and pulls via ${hostname}:PORT trusting only the "minato trust" output`, async () => {
      const host = `${hostname}:${port}`;
      const certs = await trustDir(host);
      assert.equal(await readFile(path.join(certs, 'ca.crt'), 'utf8'), caPem.trim() + '\n');
      const ref = `docker://${host}/ca-test/${hostname === 'localhost' ? 'by-name' : 'by-ip'}:v1`;
      await skopeoOk('copy', '--dest-creds', creds, '--dest-cert-dir', certs, image.ref, ref);
      const inspect = JSON.parse((await skopeoOk('inspect', '--creds', creds, '--cert-dir', certs, ref)).stdout);
      assert.equal(inspect.Digest, image.manifestDigest);
      const back = path.join(tmp, `pulled-${hostname}`);
      await skopeoOk('copy', '--src-creds', creds, '--src-cert-dir', certs, ref, `oci:${back}:v1`);
      const index = JSON.parse(await readFile(path.join(back, 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, image.manifestDigest);
    });
  }

  test('without the CA skopeo fails with an x509 error', async () => {
    const empty = path.join(tmp, 'no-certs');
    await runOk('mkdir', ['-p', empty]);
    const r = await skopeo('inspect', '--creds', creds, '--cert-dir', empty, `docker://127.0.0.1:${port}/ca-test/by-ip:v1`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /x509: certificate signed by unknown authority/);
  });

  test('GET /ca.crt is the CA; /ca/install.sh is valid sh and its output is trusted by skopeo', async () => {
    const crt = await request(`https://127.0.0.1:${port}/ca.crt`, { ca: caPem });
    assert.equal(crt.status, 200);
    assert.equal(crt.headers['content-type'], 'application/x-x509-ca-cert');
    assert.equal(crt.text, caPem);

    // The installer names the registry the way the client reached it (Host header).
    const res = await request(`https://localhost:${port}/ca/install.sh`, { ca: caPem });
    assert.equal(res.status, 200);
    const script = path.join(tmp, 'install.sh');
    await writeFile(script, res.body);
    assert.equal((await run('sh', ['-n', script])).code, 0, 'sh -n accepts the installer');
    const prefix = path.join(tmp, 'installed');
    const out = await runOk('sh', [script], { env: { PREFIX: prefix, MINATO_SYSTEM_STORE: '0' } });
    const certs = path.join(prefix, 'etc', 'containers', 'certs.d', `localhost:${port}`);
    assert.match(out.stdout, new RegExp(`installed ${certs}/ca.crt`), 'skopeo is on this machine, so the containers certs.d is installed');
    const inspect = JSON.parse((await skopeoOk('inspect', '--creds', creds, '--cert-dir', certs, `docker://localhost:${port}/ca-test/by-name:v1`)).stdout);
    assert.equal(inspect.Digest, image.manifestDigest);

    const k3s = await request(`https://127.0.0.1:${port}/ca/trust/k3s`, { ca: caPem });
    assert.equal(k3s.status, 200);
    assert.match(k3s.text, new RegExp(`"127.0.0.1:${port}":\\n {4}tls:\\n {6}ca_file:`));
    assert.equal((await request(`https://127.0.0.1:${port}/ca/trust/nope`, { ca: caPem })).status, 404);
    assert.equal((await request(`https://127.0.0.1:${port}/ca/trust/k8s-pull-secret`, { ca: caPem })).status, 404, 'no password over an anonymous endpoint');
  });

  test('a restart serves the same certificate (stored, not re-issued)', async () => {
    const before = new X509Certificate(await readFile(path.join(data, 'ca', 'server.crt'), 'utf8')).serialNumber;
    await serve.stop();
    serve = await spawnServe(['-c', configFile, '--listen', `127.0.0.1:${port}`]);
    const after = new X509Certificate(await readFile(path.join(data, 'ca', 'server.crt'), 'utf8')).serialNumber;
    assert.equal(after, before);
    assert.match(serve.output(), /serving the stored certificate/);
    const certs = await trustDir(`127.0.0.1:${port}`);
    await skopeoOk('inspect', '--creds', creds, '--cert-dir', certs, `docker://127.0.0.1:${port}/ca-test/by-ip:v1`);
  });
});
