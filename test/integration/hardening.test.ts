// Security and protocol defects found by probing the registry from outside (issue 10, section 4):
// each test sends what the probe sent and checks what a client must see instead.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { assertOciError, client, request } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { bearerToken, requestToken, startTestRegistry, type TestRegistry } from '../helpers/registry.js';

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
    const reg = await startTestRegistry({ auth: { challenge: 'bearer' } });
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
    const reg = await startTestRegistry({ auth: { anonymousPull: true, challenge: 'bearer' } });
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

describe('the token endpoint and token checks', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(() => reg.close());
  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { access: unknown[] };
  const form = (fields: Array<[string, string]>) => ({
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  test('a token signed with the registry key but without exp is refused', async () => {
    const jwk = JSON.parse(await readFile(path.join(reg.dataDir, 'token-key.jwk'), 'utf8')) as JWK;
    const key = await importJWK(jwk, 'ES256');
    const sign = (withExp: boolean) => {
      const jwt = new SignJWT({ access: [{ type: 'repository', name: 'x/y', actions: ['pull'] }] })
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid! })
        .setIssuer('minato')
        .setAudience('minato')
        .setSubject('admin')
        .setIssuedAt();
      return (withExp ? jwt.setExpirationTime('2m') : jwt).sign(key);
    };
    const get = async (token: string) => request(`${reg.url}/v2/x/y/tags/list`, { headers: { Authorization: `Bearer ${token}` } });
    assertOciError(await get(await sign(true)), 404, 'NAME_UNKNOWN'); // the same token with exp is good
    const noExp = await sign(false);
    for (let i = 0; i < 2; i++) assertOciError(await get(noExp), 401, 'UNAUTHORIZED');
  });

  test('service: a wrong or repeated one is a 400, a missing one is allowed', async () => {
    const wrong = await requestToken(reg.url, 'repository:x/y:pull', reg.basic, { service: 'elsewhere' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.match(wrong.json().errors[0].message, /service "minato"/);
    assert.equal((await request(`${reg.url}/token?service=minato&service=minato&scope=repository:x/y:pull`, { headers: { Authorization: reg.basic } })).status, 400);
    assert.equal((await requestToken(reg.url, 'repository:x/y:pull', reg.basic, {})).status, 200);
    const post = await request(`${reg.url}/token`, form([['grant_type', 'password'], ['username', 'admin'], ['password', reg.password], ['service', 'elsewhere']]));
    assert.equal(post.status, 400, post.text);
    assert.equal(post.json().error, 'invalid_request');
  });

  test('invalid names, unknown types and actions are dropped; one entry per resource', async () => {
    const token = await bearerToken(
      reg.url,
      ['repository:../x:push', 'repository:ok/x:pull,frob', 'repository:ok/x:push', 'frob:ok/x:pull', 'repository:UPPER:pull', 'repository:ok/y:frob', 'registry:catalog:*'],
      reg.basic,
    );
    assert.deepEqual(claimsOf(token).access, [
      { type: 'repository', name: 'ok/x', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  test('at most 64 scopes per request: 2000 are refused, 64 are fine', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `repository:m/${i}:pull`);
    const post = await request(`${reg.url}/token`, form([['grant_type', 'password'], ['username', 'admin'], ['password', reg.password], ['scope', many(2000).join(' ')]]));
    assert.equal(post.status, 400, post.text.slice(0, 200));
    assert.equal(post.json().error, 'invalid_scope');
    const refused = await requestToken(reg.url, many(65), reg.basic);
    assert.equal(refused.status, 400, refused.text.slice(0, 200));
    assert.match(refused.json().errors[0].message, /at most 64/);
    const fine = await requestToken(reg.url, many(64), reg.basic);
    assert.equal(fine.status, 200);
    assert.equal(claimsOf(fine.json().token).access.length, 64);
  });
});
