// `minato immutable` and `minato retention` against an in-process registry, as an operator runs
// them (the credentials of `minato login`): rules from flags, readable tables and --json, a dry
// run that prints every artifact with RETAIN or DEL and deletes nothing, then the run; and
// `minato repo delete`, after which no repository holds the repository's blobs any more (what
// garbage collection takes as unreferenced) and the project's usage is back to zero.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request } from '../helpers/http.js';
import { pushImage, sha256 } from '../helpers/oci.js';
import { cliLoggedIn, type CliSession } from '../helpers/cli.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

describe('the rule commands of the CLI', () => {
  let reg: TestRegistry;
  let cli: CliSession;

  before(async () => {
    reg = await startTestRegistry({ projects: { autoCreate: false } });
    cli = await cliLoggedIn(reg);
    await reg.projects.create({ name: 'ops' }, { user: null }, SYSTEM_ACTOR);
    for (const tag of ['v1', 'v2', 'v3']) {
      await pushImage(reg.url, reg.basic, 'ops/app', tag);
      await new Promise((r) => setTimeout(r, 15));
    }
  });
  after(() => reg.close());

  test('immutable add, list, rm; a covered tag cannot move', async () => {
    assert.match((await cli.ok(['immutable', 'add', 'ops', '--tags', 'v1', '--repos', 'app'])).stderr, /immutability rule \d+ added to ops/);
    const list = (await cli.ok(['immutable', 'list', 'ops'])).stdout;
    assert.match(list.split('\n')[0]!, /^ID\s+TAGS\s+REPOSITORIES\s+STATE$/);
    assert.match(list, /^\d+\s+v1\s+app\s+enabled$/m);
    await assert.rejects(pushImage(reg.url, reg.basic, 'ops/app', 'v1', 'other'), /403/);
    const [rule] = JSON.parse((await cli.ok(['immutable', 'list', 'ops', '--json'])).stdout) as Array<{ id: number }>;
    const bad = await cli.minato(['immutable', 'add', 'ops', '--tags', 'v[']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a doublestar pattern/);
    await cli.ok(['immutable', 'rm', 'ops', String(rule!.id)]);
    assert.match((await cli.ok(['immutable', 'list', 'ops'])).stderr, /no immutability rules/);
  });

  test('retention set, show, run --dry-run (nothing deleted), run, history', async () => {
    await cli.ok(['retention', 'set', 'ops', '--keep-latest', '1', '--tags', 'v*']);
    const shown = (await cli.ok(['retention', 'show', 'ops'])).stdout;
    assert.match(shown, /schedule: none/);
    assert.match(shown, /^1\s+the latest 1 pushed\s+v\* \{"untagged":false\}\s+\*\*\s+enabled$/m);
    const dry = await cli.ok(['retention', 'run', 'ops', '--dry-run']);
    assert.match(dry.stdout, /repository ops\/app: 3 artifact\(s\), 1 retained, 2 deleted/);
    assert.match(dry.stdout, /v3 .*RETAIN/);
    assert.match(dry.stdout, /v1 .*DEL\s+no rule keeps it/);
    assert.match(dry.stderr, /would delete 2/);
    assert.equal((await request(`${reg.url}/v2/ops/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 200, 'the dry run deleted nothing');
    assert.match((await cli.ok(['retention', 'run', 'ops'])).stderr, /succeed: 3 artifact\(s\) in 1 repository, 1 retained, deleted 2/);
    assert.equal((await request(`${reg.url}/v2/ops/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 404);
    const history = (await cli.ok(['retention', 'history', 'ops'])).stdout;
    assert.match(history.split('\n')[0]!, /^ID\s+STARTED\s+ENDED\s+TRIGGER\s+DRY RUN\s+STATUS\s+RETAINED\s+DELETED$/);
    assert.match(history, /MANUAL\s+no\s+Succeed\s+1\s+2/);
    assert.match(history, /MANUAL\s+yes\s+Succeed\s+1\s+2/);
    const usage = await cli.minato(['retention', 'set', 'ops']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /say what to keep/);
  });

  test('repo delete: every artifact goes, and no repository holds its blobs any more (garbage collection may take them)', async () => {
    const pushed = await pushImage(reg.url, reg.basic, 'ops/gone', 'v1', 'only-here');
    const layer = sha256(Buffer.from('layer of ops/gone:only-here'));
    assert.match((await cli.ok(['repo', 'delete', 'ops/gone'])).stderr, /repository ops\/gone deleted/);
    assert.equal((await request(`${reg.url}/v2/ops/gone/manifests/${pushed.digest}`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 404);
    assert.equal((await request(`${reg.url}/v2/ops/gone/blobs/${layer}`, { method: 'HEAD', headers: { Authorization: reg.basic } })).status, 404);
    const db = new Sqlite(path.join(reg.dataDir, 'minato.db'), { readonly: true });
    try {
      const held = db.prepare('select count(*) as n from repository_blobs where digest = ? and released = 0').get(layer) as { n: number };
      assert.equal(held.n, 0, 'no repository holds the layer');
      const counted = db.prepare("select count(*) as n from project_blobs where digest = ? and project = 'ops'").get(layer) as { n: number };
      assert.equal(counted.n, 0, "the project's usage no longer counts it");
    } finally {
      db.close();
    }
  });
});
