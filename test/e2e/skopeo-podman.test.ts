// Real clients against a real `minato serve` over HTTPS with a private CA: skopeo (push, inspect,
// list-tags, pull, cross-repository mount, delete, Docker schema 2) and podman (login, pull,
// build, push). Run twice: with the Docker token flow (users in the database, the default) and
// with plain Basic auth (users from an htpasswd file made by Apache's htpasswd).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/http.js';
import { makeOciIndexLayout, makeOciLayout, type OciLayout } from '../helpers/oci.js';
import { caCertDir, concatPem, htpasswdFile, run, runOk } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { makeTestPki } from '../helpers/tls.js';

const MODES = [
  { name: 'token flow, database admin user', token: true },
  { name: 'basic auth, htpasswd users', token: false },
] as const;

for (const mode of MODES) {
  describe(`skopeo and podman over HTTPS (${mode.name})`, () => {
    let tmp: string;
    let serve: ServeProcess;
    let host: string; // 127.0.0.1:PORT, as image references use it
    let certs: string; // --cert-dir with the root CA only
    let caPem: Buffer;
    let user: string;
    let password: string;
    let creds: string;
    let image: OciLayout;

    const api = (p: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}) =>
      request(`https://${host}${p}`, {
        ...opts,
        ca: caPem,
        headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, ...opts.headers },
      });
    const skopeo = (...args: string[]) => run('skopeo', args, { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') } });
    const skopeoOk = async (...args: string[]) => {
      const r = await skopeo(...args);
      assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed:\n${r.stderr}`);
      return r;
    };

    before(async () => {
      tmp = await tempDir('minato-e2e-skopeo-');
      const pki = await makeTestPki(tmp, ['localhost', '127.0.0.1']);
      const chain = await concatPem(path.join(tmp, 'chain.pem'), [pki.leafCert, pki.intermediateCert]);
      certs = await caCertDir(path.join(tmp, 'certs.d'), pki.caCert);
      caPem = await readFile(pki.caCert);
      const data = path.join(tmp, 'data');
      const config: Record<string, unknown> = { data, tls: { cert: chain, key: pki.leafKey }, log: { level: 'info', accessLog: true } };
      if (mode.token) {
        // The database admin user, created through the CLI before the first start.
        user = 'admin';
        password = 'admin-Pa55-word';
        const r = await run(process.execPath, [CLI, 'user', 'add', 'admin', '--password-stdin', '--data', data], { input: `${password}\n` });
        assert.equal(r.code, 0, r.stderr);
      } else {
        user = 'alice';
        password = 'alice-Pa55-word';
        config.auth = { token: { enabled: false }, htpasswd: await htpasswdFile(path.join(tmp, 'htpasswd'), { alice: password, bob: 'bob-pw' }) };
      }
      await writeFile(path.join(tmp, 'minato.json'), JSON.stringify(config));
      serve = await spawnServe(['-c', path.join(tmp, 'minato.json')]);
      host = new URL(serve.url).host;
      creds = `${user}:${password}`;
      image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 64 * 1024);
    });

    after(async () => {
      await serve?.stop();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    test('the registry challenges with the configured scheme', async () => {
      const res = await request(`https://${host}/v2/`, { ca: caPem });
      assert.equal(res.status, 401);
      assert.match(String(res.headers['www-authenticate']), mode.token ? /^Bearer realm="https:\/\/127\.0\.0\.1:\d+\/token"/ : /^Basic /);
    });

    test('skopeo push, inspect, list-tags and pull back', async () => {
      await skopeoOk('copy', '--dest-creds', creds, '--dest-cert-dir', certs, image.ref, `docker://${host}/demo/hello:v1`);

      const inspect = JSON.parse((await skopeoOk('inspect', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/hello:v1`)).stdout);
      assert.equal(inspect.Digest, image.manifestDigest);
      assert.deepEqual(inspect.Layers, image.layerDigests);

      await skopeoOk('copy', '--dest-creds', creds, '--dest-cert-dir', certs, image.ref, `docker://${host}/demo/hello:latest`);
      const tags = JSON.parse((await skopeoOk('list-tags', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/hello`)).stdout);
      assert.deepEqual([...tags.Tags].sort(), ['latest', 'v1']);

      const back = path.join(tmp, 'pulled');
      await skopeoOk('copy', '--src-creds', creds, '--src-cert-dir', certs, `docker://${host}/demo/hello:v1`, `oci:${back}:v1`);
      const index = JSON.parse(await readFile(path.join(back, 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, image.manifestDigest);
      for (const digest of [image.manifestDigest, image.configDigest, ...image.layerDigests]) {
        const hex = digest.slice('sha256:'.length);
        const pulled = await readFile(path.join(back, 'blobs', 'sha256', hex));
        assert.deepEqual(pulled, await readFile(path.join(image.dir, 'blobs', 'sha256', hex)), `blob ${digest} differs after the round trip`);
        assert.equal(createHash('sha256').update(pulled).digest('hex'), hex);
      }
    });

    test('skopeo copy to a second repository mounts the layer instead of uploading it', async () => {
      // A fresh layer, so the only place the registry has it is the first repository.
      const img = await makeOciLayout(path.join(tmp, 'mount-image'), 'v1', 256 * 1024);
      await skopeoOk('copy', '--dest-creds', creds, '--dest-cert-dir', certs, img.ref, `docker://${host}/mount/one:v1`);
      const before = serve.accessLog().length;
      await skopeoOk('copy', '--dest-creds', creds, '--dest-cert-dir', certs, img.ref, `docker://${host}/mount/two:v1`);
      const log = serve.accessLog().slice(before);
      const layer = img.layerDigests[0]!;
      const mounts = log.filter(
        (l) => l.method === 'POST' && l.url.startsWith('/v2/mount/two/blobs/uploads/') && (l.url.includes(`mount=${encodeURIComponent(layer)}`) || l.url.includes(`mount=${layer}`)),
      );
      assert.ok(mounts.some((l) => l.status === 201), `expected a 201 cross-repository mount of ${layer}; requests were:\n${log.map((l) => `${l.method} ${l.url} ${l.status}`).join('\n')}`);
      // (containers/image always uploads the small config blob; the layer is what must not travel again.)
      const uploadedAgain = log.filter((l) => l.method === 'PUT' && l.url.startsWith('/v2/mount/two/blobs/uploads/') && decodeURIComponent(l.url).includes(`digest=${layer}`));
      assert.deepEqual(uploadedAgain, [], 'the layer was uploaded again instead of mounted');

      for (const repo of ['mount/one', 'mount/two']) {
        const head = await api(`/v2/${repo}/blobs/${layer}`, { method: 'HEAD' });
        assert.equal(head.status, 200, `layer not in ${repo}`);
      }
      const inspect = JSON.parse((await skopeoOk('inspect', '--creds', creds, '--cert-dir', certs, `docker://${host}/mount/two:v1`)).stdout);
      assert.equal(inspect.Digest, img.manifestDigest);
    });

    test('skopeo --format v2s2 stores a Docker schema 2 manifest', async () => {
      await skopeoOk('copy', '--format', 'v2s2', '--dest-creds', creds, '--dest-cert-dir', certs, image.ref, `docker://${host}/demo/docker:v1`);
      const raw = (await skopeoOk('inspect', '--raw', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/docker:v1`)).stdout;
      assert.equal(JSON.parse(raw).mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
      const res = await api('/v2/demo/docker/manifests/v1', {
        headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json');
      assert.equal(res.headers['docker-content-digest'], `sha256:${createHash('sha256').update(res.body).digest('hex')}`);
      assert.equal(res.text, raw);
    });

    test('skopeo copy --all pushes a multi-platform index and pulls one platform or all back', async () => {
      const multi = await makeOciIndexLayout(path.join(tmp, 'multi'), 'v1', ['linux/amd64', 'linux/arm64']);
      await skopeoOk('copy', '--all', '--dest-creds', creds, '--dest-cert-dir', certs, multi.ref, `docker://${host}/demo/multi:v1`);
      const raw = (await skopeoOk('inspect', '--raw', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/multi:v1`)).stdout;
      assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, multi.indexDigest);
      assert.equal(JSON.parse(raw).mediaType, 'application/vnd.oci.image.index.v1+json');
      // The client picks the platform's manifest out of the index (and the registry serves it).
      const arm = JSON.parse(
        (await skopeoOk('inspect', '--override-os', 'linux', '--override-arch', 'arm64', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/multi:v1`)).stdout,
      );
      assert.equal(arm.Digest, multi.indexDigest); // skopeo reports the digest of what the tag names
      assert.deepEqual(arm.Layers, [multi.images['linux/arm64']!.layerDigest]);
      assert.equal(arm.Architecture, 'arm64');
      const amd = await api(`/v2/demo/multi/manifests/${multi.images['linux/amd64']!.manifestDigest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(amd.status, 200);
      assert.equal(amd.json().layers[0].digest, multi.images['linux/amd64']!.layerDigest);
      const back = path.join(tmp, 'multi-back');
      await skopeoOk('copy', '--all', '--src-creds', creds, '--src-cert-dir', certs, `docker://${host}/demo/multi:v1`, `oci:${back}:v1`);
      const index = JSON.parse(await readFile(path.join(back, 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, multi.indexDigest);
      for (const img of Object.values(multi.images)) {
        const layer = await readFile(path.join(back, 'blobs', 'sha256', img.layerDigest.slice(7)));
        assert.equal(`sha256:${createHash('sha256').update(layer).digest('hex')}`, img.layerDigest);
      }
    });

    test('skopeo list-tags follows the Link header across pages', async () => {
      // One image, tagged 1001 times over the API: one more than a default page holds.
      const manifest = await readFile(path.join(image.dir, 'blobs', 'sha256', image.manifestDigest.slice(7)));
      const blob = async (digest: string) => {
        const bytes = await readFile(path.join(image.dir, 'blobs', 'sha256', digest.slice(7)));
        const res = await api(`/v2/demo/many/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
        assert.equal(res.status, 201, res.text);
      };
      for (const d of [image.configDigest, ...image.layerDigests]) await blob(d);
      const names = Array.from({ length: 1001 }, (_, i) => `t${String(i).padStart(4, '0')}`);
      for (let i = 0; i < names.length; i += 25) {
        await Promise.all(
          names.slice(i, i + 25).map(async (tag) => {
            const res = await api(`/v2/demo/many/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
            assert.equal(res.status, 201, res.text);
          }),
        );
      }
      const first = await api('/v2/demo/many/tags/list');
      assert.equal(first.json().tags.length, 1000);
      assert.match(String(first.headers.link), /rel="next"/);
      const tags = JSON.parse((await skopeoOk('list-tags', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/many`)).stdout);
      assert.deepEqual(tags.Tags, names);
    });

    test('skopeo delete removes the manifest and its tag', async () => {
      await skopeoOk('copy', '--dest-creds', creds, '--dest-cert-dir', certs, image.ref, `docker://${host}/demo/doomed:v1`);
      await skopeoOk('delete', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/doomed:v1`);
      const gone = await skopeo('inspect', '--creds', creds, '--cert-dir', certs, `docker://${host}/demo/doomed:v1`);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /manifest unknown/i);
      const res = await api(`/v2/demo/doomed/manifests/${image.manifestDigest}`, { method: 'HEAD' });
      assert.equal(res.status, 404);
      // Another repository with the same image is untouched.
      assert.equal((await api(`/v2/demo/hello/manifests/${image.manifestDigest}`, { method: 'HEAD' })).status, 200);
    });

    test('a wrong password is refused as unauthorized', async () => {
      const r = await skopeo('copy', '--dest-creds', `${user}:not-the-password`, '--dest-cert-dir', certs, image.ref, `docker://${host}/demo/nope:v1`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /unauthorized|authentication required/i);
      const ls = await skopeo('list-tags', '--creds', `${user}:not-the-password`, '--cert-dir', certs, `docker://${host}/demo/hello`);
      assert.notEqual(ls.code, 0);
      assert.match(ls.stderr, /unauthorized|authentication required/i);
      assert.equal((await api('/v2/demo/nope/tags/list')).status, 404, 'the refused push must not create the repository');
    });

    test('without the CA the client refuses the certificate', async () => {
      const empty = path.join(tmp, 'empty-certs');
      await mkdir(empty, { recursive: true });
      const r = await skopeo('inspect', '--creds', creds, '--cert-dir', empty, `docker://${host}/demo/hello:v1`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /x509: certificate signed by unknown authority/);
    });

    test('podman login, pull, build FROM scratch and push', async () => {
      const root = path.join(tmp, 'podman');
      const authfile = path.join(root, 'auth.json');
      await mkdir(root, { recursive: true });
      const podman = (...args: string[]) =>
        runOk('podman', [
          '--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), '--storage-driver', 'vfs',
          '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args,
        ], { env: { REGISTRY_AUTH_FILE: authfile }, timeoutMs: 30_000 });

      const refused = await run('podman', ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), '--storage-driver', 'vfs',
        'login', '--cert-dir', certs, '--authfile', authfile, '-u', user, '-p', 'wrong-password', host]);
      assert.notEqual(refused.code, 0, 'podman login with a wrong password succeeded');
      assert.match(refused.stderr, /unauthorized|authentication required|invalid username\/password/i);
      await podman('login', '--cert-dir', certs, '--authfile', authfile, '-u', user, '-p', password, host);
      const saved = JSON.parse(await readFile(authfile, 'utf8'));
      assert.ok(saved.auths[host], 'podman login did not save credentials for the registry');

      await podman('pull', '--authfile', authfile, '--cert-dir', certs, `${host}/demo/hello:v1`);
      const pulled = (await podman('image', 'inspect', '--format', '{{.Digest}}', `${host}/demo/hello:v1`)).stdout.trim();
      assert.equal(pulled, image.manifestDigest);

      const ctx = path.join(tmp, 'ctx');
      await mkdir(ctx, { recursive: true });
      await writeFile(path.join(ctx, 'file.txt'), 'built by podman\n');
      await writeFile(path.join(ctx, 'Containerfile'), 'FROM scratch\nCOPY file.txt /file.txt\n');
      await podman('build', '--network', 'none', '-t', `${host}/podman/built:v1`, ctx);
      await podman('push', '--authfile', authfile, '--cert-dir', certs, `${host}/podman/built:v1`);
      await podman('push', '--authfile', authfile, '--cert-dir', certs, '--format', 'oci', `${host}/podman/built:v1`, `${host}/podman/built:v1-oci`);

      const tags = await api('/v2/podman/built/tags/list');
      assert.equal(tags.status, 200);
      assert.deepEqual([...tags.json().tags].sort(), ['v1', 'v1-oci']);
      // The pushed image holds the file the build copied in.
      const manifest = (await api('/v2/podman/built/manifests/v1-oci', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
      assert.equal(manifest.layers.length, 1);
      const layer = await api(`/v2/podman/built/blobs/${manifest.layers[0].digest}`);
      assert.equal(layer.status, 200);
      const listing = path.join(tmp, 'layer.tar');
      await writeFile(listing, layer.body);
      const files = (await runOk('tar', ['-tzf', listing])).stdout;
      assert.match(files, /(^|\/)file\.txt$/m);
    });

    test('no blob file in the data dir differs from its digest', async () => {
      const dir = path.join(tmp, 'data', 'blobs', 'sha256');
      let count = 0;
      for (const prefix of await readdir(dir)) {
        for (const name of await readdir(path.join(dir, prefix))) {
          const hex = createHash('sha256').update(await readFile(path.join(dir, prefix, name))).digest('hex');
          assert.equal(hex, name);
          assert.equal(prefix, name.slice(0, 2));
          count++;
        }
      }
      assert.ok(count >= 6, `only ${count} blobs stored`);
    });
  });
}
