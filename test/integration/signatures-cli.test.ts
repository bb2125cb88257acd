// `minato trust-policy` against an in-process registry, as an operator runs it (the credentials of
// `minato login`): set the level with a key file, show it as a table and --json, add and remove
// keys, a bad key refused with the server's reason and a non-zero exit, and a pull that the set
// policy refuses.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { assertOciError, request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { cliLoggedIn, type CliSession } from '../helpers/cli.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeKey } from '../helpers/signatures.js';

describe('the trust commands of the CLI', () => {
  let reg: TestRegistry;
  let cli: CliSession;

  before(async () => {
    reg = await startTestRegistry({ projects: { autoCreate: false } });
    cli = await cliLoggedIn(reg);
    await reg.projects.create({ name: 'ops' }, { user: null }, SYSTEM_ACTOR);
  });
  after(() => reg.close());

  test('set, show, add-key, remove-key; a bad key is refused; the policy refuses an unsigned pull', async () => {
    const ci = path.join(cli.home, 'ci.pub');
    const release = path.join(cli.home, 'release.pub');
    const junk = path.join(cli.home, 'junk.pub');
    await writeFile(ci, makeKey().pem);
    await writeFile(release, makeKey('ed25519').pem);
    await writeFile(junk, 'not a key\n');
    assert.match((await cli.ok(['trust-policy', 'set', 'ops', '--level', 'enforce', '--key', `ci=${ci}`])).stderr, /trust policy of ops: level enforce, 1 key\(s\), version 1/);
    const shown = (await cli.ok(['trust-policy', 'show', 'ops'])).stdout;
    assert.match(shown, /project ops: level enforce, version 1/);
    assert.match(shown, /KEY\s+TYPE\n.*ci\s+MFkw/);
    assert.match((await cli.ok(['trust-policy', 'add-key', 'ops', 'release', release])).stderr, /key release added to the trust policy of ops \(version 2\)/);
    const bad = await cli.minato(['trust-policy', 'add-key', 'ops', 'junk', junk]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /key "junk" is not a PEM public key/);
    assert.equal((await cli.minato(['trust-policy', 'set', 'ops', '--level', 'always'])).code, 2);
    assert.match((await cli.ok(['trust-policy', 'remove-key', 'ops', 'ci'])).stderr, /key ci removed/);
    const p = JSON.parse((await cli.ok(['trust-policy', 'show', 'ops', '--json'])).stdout) as { level: string; public_keys: Array<{ name: string }> };
    assert.deepEqual([p.level, p.public_keys.map((k) => k.name)], ['enforce', ['release']]);
    await pushImage(reg.url, reg.basic, 'ops/app', 'v1');
    assertOciError(await request(`${reg.url}/v2/ops/app/manifests/v1`, { headers: { Authorization: reg.basic } }), 403, 'DENIED');
  });
});
