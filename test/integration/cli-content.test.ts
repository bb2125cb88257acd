// `minato project|member|repo|artifact|tag` against an in-process registry, as a user runs them:
// with the credentials file `minato login` writes, or with --registry/--user/--password-stdin;
// tables and --json; refusals in words with exit code 1, no credentials or no server with 2.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/ports.js';
import { pushImage } from '../helpers/oci.js';
import { run, freePort } from '../helpers/peers.js';
import { CLI, startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

describe('the content commands of the CLI', () => {
  let reg: TestRegistry;
  let home: string;
  const minato = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    run(process.execPath, [CLI, ...args], { env: { XDG_CONFIG_HOME: home, MINATO_PASSWORD: '', ...opts.env }, input: opts.input });
  const ok = async (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const r = await minato(args, opts);
    assert.equal(r.code, 0, `minato ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };

  before(async () => {
    reg = await startTestRegistry({ projects: { autoCreate: false } });
    home = await tempDir();
    // Signed in as an operator would: the commands below use the CLI token `minato login` stored.
    await ok(['login', reg.url, '--user', 'admin', '--password-stdin'], { input: reg.password });
    await reg.users!.setPassword('dora', 'dora-password-1');
    await reg.users!.setPassword('eve', 'eve-password-1');
    await reg.projects.create({ name: 'src' }, { user: null }, SYSTEM_ACTOR);
    await pushImage(reg.url, reg.basic, 'src/team/app', 'v1');
  });
  after(() => reg.close());

  test('projects: create, list (a table), show, update, --json', async () => {
    assert.match((await ok(['project', 'create', 'web', '--public'])).stderr, /project web created/);
    const list = (await ok(['project', 'list'])).stdout;
    assert.match(list.split('\n')[0]!, /^NAME\s+PUBLIC\s+REPOSITORIES\s+YOUR ROLE\s+CREATED$/);
    assert.match(list, /^web\s+true\s+0\s+Project Admin\s+\d{4}-/m);
    assert.match(list, /^src\s+false\s+1\s+/m);
    const shown = (await ok(['project', 'show', 'src'])).stdout;
    assert.match(shown, /repositories:\s+1/);
    await ok(['project', 'update', 'web', '--public', 'false', '--meta', 'auto_scan=true']);
    const json = JSON.parse((await ok(['project', 'list', '--name', 'web', '--json'])).stdout);
    assert.equal(json[0].metadata.public, 'false');
    assert.equal(json[0].metadata.auto_scan, 'true');
  });

  test('members: add, list, update, remove by user name', async () => {
    await ok(['member', 'add', 'web', 'dora', '--role', 'developer']);
    assert.match((await ok(['member', 'list', 'web'])).stdout, /^dora\s+Developer\s+\d+$/m);
    await ok(['member', 'update', 'web', 'dora', '--role', 'maintainer']);
    assert.match((await ok(['member', 'list', 'web'])).stdout, /^dora\s+Maintainer/m);
    // dora, with her own credentials from the flags, now sees web.
    const asDora = await ok(['project', 'list', '--registry', reg.url, '--user', 'dora', '--password-stdin'], { input: 'dora-password-1\n' });
    assert.match(asDora.stdout, /^web\s/m);
    await ok(['member', 'remove', 'web', 'dora']);
    assert.doesNotMatch((await ok(['member', 'list', 'web'])).stdout, /dora/);
    const unknownRole = await minato(['member', 'add', 'web', 'dora', '--role', 'boss']);
    assert.equal(unknownRole.code, 2);
    assert.match(unknownRole.stderr, /unknown role "boss"/);
  });

  test('repositories, artifacts and tags: list, copy, tag, delete', async () => {
    assert.match((await ok(['repo', 'list'])).stdout, /^src\/team\/app\s+1\s+0\s+/m);
    const artifacts = (await ok(['artifact', 'list', 'src/team/app'])).stdout;
    assert.match(artifacts, /^sha256:\S+\s+v1\s+IMAGE\s+\d+\s+-\s+\d{4}-/m);
    await ok(['tag', 'add', 'src/team/app:v1', 'stable']);
    assert.match((await ok(['artifact', 'list', 'src/team/app'])).stdout, /stable,v1/);
    await ok(['artifact', 'copy', 'src/team/app:v1', 'web/app']);
    const pulled = await request(`${reg.url}/v2/web/app/manifests/v1`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pulled.status, 200, 'the copy is pullable');
    await ok(['tag', 'delete', 'src/team/app:stable']);
    assert.doesNotMatch((await ok(['artifact', 'list', 'src/team/app'])).stdout, /stable/);
    await ok(['artifact', 'delete', 'web/app:v1']);
    assert.deepEqual(JSON.parse((await ok(['repo', 'list', 'web', '--json'])).stdout), []);
    await ok(['repo', 'delete', 'src/team/app']);
    await ok(['project', 'delete', 'src']);
    assert.doesNotMatch((await ok(['project', 'list'])).stdout, /^src\s/m);
  });

  test('quotas and the audit log: show, set (the next push is refused), list who did what', async () => {
    await ok(['project', 'create', 'quoted']);
    await pushImage(reg.url, reg.basic, 'quoted/app', 'v1');
    assert.match((await ok(['quota', 'show', 'quoted'])).stdout, /^quoted\s+\S+ (B|KiB)\s+unlimited\s+-/m);
    await ok(['quota', 'set', 'quoted', '1']);
    assert.match((await ok(['quota', 'list'])).stdout, /^quoted\s+.*\s+1 B\s+\d+ %/m);
    await assert.rejects(pushImage(reg.url, reg.basic, 'quoted/app', 'v9', 'new bytes'), /storage quota of project quoted/);
    const bad = await minato(['quota', 'set', 'quoted', 'lots']);
    assert.equal(bad.code, 2);
    await ok(['quota', 'set', 'quoted', '-1']);
    const audit = await waitFor(async () => {
      const out = (await ok(['audit', 'list', '--project', 'quoted', '--operation', 'create', '--limit', '100'])).stdout;
      return /quoted\/app:v1/.test(out) ? out : undefined;
    }, 10_000, 'the push in the audit log');
    assert.match(audit, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+admin\s+create artifact\s+quoted\/app:v1\s+127\.0\.0\.1\s+ok/m);
    const rows = JSON.parse((await ok(['audit', 'list', '--by', 'admin', '--json'])).stdout) as Array<{ username: string }>;
    assert.ok(rows.length > 0 && rows.every((r) => r.username === 'admin'));
  });

  test('refusals in words: 401, 403, 404, 409 exit 1; no credentials or no server exit 2', async () => {
    const wrong = await minato(['project', 'list', '--registry', reg.url, '--user', 'eve', '--password-stdin'], { input: 'not-her-password\n' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /did not accept the credentials of eve \(401\)/);
    const forbidden = await minato(['member', 'list', 'web', '--registry', reg.url, '--user', 'eve', '--password-stdin'], { input: 'eve-password-1\n' });
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /not allowed \(403\): eve may not list member in project web/);
    const missing = await minato(['project', 'show', 'nothing-here']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found \(404\): project nothing-here/);
    const badRef = await minato(['artifact', 'delete', 'web/app']);
    assert.equal(badRef.code, 2);
    assert.match(badRef.stderr, /names no artifact/);
    const nobody = await minato(['project', 'list'], { env: { XDG_CONFIG_HOME: await tempDir() } });
    assert.equal(nobody.code, 2);
    assert.match(nobody.stderr, /run minato login URL first, or give --registry/);
    const down = await minato(['project', 'list', '--registry', `http://127.0.0.1:${await freePort()}`, '--user', 'eve', '--password-stdin'], { input: 'x\n' });
    assert.equal(down.code, 2);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+/);
  });
});
