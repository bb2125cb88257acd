// Security and protocol defects found by probing the registry from outside (issue 10, section 4):
// each test sends what the probe sent and checks what a client must see instead.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assertOciError, client, request } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { bearerToken, startTestRegistry, type TestRegistry } from '../helpers/registry.js';

describe('cross-repository mount follows the request credentials', () => {
  let reg: TestRegistry;
  const secret = randomBytes(2000);
  before(async () => {
    reg = await startTestRegistry();
    const res = await client(reg.url, reg.basic)(`/v2/sec/a/blobs/uploads/?digest=${sha256(secret)}`, { method: 'POST', body: secret });
    assert.equal(res.status, 201, res.text);
  });
  after(() => reg.close());

  test('a token scoped to sec/c cannot mount from sec/a: 202, and the blob stays unreadable there', async () => {
    const api = client(reg.url, `Bearer ${await bearerToken(reg.url, 'repository:sec/c:pull,push', reg.basic)}`);
    const res = await api(`/v2/sec/c/blobs/uploads/?mount=${sha256(secret)}&from=sec/a`, { method: 'POST' });
    assert.equal(res.status, 202, res.text);
    assert.match(res.headers.location!, /^\/v2\/sec\/c\/blobs\/uploads\//);
    assertOciError(await api(`/v2/sec/c/blobs/${sha256(secret)}`), 404, 'BLOB_UNKNOWN');
  });

  test('without from, a token searches only repositories it may pull', async () => {
    const api = client(reg.url, `Bearer ${await bearerToken(reg.url, 'repository:sec/c2:pull,push', reg.basic)}`);
    const res = await api(`/v2/sec/c2/blobs/uploads/?mount=${sha256(secret)}`, { method: 'POST' });
    assert.equal(res.status, 202, res.text);
    assertOciError(await api(`/v2/sec/c2/blobs/${sha256(secret)}`), 404, 'BLOB_UNKNOWN');
  });

  test('a token that also grants pull on the source mounts it (201), with and without from', async () => {
    const token = await bearerToken(reg.url, ['repository:sec/d:pull,push', 'repository:sec/a:pull'], reg.basic);
    const api = client(reg.url, `Bearer ${token}`);
    assert.equal((await api(`/v2/sec/d/blobs/uploads/?mount=${sha256(secret)}&from=sec/a`, { method: 'POST' })).status, 201);
    assert.deepEqual((await api(`/v2/sec/d/blobs/${sha256(secret)}`)).body, secret);
    const other = client(reg.url, `Bearer ${await bearerToken(reg.url, ['repository:sec/e:pull,push', 'repository:sec/a:pull'], reg.basic)}`);
    assert.equal((await other(`/v2/sec/e/blobs/uploads/?mount=${sha256(secret)}`, { method: 'POST' })).status, 201);
  });
});

describe('anonymous access', () => {
  test('with anonymous pull off, an anonymous token opens nothing, not even GET /v2/', async () => {
    const reg = await startTestRegistry();
    try {
      const token = await bearerToken(reg.url, 'repository:x/y:pull');
      const res = await request(`${reg.url}/v2/`, { headers: { Authorization: `Bearer ${token}` } });
      assertOciError(res, 401, 'UNAUTHORIZED');
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm=/);
    } finally {
      await reg.close();
    }
  });

  test('with anonymous pull on, an upload status is for pushers only', async () => {
    const reg = await startTestRegistry({ auth: { anonymousPull: true } });
    try {
      const post = await client(reg.url, reg.basic)('/v2/pub/up/blobs/uploads/', { method: 'POST' });
      assert.equal(post.status, 202);
      const anon = await request(`${reg.url}${post.headers.location}`);
      assertOciError(anon, 401, 'UNAUTHORIZED');
      assert.match(String(anon.headers['www-authenticate']), /scope="repository:pub\/up:pull,push"/);
      const pullToken = await bearerToken(reg.url, 'repository:pub/up:pull');
      assertOciError(await request(`${reg.url}${post.headers.location}`, { headers: { Authorization: `Bearer ${pullToken}` } }), 401, 'UNAUTHORIZED');
      assert.equal((await client(reg.url, reg.basic)(post.headers.location!)).status, 204);
      // Pull itself stays anonymous.
      assert.equal((await request(`${reg.url}/v2/`)).status, 200);
    } finally {
      await reg.close();
    }
  });
});

describe('query parameters are single values, checked before use', () => {
  let reg: TestRegistry;
  let api: ReturnType<typeof client>;
  const blob = randomBytes(300);
  before(async () => {
    reg = await startTestRegistry();
    api = client(reg.url, reg.basic);
    assert.equal((await api(`/v2/q/a/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
  });
  after(() => reg.close());

  test('listings: a repeated last, n or artifactType is a 400, never a 500', async () => {
    assertOciError(await api('/v2/_catalog?last=a&last=b'), 400, 'UNSUPPORTED');
    assertOciError(await api('/v2/_catalog?n=2&last=a&last=b'), 400, 'UNSUPPORTED');
    assertOciError(await api('/v2/_catalog?n=1&n=2'), 400, 'PAGINATION_NUMBER_INVALID');
    assertOciError(await api('/v2/q/a/tags/list?last=a&last=b'), 400, 'UNSUPPORTED');
    assertOciError(await api('/v2/q/a/tags/list?n=-1'), 400, 'PAGINATION_NUMBER_INVALID');
    const referrers = await api(`/v2/q/a/referrers/${sha256(blob)}?artifactType=a&artifactType=b`);
    assertOciError(referrers, 400, 'UNSUPPORTED');
    assert.match(referrers.json().errors[0].message, /artifactType.*once/);
    // One value each still works.
    assert.equal((await api('/v2/_catalog?n=2&last=a')).status, 200);
    assert.equal((await api(`/v2/q/a/referrers/${sha256(blob)}?artifactType=a`)).status, 200);
  });

  test('uploads: a repeated or malformed digest, mount or from is refused before anything is made', async () => {
    const d = sha256(blob);
    assertOciError(await api(`/v2/q/b/blobs/uploads/?digest=${d}&digest=${d}`, { method: 'POST', body: blob }), 400, 'DIGEST_INVALID');
    assertOciError(await api(`/v2/q/b/blobs/uploads/?mount=${d}&mount=${d}&from=q/a`, { method: 'POST' }), 400, 'DIGEST_INVALID');
    assertOciError(await api(`/v2/q/b/blobs/uploads/?mount=${d}&from=q/a&from=q/c`, { method: 'POST' }), 400, 'NAME_INVALID');
    assertOciError(await api(`/v2/q/b/blobs/uploads/?mount=${d}&from=../x`, { method: 'POST' }), 400, 'NAME_INVALID');
    assertOciError(await api(`/v2/q/b/blobs/uploads/?mount=not-a-digest&from=q/a`, { method: 'POST' }), 400, 'DIGEST_INVALID');
    const post = await api('/v2/q/b/blobs/uploads/', { method: 'POST' });
    assert.equal(post.status, 202);
    assertOciError(await api(`${post.headers.location}?digest=${d}&digest=${d}`, { method: 'PUT', body: blob }), 400, 'DIGEST_INVALID');
    assertOciError(await api(`/v2/q/b/blobs/${d}`), 404, 'BLOB_UNKNOWN');
  });
});
