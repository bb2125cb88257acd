// The scale-out mode for real: three `minato serve` processes on one PostgreSQL 15 and one S3
// bucket (Ceph radosgw), behind HAProxy (round robin, health checks on /readyz). The OCI
// conformance suite through the balancer; read-your-writes across replicas; an upload started on
// one replica, continued on a second and committed on a third; skopeo and podman through the
// balancer; docker too; a project membership made elsewhere reaching every replica; a replica killed with -9 during concurrent pushes; PostgreSQL restarted
// under load; an embedded registry migrated in; S3 lost.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startHaproxy, type RunningHaproxy } from '../helpers/haproxy.js';
import { assertOciError, client, request } from '../helpers/http.js';
import { ociConformanceSuite } from '../helpers/oci-conformance-suite.js';
import { imageManifest, makeOciLayout, sha256 } from '../helpers/oci.js';
import { htpasswdFile, run, runOk, startDockerd, waitFor } from '../helpers/peers.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startRadosgw, type RunningRadosgw } from '../helpers/radosgw.js';
import { CLI, spawnServe, startTestRegistry, tempDir, type ServeProcess } from '../helpers/registry.js';
import { AccessStore } from '../../src/auth/access-store.js';
import { ROLES } from '../../src/auth/rbac.js';
import { Projects } from '../../src/core/projects.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';

const USER = 'fleet';
const PASSWORD = 'fleet-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const MEDIA = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };

let tmp: string;
let pg: RunningPostgres;
let s3: RunningRadosgw;
let replicas: ServeProcess[] = [];
let lb: RunningHaproxy;
let configFiles: string[] = [];
let databaseUrl: string;

/** A replica's configuration: the shared database and bucket, its own port and data dir. */
async function writeConfig(i: number, databaseUrl: string, bucket: string, htpasswd: string | undefined): Promise<string> {
  const dir = path.join(tmp, `r${i}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'minato.yaml');
  await writeFile(
    file,
    stringify({
      data: path.join(dir, 'data'),
      trustedProxies: ['127.0.0.1'],
      auth: htpasswd === undefined ? {} : { htpasswd, credentialCacheSeconds: 60 },
      database: { driver: 'postgres', url: databaseUrl },
      storage: { driver: s3.driverConfig(bucket) },
      log: { level: 'info', accessLog: false },
    }),
  );
  return file;
}

async function startReplica(i: number): Promise<ServeProcess> {
  return spawnServe(['-c', configFiles[i]!], s3.env(), 30_000);
}

before(async () => {
  tmp = await tempDir('minato-fleet-');
  [pg, s3] = await Promise.all([startPostgres(), startRadosgw()]);
  const [url, bucket] = await Promise.all([pg.createDatabase(), s3.createBucket()]);
  databaseUrl = url;
  const htpasswd = await htpasswdFile(path.join(tmp, 'htpasswd'), { [USER]: PASSWORD });
  configFiles = await Promise.all([0, 1, 2].map((i) => writeConfig(i, url, bucket, htpasswd)));
  // The first start creates the schema; the others then start together.
  replicas = [await startReplica(0)];
  replicas.push(...(await Promise.all([startReplica(1), startReplica(2)])));
  lb = await startHaproxy(tmp, replicas.map((r) => new URL(r.url).host));
});

after(async () => {
  await lb?.stop();
  await Promise.allSettled(replicas.map((r) => r.stop()));
  await Promise.allSettled([pg?.stop(), s3?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('three replicas on PostgreSQL and S3', () => {
  test('every replica answers /readyz, and the balancer spreads requests over all three', async () => {
    for (const r of replicas) {
      const ready = await request(`${r.url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
    }
    // "UP", or "UP 1/2" right after one slow check on this busy machine: in rotation either way.
    // Waited for: a check that timed out twice on a loaded machine marks a replica DOWN until the next two pass.
    let states: string[] = [];
    await waitFor(async () => {
      states = Object.values(await lb.states());
      return states.length === 3 && states.every((s) => s.startsWith('UP')) ? true : undefined;
    }, 10_000, 'HAProxy to have all three replicas UP').catch(() => undefined);
    assert.equal(states.length, 3);
    assert.ok(states.every((s) => s.startsWith('UP')), states.join(', '));
  });

  test('read-your-writes: a tag pushed on one replica is served by the others at once; a delete likewise', async () => {
    const [a, b, c] = replicas.map((r) => client(r.url, AUTH));
    const layer = randomBytes(10_000);
    const config = Buffer.from('{"os":"linux"}');
    for (const blob of [layer, config]) assert.equal((await a!(`/v2/ryw/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    for (let round = 0; round < 5; round++) {
      const manifest = imageManifest(config, [layer], { annotations: { round: String(round) } });
      const put = await a!('/v2/ryw/app/manifests/latest', { method: 'PUT', body: manifest, headers: MEDIA });
      assert.equal(put.status, 201, put.text);
      const got = await b!('/v2/ryw/app/manifests/latest');
      assert.equal(got.headers['docker-content-digest'], sha256(manifest), `round ${round}: replica B serves the tag replica A just moved`);
      assert.ok(((await c!('/v2/ryw/app/tags/list')).json() as { tags: string[] }).tags.includes('latest'));
    }
    const digest = (await b!('/v2/ryw/app/manifests/latest', { method: 'HEAD' })).headers['docker-content-digest'] as string;
    assert.equal((await c!(`/v2/ryw/app/manifests/${digest}`, { method: 'DELETE' })).status, 202);
    assertOciError(await a!(`/v2/ryw/app/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
    assertOciError(await b!('/v2/ryw/app/manifests/latest'), 404, 'MANIFEST_UNKNOWN');
  });

  test('a member added from another process (the CLI) reaches every replica within a second or two', async () => {
    const meta = await openPostgresMetadata({ url: databaseUrl, maxConnections: 2 });
    try {
      const projects = new Projects(new AccessStore(meta.db), { defaultStorageLimit: -1 });
      const shared = await projects.create({ name: 'shared', public: false }, { user: null }, SYSTEM_ACTOR);
      const push = (r: ServeProcess) => request(`${r.url}/v2/shared/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: AUTH } });
      await waitFor(async () => {
        const statuses = await Promise.all(replicas.map(async (r) => (await push(r)).status));
        return statuses.every((s) => s === 403) || undefined;
      }, 10_000, 'every replica to see the new project and refuse a non-member');
      const added = Date.now();
      await projects.addMember(shared, USER, ROLES.developer, SYSTEM_ACTOR);
      await waitFor(async () => {
        const statuses = await Promise.all(replicas.map(async (r) => (await push(r)).status));
        return statuses.every((s) => s === 202) || undefined;
      }, 10_000, 'every replica to let the new member push');
      assert.ok(Date.now() - added < 5_000, `the membership took ${Date.now() - added} ms to reach every replica`);
    } finally {
      await meta.close();
    }
  });

  test('an upload started on one replica, continued on a second and committed on a third', async () => {
    const [a, b, c] = replicas.map((r) => client(r.url, AUTH));
    // Chunks that do not fill S3 parts: the tail travels between replicas in the upload's state.
    const blob = randomBytes(12 * 1024 * 1024 + 4321);
    const cut = [0, 3 * 1024 * 1024 + 7, 9 * 1024 * 1024 + 11, blob.length];
    const started = await a!('/v2/roam/app/blobs/uploads/', { method: 'POST' });
    assert.equal(started.status, 202);
    let location = String(started.headers.location).replace(/^https?:\/\/[^/]+/, '');
    for (const [i, replica] of [a!, b!, c!].entries()) {
      const chunk = blob.subarray(cut[i]!, cut[i + 1]!);
      const patched = await replica(location, { method: 'PATCH', body: chunk, headers: { 'Content-Range': `${cut[i]}-${cut[i + 1]! - 1}`, 'Content-Type': 'application/octet-stream' } });
      assert.equal(patched.status, 202, `PATCH ${i} on replica ${i}: ${patched.text}`);
      assert.equal(patched.headers.range, `0-${cut[i + 1]! - 1}`);
      location = String(patched.headers.location).replace(/^https?:\/\/[^/]+/, '');
    }
    const status = await b!(location);
    assert.equal(status.headers.range, `0-${blob.length - 1}`, 'any replica knows the offset');
    const done = await a!(`${location}${location.includes('?') ? '&' : '?'}digest=${sha256(blob)}`, { method: 'PUT' });
    assert.equal(done.status, 201, done.text);
    const pulled = await c!(`/v2/roam/app/blobs/${sha256(blob)}`);
    assert.equal(pulled.status, 200);
    assert.equal(sha256(pulled.body), sha256(blob));
  });

  test('skopeo copies an image in and out through the balancer', { timeout: 120_000 }, async () => {
    const layout = await makeOciLayout(path.join(tmp, 'layout'), 'v1', 3 << 20);
    const host = new URL(lb.url).host;
    const creds = `${USER}:${PASSWORD}`;
    await runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout.dir}:v1`, `docker://${host}/fleet/skopeo:v1`], { timeoutMs: 90_000 });
    const out = path.join(tmp, 'pulled');
    await runOk('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/fleet/skopeo:v1`, `oci:${out}:v1`], { timeoutMs: 90_000 });
    const inspect = await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds', creds, `docker://${host}/fleet/skopeo:v1`]);
    assert.equal((JSON.parse(inspect.stdout) as { Digest: string }).Digest, layout.manifestDigest);
  });

  test('podman logs in, pulls what skopeo pushed, and pushes an image it built, through the balancer', { timeout: 120_000 }, async () => {
    const root = path.join(tmp, 'podman');
    const authfile = path.join(root, 'auth.json');
    await mkdir(root, { recursive: true });
    const host = new URL(lb.url).host;
    const podman = (...args: string[]) =>
      runOk('podman', ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {
        env: { REGISTRY_AUTH_FILE: authfile },
        timeoutMs: 60_000,
      });
    await podman('login', '--tls-verify=false', '--authfile', authfile, '-u', USER, '-p', PASSWORD, host);
    await podman('pull', '--tls-verify=false', '--authfile', authfile, `${host}/fleet/skopeo:v1`);
    const ctx = path.join(root, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Containerfile'), 'FROM scratch\nCOPY file.txt /file.txt\n');
    await writeFile(path.join(ctx, 'file.txt'), `built for the fleet ${randomBytes(8).toString('hex')}\n`);
    await podman('build', '--network', 'none', '-t', `${host}/fleet/podman:v1`, ctx);
    await podman('push', '--tls-verify=false', '--authfile', authfile, `${host}/fleet/podman:v1`);
    // Every replica serves it (each asked directly, not through the balancer).
    for (const r of replicas) {
      const got = await client(r.url, AUTH)('/v2/fleet/podman/manifests/v1', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(got.status, 200, `${r.url}: ${got.text}`);
    }
  });

  test('docker logs in, pulls, and pushes a retagged image through the balancer', { timeout: 180_000 }, async () => {
    const dockerd = await startDockerd(path.join(tmp, 'docker'));
    try {
      // 127.0.0.0/8 is an insecure registry to docker by default: plain HTTP to the balancer.
      const host = new URL(lb.url).host;
      await dockerd.dockerOk(['login', '-u', USER, '--password-stdin', host], PASSWORD);
      await dockerd.dockerOk(['pull', `${host}/fleet/skopeo:v1`]);
      await dockerd.dockerOk(['tag', `${host}/fleet/skopeo:v1`, `${host}/fleet/docker:v1`]);
      const pushed = await dockerd.dockerOk(['push', `${host}/fleet/docker:v1`]);
      assert.match(pushed.stdout, /digest: sha256:/);
      for (const r of replicas) {
        const tags = await client(r.url, AUTH)('/v2/fleet/docker/tags/list');
        assert.deepEqual((tags.json() as { tags: string[] }).tags, ['v1'], r.url);
      }
    } finally {
      await dockerd.stop();
    }
  });

  test('a replica killed with -9 during concurrent pushes: no acknowledged push is lost, the others keep serving', { timeout: 120_000 }, async () => {
    const api = client(lb.url, AUTH);
    const acknowledged: string[] = [];
    let stop = false;
    const pusher = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const blob = randomBytes(256 * 1024 + n * 1000 + i);
        const res = await api(`/v2/kill/app${n}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob }).catch(() => undefined);
        if (res?.status === 201) acknowledged.push(`kill/app${n} ${sha256(blob)}`);
      }
    };
    const running = [0, 1, 2, 3].map(pusher);
    await waitFor(() => acknowledged.length >= 8, 30_000, 'some pushes');
    await replicas[1]!.kill9();
    const before = acknowledged.length;
    await waitFor(() => acknowledged.length >= before + 12, 60_000, 'pushes to go on through the other replicas');
    stop = true;
    await Promise.all(running);
    for (const entry of acknowledged) {
      const [repository, digest] = entry.split(' ') as [string, string];
      const head = await api(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200, `${entry} was acknowledged, then lost`);
    }
    // Back in the pool once restarted.
    replicas[1] = await startReplica(1);
    await waitFor(async () => (await request(`${replicas[1]!.url}/readyz`)).status === 200, 20_000, 'the restarted replica to be ready');
  });

  test('PostgreSQL restarted under load: 503 with Retry-After while it is down, then every replica recovers by itself', { timeout: 120_000 }, async () => {
    const api = client(replicas[0]!.url, AUTH);
    // Pushes through the balancer all along: each answer is a success or a clean 503, never a 500.
    const statuses = new Map<number, number>();
    let stop = false;
    const load = (async () => {
      const lbApi = client(lb.url, AUTH);
      while (!stop) {
        const blob = randomBytes(20_000);
        const res = await lbApi(`/v2/pgload/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob }).catch(() => undefined);
        if (res) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    })();
    await waitFor(() => (statuses.get(201) ?? 0) >= 5, 20_000, 'pushes before the restart');
    await pg.halt();
    const down = await api('/v2/ryw/app/tags/list');
    assert.equal(down.status, 503, down.text);
    assert.ok(Number(down.headers['retry-after']) > 0);
    assert.equal((await request(`${replicas[2]!.url}/readyz`)).status, 503);
    await pg.start();
    const before = statuses.get(201) ?? 0;
    await waitFor(() => (statuses.get(201) ?? 0) >= before + 5, 30_000, 'pushes after the restart');
    stop = true;
    await load;
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 201 && s !== 503), [], `answers during the restart: ${JSON.stringify([...statuses])}`);
    for (const r of replicas) {
      await waitFor(async () => (await request(`${r.url}/readyz`)).status === 200, 30_000, `${r.url} to be ready again`);
      const blob = randomBytes(5000);
      const push = await client(r.url, AUTH)(`/v2/recover/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
      assert.equal(push.status, 201, push.text);
    }
  });
});

describe('the OCI conformance suite through the balancer', () => {
  ociConformanceSuite(async () => ({ url: lb.url, authorization: AUTH, close: async () => undefined }));
});

describe('moving an embedded registry into the fleet', () => {
  test('minato migrate copies it into PostgreSQL + S3, and a replica on the copy serves it', { timeout: 120_000 }, async () => {
    const source = path.join(tmp, 'embedded');
    const reg = await startTestRegistry({ data: source });
    const layer = randomBytes(6 << 20);
    const config = Buffer.from('{"os":"linux"}');
    const manifest = imageManifest(config, [layer]);
    const sourceLogin = reg.basic;
    try {
      const api = client(reg.url, reg.basic);
      for (const blob of [layer, config]) assert.equal((await api(`/v2/moved/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
      assert.equal((await api('/v2/moved/app/manifests/v1', { method: 'PUT', body: manifest, headers: MEDIA })).status, 201);
    } finally {
      await reg.close();
    }
    const [url, bucket] = await Promise.all([pg.createDatabase(), s3.createBucket()]);
  databaseUrl = url;
    // Users from the database: the ones the embedded registry had.
    const target = await writeConfig(9, url, bucket, undefined);
    const migrated = await run(process.execPath, [CLI, 'migrate', '--from-data', source, '-c', target, '--json'], { env: s3.env(), timeoutMs: 90_000 });
    assert.equal(migrated.code, 0, migrated.stderr);
    const report = JSON.parse(migrated.stdout) as { blobs: { copied: number; refused: unknown[] }; manifests: number; tags: number; assets: { copied: number } };
    assert.deepEqual([report.blobs.copied, report.blobs.refused.length, report.manifests, report.tags], [2, 0, 1, 1]);
    assert.ok(report.assets.copied >= 1, 'the token-signing key came along');
    const again = JSON.parse((await run(process.execPath, [CLI, 'migrate', '--from-data', source, '-c', target, '--json'], { env: s3.env(), timeoutMs: 90_000 })).stdout) as typeof report;
    assert.equal(again.blobs.copied, 0, 'a second run finds everything there');

    const copy = await spawnServe(['-c', target], s3.env(), 30_000);
    try {
      // The source's users came along too: its admin logs in with the same password.
      const api = client(copy.url, sourceLogin);
      const got = await api('/v2/moved/app/manifests/v1');
      assert.equal(got.status, 200, got.text);
      assert.equal(got.headers['docker-content-digest'], sha256(manifest));
      const blob = await api(`/v2/moved/app/blobs/${sha256(layer)}`);
      assert.equal(sha256(blob.body), sha256(layer));
    } finally {
      await copy.stop();
    }
  });
});

describe('S3 unreachable', () => {
  test('readiness fails naming the storage, and blob requests get 503 with Retry-After', { timeout: 60_000 }, async () => {
    const api = client(replicas[0]!.url, AUTH);
    const blob = randomBytes(3000);
    assert.equal((await api(`/v2/s3down/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    await s3.stop();
    const ready = await request(`${replicas[0]!.url}/readyz`);
    assert.equal(ready.status, 503);
    const checks = (ready.json() as { checks: Record<string, string> }).checks;
    assert.equal(checks.metadata, 'ok');
    assert.match(checks.storage!, /s3|S3|endpoint|reach/);
    const get = await api(`/v2/s3down/app/blobs/${sha256(blob)}`);
    assert.equal(get.status, 503, get.text);
    assert.ok(Number(get.headers['retry-after']) > 0);
    const other = randomBytes(10);
    const push = await api(`/v2/s3down/app/blobs/uploads/?digest=${sha256(other)}`, { method: 'POST', body: other });
    assert.equal(push.status, 503, push.text);
  });
});
