// minato on plain HTTP behind nginx terminating TLS, the usual production layout, with the
// settings a new user has: an htpasswd file and otherwise the defaults (token endpoint on,
// auth.challenge auto). A GOOD proxy (Host with port, X-Forwarded-Proto, no body limit,
// unbuffered) and a NAIVE one (proxy_pass and Host only, what blog posts show) sit in front of
// the same registry. Through the GOOD one minato knows clients use https and offers the token
// flow with an https:// realm; through the NAIVE one it cannot know (an http:// realm would send
// clients in plain HTTP to nginx's TLS port: 400), so it challenges with Basic and keeps
// Locations relative. skopeo, podman and docker push fresh layers through both and pull them
// back; the registry logs its "proxy sends no X-Forwarded-Proto" warning exactly once.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../helpers/http.js';
import { makeOciLayout } from '../helpers/oci.js';
import { caCertDir, concatPem, htpasswdFile, run, runOk, startDockerd, startNginx, type RunningNginx } from '../helpers/peers.js';
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
let registry: ServeProcess;
let nginx: RunningNginx;
let good: string; // 127.0.0.1:PORT of each proxy
let naive: string;

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

  // A new user's configuration: the users, and nothing else but where the data goes.
  const config = path.join(tmp, 'minato.json');
  await writeFile(config, JSON.stringify({ data: path.join(tmp, 'data'), auth: { htpasswd } }));
  registry = await spawnServe(['-c', config]);
  const backend = new URL(registry.url).host;

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
  nginx = await startNginx(nginxDir, 2, ([a, b]) => [goodBlock(a!, backend), naiveBlock(b!, backend)].join('\n'));
  [good, naive] = nginx.ports.map((p) => `127.0.0.1:${p}`) as [string, string];
});

after(async () => {
  await nginx?.stop();
  await registry?.stop();
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

/** Requests to the token endpoint in minato's access log so far. */
const tokenRequests = () => registry.accessLog().filter((l) => l.url.startsWith('/token')).length;

test('the challenge: Bearer with an https:// realm through the GOOD proxy, Basic through the NAIVE one', async () => {
  const viaGood = await request(`https://${good}/v2/`, { ca: caPem });
  assert.equal(viaGood.status, 401);
  assert.equal(viaGood.headers['www-authenticate'], `Bearer realm="https://${good}/token",service="minato"`);
  const viaNaive = await request(`https://${naive}/v2/`, { ca: caPem });
  assert.equal(viaNaive.status, 401);
  assert.equal(viaNaive.headers['www-authenticate'], 'Basic realm="minato"');
});

test('skopeo: 5 MiB pushes through the GOOD (token flow) and the NAIVE (Basic) proxy, pulls through both agree', async () => {
  const tokensBefore = tokenRequests();
  const viaGood = await pushFresh(good, 'good/big');
  const tokensAfterGood = tokenRequests();
  assert.ok(tokensAfterGood > tokensBefore, 'skopeo fetched a token from /token through the GOOD proxy');
  const viaNaive = await pushFresh(naive, 'naive/big');
  assert.equal(tokenRequests(), tokensAfterGood, 'through the NAIVE proxy skopeo used Basic and never asked /token');
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
  assert.match(access, /"GET \/token\?[^ ]+ HTTP\/1\.1" 200/, 'the token request went through nginx over https');
});

/** A build context whose one file is a new random 5 MiB layer: it must travel through the proxy. */
async function freshContext(name: string, dockerfile: string) {
  const ctx = path.join(tmp, `ctx-${name}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(path.join(ctx, 'blob'), randomBytes(FIVE_MIB));
  await writeFile(path.join(ctx, dockerfile), 'FROM scratch\nCOPY blob /blob\n');
  return ctx;
}

test('podman logs in, pushes a fresh 5 MiB layer and pulls it back through the NAIVE and the GOOD proxy', async () => {
  const root = path.join(tmp, 'podman');
  const authfile = path.join(root, 'auth.json');
  await mkdir(root, { recursive: true });
  const podman = (...args: string[]) =>
    runOk('podman', ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {
      env: { REGISTRY_AUTH_FILE: authfile },
      timeoutMs: 60_000,
    });
  for (const [proxy, repo] of [[naive, 'naive/podman'], [good, 'good/podman']] as const) {
    const tokensBefore = tokenRequests();
    await podman('login', '--cert-dir', certs, '--authfile', authfile, '-u', USER, '-p', PASSWORD, proxy);
    const ref = `${proxy}/${repo}:v1`;
    await podman('build', '--network', 'none', '-t', ref, await freshContext(repo.replace('/', '-'), 'Containerfile'));
    const digestFile = path.join(root, `${repo.replace('/', '-')}.digest`);
    await podman('push', '--authfile', authfile, '--cert-dir', certs, '--digestfile', digestFile, ref);
    const pushed = (await readFile(digestFile, 'utf8')).trim();
    assert.match(pushed, /^sha256:[0-9a-f]{64}$/);
    await podman('rmi', ref);
    await podman('pull', '--authfile', authfile, '--cert-dir', certs, ref);
    assert.equal((await podman('image', 'inspect', '--format', '{{.Digest}}', ref)).stdout.trim(), pushed);
    if (proxy === naive) assert.equal(tokenRequests(), tokensBefore, 'podman used Basic through the NAIVE proxy');
    else assert.ok(tokenRequests() > tokensBefore, 'podman used the token flow through the GOOD proxy');
  }
  const access = await readFile(path.join(nginxDir, 'access.log'), 'utf8');
  for (const repo of ['naive/podman', 'good/podman']) {
    assert.match(access, new RegExp(`"PATCH /v2/${repo}/blobs/uploads/[^ ]+ HTTP/1\\.1" 202`), `the layer of ${repo} went through nginx`);
  }
});

test('docker pushes fresh 5 MiB layers through the NAIVE and the GOOD proxy and pulls them back', async () => {
  // docker skips certificate checks for registries on 127.0.0.0/8, so no CA needs installing.
  const dockerd = await startDockerd(path.join(tmp, 'docker'));
  const docker = dockerd.dockerOk;
  try {
    for (const [proxy, repo] of [[naive, 'naive/docker'], [good, 'good/docker']] as const) {
      const tokensBefore = tokenRequests();
      await docker(['login', '-u', USER, '--password-stdin', proxy], PASSWORD);
      const ref = `${proxy}/${repo}:v1`;
      await docker(['build', '-t', ref, await freshContext(repo.replace('/', '-'), 'Dockerfile')]);
      const pushed = /digest: (sha256:[0-9a-f]{64})/.exec((await docker(['push', ref])).stdout)?.[1];
      assert.ok(pushed, `docker push through ${proxy} printed a digest`);
      await docker(['rmi', ref]);
      assert.match((await docker(['pull', ref])).stdout, new RegExp(`Digest: ${pushed}`));
      if (proxy === naive) assert.equal(tokenRequests(), tokensBefore, 'docker used Basic through the NAIVE proxy');
      else assert.ok(tokenRequests() > tokensBefore, 'docker used the token flow through the GOOD proxy');
    }
  } finally {
    await dockerd.stop();
  }
  const access = await readFile(path.join(nginxDir, 'access.log'), 'utf8');
  for (const repo of ['naive/docker', 'good/docker']) {
    assert.match(access, new RegExp(`"PATCH /v2/${repo}/blobs/uploads/[^ ]+ HTTP/1\\.1" 202`), `the layer of ${repo} went through nginx`);
  }
});

test('the registry warned exactly once that a proxy sends no X-Forwarded-Proto, with the nginx fix', () => {
  const warnings = registry.output().split('\n').filter((l) => l.includes('requests arrive through a proxy'));
  assert.equal(warnings.length, 1, `expected one warning, got:\n${warnings.join('\n')}`);
  const line = JSON.parse(warnings[0]!) as { level: number; msg: string; seen: string[] };
  assert.equal(line.level, 40);
  assert.deepEqual(line.seen, [`the Host port ${naive.split(':')[1]} differs from the port minato listens on (${new URL(registry.url).port})`]);
  assert.ok(line.msg.includes('proxy_set_header X-Forwarded-Proto $scheme;'), line.msg);
});
