// Tag immutability as a real client meets it: skopeo copies an image onto a tag an immutability
// rule covers, then another image onto the same tag (refused: skopeo prints the registry's
// "denied" with the rule), the first image again (accepted: the same digest), a new matching tag
// (accepted: a first push), and deletes the immutable tag (refused). Plain HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { makeOciLayout, type OciLayout } from '../helpers/oci.js';
import { apiClient } from '../helpers/openapi.js';
import { run } from '../helpers/peers.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let host: string;
let tmp: string;
let first: OciLayout;
let second: OciLayout;

const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', ...args], { env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') } });
const creds = () => `admin:${reg.password}`;
const copy = (from: OciLayout, tag: string) => skopeo('copy', '--dest-tls-verify=false', '--dest-creds', creds(), from.ref, `docker://${host}/rel/app:${tag}`);

before(async () => {
  tmp = await tempDir('minato-e2e-immutable-');
  reg = await startTestRegistry();
  host = new URL(reg.url).host;
  await reg.projects.create({ name: 'rel' }, { user: null }, SYSTEM_ACTOR);
  const api = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
  const created = await api('POST', '/api/v2.0/projects/rel/immutabletagrules', {
    json: { tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'release-*' }], scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } },
  });
  assert.equal(created.status, 201, created.text);
  first = await makeOciLayout(path.join(tmp, 'first'), 'v1', 4096);
  second = await makeOciLayout(path.join(tmp, 'second'), 'v1', 4096);
});
after(() => reg?.close());

test('skopeo: an immutable tag is not overwritten nor deleted, with a message that names the rule; the same digest again is fine', async (t) => {
  const pushed = await copy(first, 'release-1');
  assert.equal(pushed.code, 0, pushed.stderr);

  const moved = await copy(second, 'release-1');
  assert.notEqual(moved.code, 0, 'skopeo must fail to move release-1');
  t.diagnostic(`skopeo says: ${moved.stderr.trim()}`);
  // What the user reads: skopeo prints the registry's OCI error (code and message).
  assert.match(moved.stderr, /denied/i, moved.stderr);
  assert.match(moved.stderr, /tag release-1 of rel\/app is immutable under immutability rule \d+/, moved.stderr);
  assert.match(moved.stderr, /Push under a new tag/, moved.stderr);

  const again = await copy(first, 'release-1');
  assert.equal(again.code, 0, `the same image again is accepted: ${again.stderr}`);
  const fresh = await copy(second, 'release-2');
  assert.equal(fresh.code, 0, `a first push of a new covered tag is accepted: ${fresh.stderr}`);

  const inspect = await skopeo('inspect', '--tls-verify=false', '--creds', creds(), '--raw', `docker://${host}/rel/app:release-1`);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).layers[0].digest, first.layerDigests[0], 'release-1 still names the first image');

  const deleted = await skopeo('delete', '--tls-verify=false', '--creds', creds(), `docker://${host}/rel/app:release-1`);
  assert.notEqual(deleted.code, 0, 'skopeo must fail to delete release-1');
  t.diagnostic(`skopeo says: ${deleted.stderr.trim()}`);
  assert.match(deleted.stderr, /denied/i, deleted.stderr);
  assert.match(deleted.stderr, /immutable/, deleted.stderr);
});
