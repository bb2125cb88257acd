// Robot accounts with the clients people use them with, against a real `minato serve` over HTTPS:
// skopeo pushes and pulls as a project robot, podman logs in as one and pulls with an authfile
// made from the robot's imagePullSecret; a robot without push is refused with DENIED; a disabled
// robot and a rotated-out secret sign in to nothing, while a secret rotated with a grace period
// keeps working until the grace ends; the robot's last use is recorded.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { imagePullSecret } from '../../src/core/pull-secret.js';
import type { RobotRecord } from '../../src/auth/access-store.js';
import { request } from '../helpers/http.js';
import { makeOciLayout, type OciLayout } from '../helpers/oci.js';
import { caCertDir, concatPem, run } from '../helpers/peers.js';
import { waitFor } from '../helpers/ports.js';
import { openProjects, type ProjectsHandle } from '../helpers/projects.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { makeTestPki } from '../helpers/tls.js';

describe('robot accounts with skopeo and podman', () => {
  let tmp: string;
  let serve: ServeProcess;
  let host: string;
  let certs: string;
  let caPem: Buffer;
  let image: OciLayout;
  let handle: ProjectsHandle;
  const robots: Record<string, { login: string; secret: string; record: RobotRecord }> = {};

  const skopeo = (...args: string[]) => run('skopeo', args, { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') } });
  const podman = (...args: string[]) => run('podman', ['--root', path.join(tmp, 'podman-root'), '--runroot', path.join(tmp, 'podman-run'), ...args], { timeoutMs: 120_000 });
  const creds = (name: string) => `${robots[name]!.login}:${robots[name]!.secret}`;
  /** Whether the robot may pull from ci/ (the server applies changes from the outbox within a poll). */
  const pullStatus = async (login: string, secret: string) =>
    (await request(`https://${host}/v2/ci/app/tags/list`, { ca: caPem, headers: { Authorization: `Basic ${Buffer.from(`${login}:${secret}`).toString('base64')}` } })).status;

  before(async () => {
    tmp = await tempDir('minato-e2e-robots-');
    const pki = await makeTestPki(tmp, ['localhost', '127.0.0.1']);
    const chain = await concatPem(path.join(tmp, 'chain.pem'), [pki.leafCert, pki.intermediateCert]);
    certs = await caCertDir(path.join(tmp, 'certs.d'), pki.caCert);
    caPem = await readFile(pki.caCert);
    const data = path.join(tmp, 'data');
    await writeFile(path.join(tmp, 'minato.json'), JSON.stringify({ data, tls: { cert: chain, key: pki.leafKey }, projects: { autoCreate: false } }));
    serve = await spawnServe(['-c', path.join(tmp, 'minato.json')], { MINATO_PROJECTS_AUTO_CREATE: 'false' });
    host = new URL(serve.url).host;
    image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 32 * 1024);

    // Made from another process, as the CLI would: the server learns of it from the outbox.
    handle = await openProjects(data);
    await handle.projects.create({ name: 'ci', public: false }, { user: null }, SYSTEM_ACTOR);
    const access = (actions: string[]) => [{ kind: 'project' as const, namespace: 'ci', access: actions.map((action) => ({ resource: 'repository', action })) }];
    for (const [name, actions] of [['builder', ['pull', 'push']], ['reader', ['pull']]] as const) {
      const made = await handle.projects.createRobot({ name, level: 'project', duration: 30, permissions: access([...actions]) }, SYSTEM_ACTOR);
      robots[name] = { login: made.loginName, secret: made.secret, record: made.robot };
    }
    assert.equal(robots.builder!.login, 'robot$ci+builder');
    await waitFor(async () => (await pullStatus(robots.reader!.login, robots.reader!.secret)) === 404 || undefined, 10_000, 'the server to see the robots');
  });

  after(async () => {
    await handle?.close();
    await serve?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('skopeo pushes and pulls as a project robot; a robot without push gets DENIED', async () => {
    const push = await skopeo('copy', '--dest-creds', creds('builder'), '--dest-cert-dir', certs, image.ref, `docker://${host}/ci/app:v1`);
    assert.equal(push.code, 0, push.stderr);
    const inspect = await skopeo('inspect', '--creds', creds('reader'), '--cert-dir', certs, `docker://${host}/ci/app:v1`);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).Digest, image.manifestDigest);
    const refused = await skopeo('copy', '--dest-creds', creds('reader'), '--dest-cert-dir', certs, image.ref, `docker://${host}/ci/app:v2`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /denied|not allowed|may not push/i);
    // Robots of ci reach nothing elsewhere.
    const elsewhere = await skopeo('inspect', '--creds', creds('builder'), '--cert-dir', certs, `docker://${host}/library/app:v1`);
    assert.notEqual(elsewhere.code, 0);
  });

  test('podman logs in as a robot, and pulls with an authfile made from its imagePullSecret', async () => {
    const viaStdin = await run(
      'podman',
      ['--root', path.join(tmp, 'podman-root'), '--runroot', path.join(tmp, 'podman-run'), 'login', '--cert-dir', certs, '--authfile', path.join(tmp, 'login.json'), '-u', robots.reader!.login, '--password-stdin', host],
      { input: robots.reader!.secret, timeoutMs: 60_000 },
    );
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.match(viaStdin.stdout, /Login Succeeded/);

    const secret = imagePullSecret('ci-reader', host, robots.reader!.login, robots.reader!.secret) as { data: Record<string, string> };
    const authfile = path.join(tmp, 'pull-secret.json');
    await writeFile(authfile, Buffer.from(secret.data['.dockerconfigjson']!, 'base64'));
    const pull = await podman('pull', '--cert-dir', certs, '--authfile', authfile, `${host}/ci/app:v1`);
    assert.equal(pull.code, 0, pull.stderr);
    const images = await podman('images', '--format', '{{.Digest}}', `${host}/ci/app:v1`);
    assert.match(images.stdout, new RegExp(image.manifestDigest));
  });

  test("the robot's last sign-in is recorded with its address", async () => {
    const record = await handle.projects.robot(robots.reader!.record.id);
    assert.equal(record.lastUsedFrom, '127.0.0.1');
    assert.ok(record.lastUsedAt !== null && Date.now() - record.lastUsedAt < 120_000);
  });

  test('a rotated secret keeps working for its grace period only; a disabled robot signs in to nothing', async () => {
    const reader = robots.reader!;
    const fresh = await handle.projects.refreshSecret(reader.record, undefined, 3600, SYSTEM_ACTOR);
    assert.equal(await pullStatus(reader.login, fresh), 200, 'the new secret works at once');
    assert.equal(await pullStatus(reader.login, reader.secret), 200, 'the old one still does, during the grace period');
    const newest = await handle.projects.refreshSecret(reader.record, undefined, 0, SYSTEM_ACTOR);
    // Both older secrets stop within the outbox's poll interval (a secret verified before the
    // change may be remembered until the server hears of it).
    for (const old of [fresh, reader.secret]) {
      await waitFor(async () => (await pullStatus(reader.login, old)) === 401 || undefined, 10_000, 'a rotated-out secret to stop working');
    }
    assert.equal(await pullStatus(reader.login, newest), 200);

    await handle.projects.updateRobot(reader.record, { disable: true }, SYSTEM_ACTOR);
    await waitFor(async () => (await pullStatus(reader.login, newest)) === 401 || undefined, 10_000, 'the disabled robot to be refused');
    const inspect = await skopeo('inspect', '--creds', `${reader.login}:${newest}`, '--cert-dir', certs, `docker://${host}/ci/app:v1`);
    assert.notEqual(inspect.code, 0);
    assert.match(inspect.stderr, /unauthorized|authentication required|invalid username or password/i);
  });
});
