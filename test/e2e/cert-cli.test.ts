// `minato cert status|renew` as the docs show them, against a real `minato serve` (tls.mode ca,
// users from an htpasswd file): the password is read from standard input once, a wrong one says
// so, only administrators (auth.admins) may renew, and a second forced renewal within
// tls.manualRenewalIntervalSeconds is refused with the time left. The CLI talks to /api/v2.0;
// /api/v1 still answers older CLIs, with the same limits (one renewal throttle for both).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/http.js';
import { htpasswdFile, run } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

describe('minato cert renew and status against a running server', () => {
  let tmp: string;
  let data: string;
  let serve: ServeProcess;
  let caPem: string;

  const USERS = { admin: 'admin-Pa55', alice: 'alice-pass' };
  const serial = async () => new X509Certificate(await readFile(path.join(data, 'ca', 'server.crt'), 'utf8')).serialNumber.toLowerCase();
  /** `echo PASSWORD | minato cert ARGS --url ... --insecure --user USER --password-stdin` */
  const cert = (args: string[], user: string, password: string) =>
    run(process.execPath, [CLI, 'cert', ...args, '--url', serve.url, '--insecure', '--user', user, '--password-stdin'], { input: `${password}\n`, timeoutMs: 30_000 });

  before(async () => {
    tmp = await tempDir('minato-e2e-cert-cli-');
    data = path.join(tmp, 'data');
    const config = path.join(tmp, 'minato.json');
    const htpasswd = await htpasswdFile(path.join(tmp, 'htpasswd'), USERS);
    await writeFile(config, JSON.stringify({ data, auth: { htpasswd }, tls: { mode: 'ca', ca: { includeHostname: false } } }));
    serve = await spawnServe(['-c', config]);
    caPem = await readFile(path.join(data, 'ca', 'ca.crt'), 'utf8');
  });
  after(async () => {
    await serve?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the log names the HTTPS URL it listens on', () => {
    assert.match(serve.output(), /"msg":"Server listening at https:\/\/127\.0\.0\.1:\d+"/);
    assert.doesNotMatch(serve.output(), /Server listening at http:\/\//);
  });

  test('an administrator renews with --force and the password on standard input', async () => {
    const old = await serial();
    const r = await cert(['renew', '--force'], 'admin', USERS.admin);
    assert.equal(r.code, 0, r.stderr);
    const now = await serial();
    assert.notEqual(now, old, 'a new server certificate was issued');
    assert.match(r.stdout, new RegExp(`^renewed: serial ${now}, valid until \\S+\\n$`, 'i'));
  });

  test('a second forced renewal within tls.manualRenewalIntervalSeconds is refused with the time left', async () => {
    const old = await serial();
    const r = await cert(['renew', '--force'], 'admin', USERS.admin);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^minato: a renewal was asked for \d+ s ago; the next one is allowed in \d+ s \(tls\.manualRenewalIntervalSeconds: 300\) \(429 from the server\)\n$/);
    const api = await request(`${serve.url}/api/v1/certificate/renew`, { method: 'POST', ca: caPem, headers: { Authorization: `Basic ${Buffer.from(`admin:${USERS.admin}`).toString('base64')}` } });
    assert.equal(api.status, 429);
    const retryAfter = Number(api.headers['retry-after']);
    assert.ok(retryAfter > 290 && retryAfter <= 300, `Retry-After ${api.headers['retry-after']}`);
    assert.equal(await serial(), old, 'no certificate was issued');
  });

  test('a user who is not in auth.admins may read the status but not renew', async () => {
    const status = await cert(['status'], 'alice', USERS.alice);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^source: {8}ca$/m);
    assert.match(status.stdout, /\(\d+\.\d days left\)/);
    const old = await serial();
    const r = await cert(['renew', '--force'], 'alice', USERS.alice);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^minato: alice may not update certificate: this takes a system administrator \(a user in auth\.admins or with the administrator flag\) or a robot with that system permission \(403 from the server\)\n$/);
    const curl = await request(`${serve.url}/api/v1/certificate/renew`, { method: 'POST', ca: caPem, headers: { Authorization: `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}` } });
    assert.equal(curl.status, 403);
    assert.equal(await serial(), old);
  });

  test('a wrong password says so, for status and renew', async () => {
    for (const args of [['status'], ['renew', '--force']]) {
      const r = await cert(args, 'admin', 'not-the-password');
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'minato: wrong user or password for admin (401 from the server)\n', args.join(' '));
    }
  });

  test('without --force a certificate that is not due is left alone; MINATO_PASSWORD works too', async () => {
    const r = await run(process.execPath, [CLI, 'cert', 'renew', '--url', serve.url, '--insecure', '--user', 'admin'], { env: { MINATO_PASSWORD: USERS.admin } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^not due: the certificate is renewed automatically at \S+\. Use --force to renew now\.\n$/);
  });
});
