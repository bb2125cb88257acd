// docker (Debian's dockerd 20.10) and containerd (the one dockerd starts, driven with `ctr`)
// against a real `minato serve` on its built-in private CA, trusted through `minato trust --out /`
// as an operator would install it on a node.
//
// docker treats every registry on 127.0.0.0/8 as "insecure" and skips certificate checks there
// (so does containerd for a loopback host without a hosts.toml), so docker proves the protocol
// (login, build, push with cross-repository mounts, pull, run) while containerd proves that the
// exported hosts.toml and CA are what it needs: without the CA line it fails on x509, with the
// exported files it pulls and pushes.
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, runOk, startDockerd, type RunningDockerd } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { openProjects } from '../helpers/projects.js';
import { waitFor } from '../helpers/ports.js';
import { SYSTEM_ACTOR } from '../../src/events/events.js';

describe('docker and containerd against the private CA', () => {
  let tmp: string;
  let configFile: string;
  let serve: ServeProcess;
  let dockerd: RunningDockerd;
  let host: string; // 127.0.0.1:PORT
  let password: string;
  let installed: string[] = []; // certs.d directories written under /etc, removed at the end

  const docker = (args: string[], input?: string) => dockerd.docker(args, input);
  const dockerOk = (args: string[], input?: string) => dockerd.dockerOk(args, input);
  const ctr = (args: string[]) => run('ctr', ['--address', dockerd.containerdSocket, '--namespace', 'minato-e2e', ...args], { timeoutMs: 120_000 });

  before(async () => {
    tmp = await tempDir('minato-e2e-docker-');
    configFile = path.join(tmp, 'minato.json');
    await writeFile(
      configFile,
      JSON.stringify({
        data: path.join(tmp, 'data'),
        tls: { mode: 'ca', ca: { names: ['localhost', '127.0.0.1'], includeHostname: false } },
        log: { level: 'info', accessLog: true },
      }),
    );
    serve = await spawnServe(['-c', configFile]);
    password = serve.adminPassword!;
    host = `127.0.0.1:${new URL(serve.url).port}`;
    dockerd = await startDockerd(path.join(tmp, 'docker'));
  });

  after(async () => {
    await dockerd?.stop();
    await serve?.stop();
    for (const dir of installed) await rm(dir, { recursive: true, force: true });
    // and the parents "minato trust" created, as long as nothing else is in them
    for (const dir of ['/etc/docker/certs.d', '/etc/containerd/certs.d', '/etc/containerd']) await rmdir(dir).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('containerd refuses the registry with a hosts.toml that lacks the CA (x509: unknown authority)', async () => {
    // With no hosts.toml at all containerd skips verification for 127.0.0.1 too, so the control
    // is a hosts.toml naming the registry without a CA: containerd then verifies, and fails.
    const dir = path.join(tmp, 'no-ca', host);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'hosts.toml'), `server = "https://${host}"\n\n[host."https://${host}"]\n  capabilities = ["pull", "resolve", "push"]\n`);
    const r = await ctr(['images', 'pull', '--hosts-dir', path.dirname(dir), '--user', `admin:${password}`, `${host}/anything/x:v1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /x509: certificate signed by unknown authority/);
  });

  test('"minato trust --out /" installs the docker and containerd certs.d entries', async () => {
    installed = [`/etc/docker/certs.d/${host}`, `/etc/containerd/certs.d/${host}`];
    await runOk(process.execPath, [CLI, 'trust', '-c', configFile, '--host', host, '--format', 'docker', 'containerd', '--out', '/']);
    const hostsToml = await runOk('cat', [`/etc/containerd/certs.d/${host}/hosts.toml`]);
    assert.match(hostsToml.stdout, new RegExp(`ca = "/etc/containerd/certs.d/${host}/ca.crt"`));
    await runOk('test', ['-s', `/etc/docker/certs.d/${host}/ca.crt`]);
  });

  test('docker logs in, builds, pushes, pulls back and runs the image', async () => {
    assert.match((await dockerOk(['login', '-u', 'admin', '--password-stdin', host], password)).stdout, /Login Succeeded/);

    const ctx = path.join(tmp, 'ctx');
    await mkdir(ctx, { recursive: true });
    await copyFile('/bin/busybox', path.join(ctx, 'busybox')); // statically linked: runs FROM scratch
    await writeFile(path.join(ctx, 'message'), 'hello from minato\n');
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY message /message\nENTRYPOINT ["/bin/busybox"]\n');
    const ref = `${host}/team/bb:v1`;
    await dockerOk(['build', '-t', ref, ctx]);
    const push = await dockerOk(['push', ref]);
    const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    assert.ok(pushed, `docker push printed the manifest digest:\n${push.stdout}`);

    // Pull from a clean local store, then run what came back.
    await dockerOk(['rmi', ref]);
    assert.match((await dockerOk(['pull', ref])).stdout, new RegExp(`Digest: ${pushed}`));
    const out = await dockerOk(['run', '--rm', '--network', 'none', ref, 'cat', '/message']);
    assert.equal(out.stdout, 'hello from minato\n');
    assert.match((await dockerOk(['pull', `${host}/team/bb@${pushed}`])).stdout, /Status:/);

    // The same layers pushed to a second repository are mounted, not uploaded again.
    const copy = `${host}/other/bb:v1`;
    await dockerOk(['tag', ref, copy]);
    const second = await dockerOk(['push', copy]);
    assert.match(second.stdout, /Mounted from team\/bb/);
    assert.ok(
      serve.accessLog().some((l) => l.method === 'POST' && l.url.startsWith('/v2/other/bb/blobs/uploads/?') && l.url.includes('mount=sha256') && l.status === 201),
      'minato answered the mount with 201 Created',
    );
  });

  test('a wrong password is refused by docker login with minato\'s message', async () => {
    const r = await docker(['login', '-u', 'admin', '--password-stdin', host], 'not-the-password');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unauthorized/i);
  });

  test('containerd pulls what docker pushed and pushes it to a new repository, trusting hosts.toml', async () => {
    const hostsDir = '/etc/containerd/certs.d';
    const ref = `${host}/team/bb:v1`;
    const pull = await ctr(['images', 'pull', '--snapshotter', 'native', '--hosts-dir', hostsDir, '--user', `admin:${password}`, ref]);
    assert.equal(pull.code, 0, `ctr pull failed:\n${pull.stderr}${pull.stdout}`);
    assert.match((await ctr(['images', 'ls', '-q'])).stdout, new RegExp(ref.replace(/[.]/g, '\\.')));

    const copy = `${host}/k8s/bb:v1`;
    assert.equal((await ctr(['images', 'tag', ref, copy])).code, 0);
    const push = await ctr(['images', 'push', '--hosts-dir', hostsDir, '--user', `admin:${password}`, copy]);
    assert.equal(push.code, 0, `ctr push failed:\n${push.stderr}${push.stdout}`);
    const tags = await dockerOk(['pull', copy]);
    assert.match(tags.stdout, /Status:/, 'docker pulls what containerd pushed');
  });

  test('a project robot logs in with docker and pushes; containerd pulls with it; it reaches no other project', async () => {
    const handle = await openProjects(path.join(tmp, 'data'));
    try {
      // "team" exists: the admin's first push created it.
      const robot = await handle.projects.createRobot(
        { name: 'deployer', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'team', access: ['pull', 'push'].map((action) => ({ resource: 'repository', action })) }] },
        SYSTEM_ACTOR,
      );
      await waitFor(async () => (await docker(['login', '-u', robot.loginName, '--password-stdin', host], robot.secret)).code === 0 || undefined, 15_000, 'docker login as the robot');
      const ref = `${host}/team/bb:robot`;
      await dockerOk(['tag', `${host}/team/bb:v1`, ref]);
      assert.match((await dockerOk(['push', ref])).stdout, /digest: sha256:/);
      const other = await docker(['push', `${host}/other/bb:v1`]);
      assert.notEqual(other.code, 0, 'the robot of team may not push to other');
      assert.match(other.stderr, /denied|may not push/i);
      const pull = await ctr(['images', 'pull', '--snapshotter', 'native', '--hosts-dir', '/etc/containerd/certs.d', '--user', `${robot.loginName}:${robot.secret}`, ref]);
      assert.equal(pull.code, 0, `ctr pull as the robot failed:\n${pull.stderr}${pull.stdout}`);
    } finally {
      await dockerOk(['logout', host]);
      await handle.close();
    }
  });
});
