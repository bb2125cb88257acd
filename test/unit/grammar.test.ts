// Names, tags, digests, ranges and scopes: the small parsers every request goes through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countScopes, parseScope, parseScopes } from '../../src/auth/scope.js';
import { parseRange } from '../../src/registry/blobs.js';
import { OciError } from '../../src/oci/errors.js';
import { assertName, parseReference } from '../../src/oci/names.js';
import { matchRoute, targetPath } from '../../src/registry/routes.js';
import { parseContentRange } from '../../src/registry/uploads.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof OciError ? e.code : String(e);
  }
};

test('repository names follow the spec grammar', () => {
  for (const ok of ['a', 'library/ubuntu', 'a/b/c/d', 'my-app', 'my__app', 'a.b', 'x9/y-z.w_v']) assert.equal(code(() => assertName(ok)), 'ok', ok);
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '../x', 'a/../b', '.a', 'a-', 'a___b', 'a b', 'a'.repeat(256)]) {
    assert.equal(code(() => assertName(bad)), 'NAME_INVALID', bad);
  }
});

test('references are tags or digests', () => {
  assert.deepEqual(parseReference('v1.0_rc-2'), { kind: 'tag', tag: 'v1.0_rc-2' });
  assert.equal(parseReference(`sha256:${'a'.repeat(64)}`).kind, 'digest');
  assert.equal(parseReference(`sha512:${'b'.repeat(128)}`).kind, 'digest');
  assert.equal(code(() => parseReference('sha256:abc')), 'DIGEST_INVALID');
  assert.equal(code(() => parseReference(`md5:${'a'.repeat(32)}`)), 'DIGEST_INVALID');
  assert.equal(code(() => parseReference('.hidden')), 'TAG_INVALID');
  assert.equal(code(() => parseReference('x'.repeat(129))), 'TAG_INVALID');
});

test('routes are matched from the end of the path', () => {
  assert.deepEqual(matchRoute('a/blobs/b/blobs/sha256:x'), { kind: 'blob', name: 'a/blobs/b', digest: 'sha256:x' });
  assert.deepEqual(matchRoute('x/manifests/tags/list'), { kind: 'tags', name: 'x/manifests' });
  assert.deepEqual(matchRoute('x/blobs/uploads/'), { kind: 'uploads', name: 'x' });
  assert.deepEqual(matchRoute('_catalog'), { kind: 'catalog' });
  assert.equal(matchRoute('x/unknown'), undefined);
  assert.equal(code(() => matchRoute('%2e%2e/blobs/uploads/')), 'NAME_INVALID');
});

test('request targets: origin form and absolute form give the same path', () => {
  assert.equal(targetPath('/v2/a/tags/list?n=1'), '/v2/a/tags/list');
  assert.equal(targetPath('/v2/'), '/v2/');
  assert.equal(targetPath('http://reg:5000/v2/a/tags/list?n=1'), '/v2/a/tags/list');
  assert.equal(targetPath('HTTPS://[::1]:5000/v2/a/manifests/v1'), '/v2/a/manifests/v1');
});

test('byte ranges', () => {
  assert.equal(parseRange(undefined, 10), null);
  assert.deepEqual(parseRange('bytes=0-4', 10), { start: 0, end: 4 });
  assert.deepEqual(parseRange('bytes=5-', 10), { start: 5, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=8-100', 10), { start: 8, end: 9 });
  assert.equal(parseRange('bytes=0-1,3-4', 10), null); // multiple ranges: whole blob
  assert.equal(code(() => parseRange('bytes=10-', 10)), 'RANGE_INVALID');
  assert.equal(code(() => parseRange('bytes=5-2', 10)), 'RANGE_INVALID');
});

test('upload Content-Range', () => {
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  assert.equal(parseContentRange(undefined), undefined);
  assert.equal(code(() => parseContentRange('abc')), 'BLOB_UPLOAD_INVALID');
  assert.equal(code(() => parseContentRange('9-1')), 'BLOB_UPLOAD_INVALID');
});

test('token scopes', () => {
  assert.deepEqual(parseScope('repository:team/app:pull,push'), { type: 'repository', name: 'team/app', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.equal(parseScope('repository:app'), undefined);
  assert.equal(parseScope('garbage'), undefined);
  assert.equal(parseScope('repository:../x:push'), undefined, 'a name outside the grammar');
  assert.equal(parseScope('repository:a/b:frob'), undefined, 'no known action');
  assert.equal(parseScope('user:a:pull'), undefined, 'unknown type');
  assert.equal(parseScope('registry:catalog:pull'), undefined);
  assert.deepEqual(parseScope('repository:a/b:pull,frob,pull'), { type: 'repository', name: 'a/b', actions: ['pull'] });
  assert.deepEqual(parseScopes(['repository:a:pull repository:b:pull', 'repository:a:push']), [
    { type: 'repository', name: 'a', actions: ['pull', 'push'] },
    { type: 'repository', name: 'b', actions: ['pull'] },
  ]);
  assert.equal(countScopes(['a b  c', '', 'd']), 4);
});
