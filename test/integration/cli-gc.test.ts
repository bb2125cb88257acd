// `minato gc` and `minato gc status` against an in-process registry, as an operator runs them
// after `minato login`: a run started and followed (plain progress lines when not on a terminal),
// what was freed printed, a dry run's per-project table, --json, the history, and the exit codes
// (1 for a user who may not, 2 without credentials).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { run } from '../helpers/peers.js';
import { CLI, startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

describe('minato gc', () => {
  let reg: TestRegistry;
  let home: string;
  const minato = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    run(process.execPath, [CLI, ...args], { env: { XDG_CONFIG_HOME: home, MINATO_PASSWORD: '', ...opts.env }, input: opts.input });

  before(async () => {
    reg = await startTestRegistry({ gc: { graceMinutes: 0 } });
    home = await tempDir();
    const login = await minato(['login', reg.url, '--user', 'admin', '--password-stdin'], { input: reg.password });
    assert.equal(login.code, 0, login.stderr);
    await pushImage(reg.url, reg.basic, 'team/app', 'v1');
    await pushImage(reg.url, reg.basic, 'team/app', 'v2');
    await request(`${reg.url}/v2/team/app/manifests/v1`, { method: 'DELETE', headers: { Authorization: reg.basic } });
  });
  after(() => reg.close());

  test('a dry run prints what each project would free, and frees nothing', async () => {
    const r = await minato(['gc', '--dry-run', '--delete-untagged']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Success .*would free [\d.]+ (B|KiB): 1 untagged manifests, 2 blobs/);
    assert.match(r.stdout, /PROJECT\s+MANIFESTS\s+BLOBS\s+WOULD FREE\n/);
    assert.match(r.stdout, /\nteam\s+1\s+2\s+\d+ B\n/);
  });

  test('a run frees the untagged image, --json gives the run, status lists the runs', async () => {
    const r = await minato(['gc', '--delete-untagged', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const runJson = JSON.parse(r.stdout);
    assert.equal(runJson.job_status, 'Success');
    assert.deepEqual([runJson.result.manifests, runJson.result.blobs], [1, 2]);
    const plain = await minato(['gc']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /freed 0 B: 0 untagged manifests, 0 blobs/);
    const status = await minato(['gc', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^schedule: None\n/);
    assert.match(status.stdout, new RegExp(`\\n${runJson.id}\\s+manual\\s+Success`));
    assert.equal(JSON.parse((await minato(['gc', 'status', '--json'])).stdout).runs.length, 3);
  });

  test('exit codes: 1 for a user who may not, 2 without credentials', async () => {
    await reg.users!.setPassword('nina', 'nina-password-1');
    const refused = await minato(['gc', '--registry', reg.url, '--user', 'nina', '--password-stdin'], { input: 'nina-password-1' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not allowed \(403\)/);
    const none = await run(process.execPath, [CLI, 'gc'], { env: { XDG_CONFIG_HOME: await tempDir(), MINATO_PASSWORD: '' } });
    assert.equal(none.code, 2);
  });
});
