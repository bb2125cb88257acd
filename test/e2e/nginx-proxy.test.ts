// minato on plain HTTP behind nginx terminating TLS, the usual production layout. A GOOD proxy
// (Host with port, X-Forwarded-Proto, no body limit, unbuffered) and a NAIVE one (proxy_pass and
// Host only) in front of the same registry: because minato answers with relative Locations unless
// a trusted proxy says otherwise, pushes and pulls must work through both. A second registry with
// the token flow sits behind another GOOD proxy: its token realm must come out as https://.
// (The token flow behind the NAIVE proxy cannot work without `externalUrl`: the realm must be
// absolute and nothing tells minato that the client used https, so it says http:// and nginx
// answers the token request with 400 "plain HTTP request was sent to HTTPS port".)
// docker (dockerd 20.10) pushes and pulls through all three proxies as well.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../helpers/http.js';
import { makeOciLayout } from '../helpers/oci.js';
import { caCertDir, concatPem, htpasswdFile, run, startDockerd, startNginx, type RunningNginx } from '../helpers/peers.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { makeTestPki } from '../helpers/tls.js';

const USER = 'pusher';
const PASSWORD = 'pusher-Pa55';
const CREDS = `${USER}:${PASSWORD}`;
const BASIC = `Basic ${Buffer.from(CREDS).toString('base64')}`;
const FIVE_MIB = 5 * 1024 * 1024;

let tmp: string;
let nginxDir: string;
let certs: string;
let caPem: Buffer;
let basicRegistry: ServeProcess;
let tokenRegistry: ServeProcess;
let nginx: RunningNginx;
let good: string; // 127.0.0.1:PORT of each proxy
let naive: string;
let goodToken: string;

before(async () => {
  tmp = await tempDir('minato-e2e-nginx-');
  // nginx's workers run unprivileged and buffer bodies in here: a separate, world-readable dir.
  nginxDir = await tempDir('minato-e2e-nginx-run-');
  const pki = await makeTestPki(tmp, ['localhost', '127.0.0.1']);
  const chain = await concatPem(path.join(tmp, 'chain.pem'), [pki.leafCert, pki.intermediateCert]);
  const key = path.join(nginxDir, 'tls.key');
  await writeFile(key, await readFile(pki.leafKey), { mode: 0o600 });
  certs = await caCertDir(path.join(tmp, 'certs.d'), pki.caCert);
  caPem = await readFile(pki.caCert);
  const htpasswd = await htpasswdFile(path.join(tmp, 'htpasswd'), { [USER]: PASSWORD });

  const config = async (name: string, token: boolean) => {
    const file = path.join(tmp, `${name}.json`);
    await writeFile(file, JSON.stringify({ data: path.join(tmp, name), auth: { htpasswd, token: { enabled: token } }, log: { level: 'info' } }));
    return file;
  };
  [basicRegistry, tokenRegistry] = await Promise.all([
    spawnServe(['-c', await config('basic', false)]),
    spawnServe(['-c', await config('token', true)]),
  ]);
  const backend = (s: ServeProcess) => new URL(s.url).host;

  const tls = `ssl_certificate ${chain}; ssl_certificate_key ${key};`;
  const goodBlock = (port: number, upstream: string) => `
  server {
    listen 127.0.0.1:${port} ssl; server_name localhost; ${tls}
    client_max_body_size 0;            # default 1m: 413 on any layer over 1 MiB
    chunked_transfer_encoding on;
    location / {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host              $http_host;   # host AND port
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
      proxy_read_timeout 900;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }`;
  const naiveBlock = (port: number, upstream: string) => `
  server {
    listen 127.0.0.1:${port} ssl; server_name localhost; ${tls}
    client_max_body_size 0;
    location / { proxy_pass http://${upstream}; proxy_set_header Host $http_host; }
  }`;
  nginx = await startNginx(nginxDir, 3, ([a, b, c]) =>
    [goodBlock(a!, backend(basicRegistry)), naiveBlock(b!, backend(basicRegistry)), goodBlock(c!, backend(tokenRegistry))].join('\n'),
  );
  [good, naive, goodToken] = nginx.ports.map((p) => `127.0.0.1:${p}`) as [string, string, string];
});

after(async () => {
  await nginx?.stop();
  await Promise.all([basicRegistry?.stop(), tokenRegistry?.stop()]);
  for (const d of [tmp, nginxDir]) if (d) await rm(d, { recursive: true, force: true });
});

async function skopeo(...args: string[]) {
  const r = await run('skopeo', args, { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') } });
  assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** Pushes a fresh image with a new random 5 MiB layer (so the blob really travels) through `proxy`. */
async function pushFresh(proxy: string, repo: string) {
  const layout = await makeOciLayout(path.join(tmp, `layout-${repo.replace(/\//g, '-')}`), 'v1', FIVE_MIB);
  await skopeo('copy', '--dest-creds', CREDS, '--dest-cert-dir', certs, layout.ref, `docker://${proxy}/${repo}:v1`);
  return layout;
}

/** Pulls through `proxy` into an OCI layout; returns the manifest digest and the sha256 of every blob. */
async function pull(proxy: string, repo: string, tag: string) {
  const dir = path.join(tmp, `pull-${proxy.replace(/\W/g, '-')}-${repo.replace(/\//g, '-')}`);
  await skopeo('copy', '--src-creds', CREDS, '--src-cert-dir', certs, `docker://${proxy}/${repo}:${tag}`, `oci:${dir}:${tag}`);
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8'));
  const manifestDigest: string = index.manifests[0].digest;
  const manifest = JSON.parse(await readFile(path.join(dir, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8'));
  const blobs: Record<string, string> = {};
  for (const d of [manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)] as string[]) {
    blobs[d] = `sha256:${createHash('sha256').update(await readFile(path.join(dir, 'blobs', 'sha256', d.slice(7)))).digest('hex')}`;
  }
  return { manifestDigest, blobs };
}

test('Location of a new upload through the proxies is never http://', async () => {
  for (const [proxy, label] of [[good, 'GOOD'], [naive, 'NAIVE']] as const) {
    const res = await request(`https://${proxy}/v2/probe/location/blobs/uploads/`, { method: 'POST', ca: caPem, headers: { Authorization: BASIC } });
    assert.equal(res.status, 202, `${label}: ${res.text}`);
    const location = String(res.headers.location);
    assert.doesNotMatch(location, /^http:/, `${label} proxy: Location ${location}`);
    assert.ok(location.startsWith('/v2/probe/location/blobs/uploads/') || location.startsWith(`https://${proxy}/v2/probe/location/blobs/uploads/`), `${label} proxy: Location ${location}`);
    // The upload it names is reachable through the same proxy.
    const status = await request(new URL(location, `https://${proxy}`).href, { ca: caPem, headers: { Authorization: BASIC } });
    assert.equal(status.status, 204, `${label}: status of ${location}`);
  }
});

test('5 MiB pushes through the GOOD and the NAIVE proxy, pulls through both agree', async () => {
  const viaGood = await pushFresh(good, 'good/big');
  const viaNaive = await pushFresh(naive, 'naive/big');
  assert.notEqual(viaGood.layerDigests[0], viaNaive.layerDigests[0]);

  for (const [layout, repo] of [[viaGood, 'good/big'], [viaNaive, 'naive/big']] as const) {
    const a = await pull(good, repo, 'v1');
    const b = await pull(naive, repo, 'v1');
    assert.equal(a.manifestDigest, layout.manifestDigest);
    assert.equal(b.manifestDigest, layout.manifestDigest);
    assert.deepEqual(a.blobs, b.blobs);
    for (const [digest, actual] of Object.entries(a.blobs)) assert.equal(actual, digest, `blob ${digest} pulled through the proxy has other bytes`);
    assert.ok(layout.layerDigests[0]! in a.blobs);
  }
  // Both went through nginx, with the layer body: its access log saw the uploads.
  const access = await readFile(path.join(nginxDir, 'access.log'), 'utf8');
  assert.match(access, /"PATCH \/v2\/good\/big\/blobs\/uploads\/[^ ]+ HTTP\/1\.1" 202/);
  assert.match(access, /"PATCH \/v2\/naive\/big\/blobs\/uploads\/[^ ]+ HTTP\/1\.1" 202/);
});

test('token flow behind the GOOD proxy: https realm, push and pull', async () => {
  const res = await request(`https://${goodToken}/v2/`, { ca: caPem });
  assert.equal(res.status, 401);
  assert.match(String(res.headers['www-authenticate']), new RegExp(`^Bearer realm="https://${goodToken.replace(/\./g, '\\.')}/token"`));
  const layout = await pushFresh(goodToken, 'token/big');
  const pulled = await pull(goodToken, 'token/big', 'v1');
  assert.equal(pulled.manifestDigest, layout.manifestDigest);
  for (const [digest, actual] of Object.entries(pulled.blobs)) assert.equal(actual, digest);
});

test('docker pushes fresh 5 MiB layers through the GOOD, the NAIVE and the token proxy and pulls them back', async () => {
  // docker skips certificate checks for registries on 127.0.0.0/8, so no CA needs installing.
  const dockerd = await startDockerd(path.join(tmp, 'docker'));
  const docker = dockerd.dockerOk;
  try {
    for (const [proxy, repo] of [[good, 'good/docker'], [naive, 'naive/docker'], [goodToken, 'token/docker']] as const) {
      await docker(['login', '-u', USER, '--password-stdin', proxy], PASSWORD);
      const ctx = path.join(tmp, `docker-ctx-${repo.replace(/\//g, '-')}`);
      await mkdir(ctx, { recursive: true });
      await writeFile(path.join(ctx, 'blob'), randomBytes(FIVE_MIB)); // a new layer: it must travel through the proxy
      await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY blob /blob\n');
      const ref = `${proxy}/${repo}:v1`;
      await docker(['build', '-t', ref, ctx]);
      const pushed = /digest: (sha256:[0-9a-f]{64})/.exec((await docker(['push', ref])).stdout)?.[1];
      assert.ok(pushed, `docker push through ${proxy} printed a digest`);
      await docker(['rmi', ref]);
      assert.match((await docker(['pull', ref])).stdout, new RegExp(`Digest: ${pushed}`));
    }
  } finally {
    await dockerd.stop();
  }
  const access = await readFile(path.join(nginxDir, 'access.log'), 'utf8');
  for (const repo of ['good/docker', 'naive/docker', 'token/docker']) {
    assert.match(access, new RegExp(`"PATCH /v2/${repo}/blobs/uploads/[^ ]+ HTTP/1\\.1" 202`), `the layer of ${repo} went through nginx`);
  }
});
