// Authentication and authorization as clients see them: challenges, the token flow, Basic,
// anonymous pull, htpasswd formats and reloads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertOciError, client, request } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function parseChallenge(header: string | undefined): Record<string, string> & { scheme: string } {
  assert.ok(header, 'expected a WWW-Authenticate header');
  const scheme = header.slice(0, header.indexOf(' '));
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return { scheme, ...params };
}

async function getToken(reg: TestRegistry, scope: string, authorization?: string) {
  const res = await request(`${reg.url}/token?service=minato&scope=${encodeURIComponent(scope)}`, {
    headers: authorization ? { Authorization: authorization } : {},
  });
  return res;
}

describe('token flow (auth.challenge bearer)', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ auth: { challenge: 'bearer' } });
  });
  after(() => reg.close());

  test('an anonymous request is challenged with the realm, service and scope', async () => {
    const res = await request(`${reg.url}/v2/team/app/manifests/v1`);
    assertOciError(res, 401, 'UNAUTHORIZED');
    const c = parseChallenge(res.headers['www-authenticate'] as string);
    assert.equal(c.scheme, 'Bearer');
    assert.equal(c.realm, `${reg.url}/token`);
    assert.equal(c.service, 'minato');
    assert.equal(c.scope, 'repository:team/app:pull');
    const push = await request(`${reg.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(parseChallenge(push.headers['www-authenticate'] as string).scope, 'repository:team/app:pull,push');
  });

  test('a token for the requested scope lets the client push and pull', async () => {
    const tok = await getToken(reg, 'repository:team/app:pull,push', reg.basic);
    assert.equal(tok.status, 200);
    const body = tok.json();
    assert.ok(body.token && body.access_token === body.token);
    assert.equal(body.expires_in, 300);
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    assert.equal(claims.sub, 'admin');
    assert.ok(claims.exp - claims.iat <= 300);

    const api = client(reg.url, `Bearer ${body.token}`);
    const blob = randomBytes(100);
    assert.equal((await api(`/v2/team/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    assert.equal((await api(`/v2/team/app/blobs/${sha256(blob)}`)).status, 200);
  });

  test('a token is limited to its scope: other repositories get insufficient_scope', async () => {
    const tok = (await getToken(reg, 'repository:team/app:pull', reg.basic)).json().token as string;
    const api = client(reg.url, `Bearer ${tok}`);
    const other = await api('/v2/team/other/tags/list');
    assert.equal(other.status, 401);
    const c = parseChallenge(other.headers['www-authenticate'] as string);
    assert.equal(c.error, 'insufficient_scope');
    assert.equal(c.scope, 'repository:team/other:pull');
    const push = await api('/v2/team/app/blobs/uploads/', { method: 'POST' });
    assert.equal(push.status, 401);
  });

  test('bad credentials get no token; a forged token is refused', async () => {
    const bad = await getToken(reg, 'repository:team/app:pull', basic('admin', 'wrong'));
    assert.equal(bad.status, 401);
    const unknown = await getToken(reg, 'repository:team/app:pull', basic('nobody', 'x'));
    assert.equal(unknown.status, 401);
    const good = (await getToken(reg, 'repository:team/app:pull,push', reg.basic)).json().token as string;
    const [h, p] = good.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'root' })).toString('base64url');
    const forged = `${h}.${forgedPayload}.${good.split('.')[2]}`;
    assert.equal((await request(`${reg.url}/v2/team/app/tags/list`, { headers: { Authorization: `Bearer ${forged}` } })).status, 401);
  });

  test('anonymous clients get a token without push rights', async () => {
    const tok = await getToken(reg, 'repository:team/app:pull,push');
    assert.equal(tok.status, 200);
    const claims = JSON.parse(Buffer.from(tok.json().token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims.access, []);
    const api = client(reg.url, `Bearer ${tok.json().token}`);
    assert.equal((await api('/v2/team/app/blobs/uploads/', { method: 'POST' })).status, 401);
  });

  test('POST /token with the OAuth2 password grant (containerd) issues a scoped token', async () => {
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    const ok = await request(`${reg.url}/token`, form({ grant_type: 'password', username: 'admin', password: reg.password, service: 'minato', scope: 'repository:team/app:pull', client_id: 'containerd' }));
    assert.equal(ok.status, 200, ok.text);
    const claims = JSON.parse(Buffer.from(ok.json().access_token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const bad = await request(`${reg.url}/token`, form({ grant_type: 'password', username: 'admin', password: 'wrong' }));
    assert.equal(bad.status, 401);
    const grant = await request(`${reg.url}/token`, form({ grant_type: 'refresh_token', refresh_token: 'x' }));
    assert.equal(grant.status, 400);
  });

  test('Basic credentials are accepted directly too', async () => {
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: reg.basic } })).status, 200);
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('admin', 'nope') } })).status, 401);
  });
});

describe('auth.challenge auto (the default): Bearer only when minato knows the origin clients use', () => {
  let reg: TestRegistry;
  let untrusting: TestRegistry;
  before(async () => {
    [reg, untrusting] = await Promise.all([startTestRegistry(), startTestRegistry({ trustedProxies: [] })]);
  });
  after(() => Promise.all([reg.close(), untrusting.close()]));
  const challengeOf = async (r: TestRegistry, headers: Record<string, string> = {}) => {
    const res = await request(`${r.url}/v2/team/app/tags/list`, { headers });
    assertOciError(res, 401, 'UNAUTHORIZED');
    return String(res.headers['www-authenticate']);
  };

  test('plain HTTP without X-Forwarded-Proto: Basic (a proxy in front may have terminated TLS)', async () => {
    assert.equal(await challengeOf(reg), 'Basic realm="minato"');
    // A proxy that keeps the Host but says nothing of the scheme: still Basic, never an http:// realm.
    assert.equal(await challengeOf(reg, { Host: 'registry.example.test:8443', 'X-Forwarded-For': '203.0.113.9' }), 'Basic realm="minato"');
  });

  test('X-Forwarded-Proto from a trusted proxy: Bearer with its scheme and host', async () => {
    const c = parseChallenge(await challengeOf(reg, { Host: 'registry.example.test:8443', 'X-Forwarded-Proto': 'https' }));
    assert.equal(c.scheme, 'Bearer');
    assert.equal(c.realm, 'https://registry.example.test:8443/token');
    assert.equal(c.scope, 'repository:team/app:pull');
  });

  test('X-Forwarded-Proto from an address not in trustedProxies is not believed: Basic', async () => {
    assert.equal(await challengeOf(untrusting, { Host: 'registry.example.test:8443', 'X-Forwarded-Proto': 'https' }), 'Basic realm="minato"');
  });

  test('a bearer token from /token is accepted although the challenge was Basic', async () => {
    const tok = await getToken(reg, 'repository:team/app:pull,push', reg.basic);
    assert.equal(tok.status, 200);
    const blob = randomBytes(64);
    const api = client(reg.url, `Bearer ${tok.json().token}`);
    assert.equal((await api(`/v2/team/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    assert.equal((await api(`/v2/team/app/blobs/${sha256(blob)}`)).status, 200);
  });

  test('externalUrl makes the origin known: Bearer with its realm', async () => {
    const fixed = await startTestRegistry({ externalUrl: 'https://hub.example.test' });
    try {
      const c = parseChallenge(await challengeOf(fixed));
      assert.equal(c.scheme, 'Bearer');
      assert.equal(c.realm, 'https://hub.example.test/token');
    } finally {
      await fixed.close();
    }
  });
});

describe('auth.challenge basic, and auth.token.enabled false', () => {
  test('challenge basic answers Basic even where Bearer would be known right; /token still serves', async () => {
    const reg = await startTestRegistry({ auth: { challenge: 'basic', realm: 'corp' } });
    try {
      const res = await request(`${reg.url}/v2/`, { headers: { 'X-Forwarded-Proto': 'https' } });
      assert.equal(res.headers['www-authenticate'], 'Basic realm="corp"');
      assert.equal((await getToken(reg, 'repository:a/b:pull', reg.basic)).status, 200);
    } finally {
      await reg.close();
    }
  });

  test('token.enabled false: no /token, bearer tokens refused, Basic challenge; "bearer" with it is a config error', async () => {
    const withTokens = await startTestRegistry();
    const tok = (await getToken(withTokens, 'repository:a/b:pull', withTokens.basic)).json().token as string;
    const reg = await startTestRegistry({ data: withTokens.dataDir, auth: { token: { enabled: false } } });
    try {
      assert.equal((await getToken(reg, 'repository:a/b:pull', reg.basic)).status, 404);
      const res = await request(`${reg.url}/v2/a/b/tags/list`, { headers: { Authorization: `Bearer ${tok}`, 'X-Forwarded-Proto': 'https' } });
      assertOciError(res, 401, 'UNAUTHORIZED');
      assert.equal(res.headers['www-authenticate'], 'Basic realm="minato"');
    } finally {
      await reg.close();
      await withTokens.close(); // removes the data dir both used
    }
    await assert.rejects(startTestRegistry({ auth: { challenge: 'bearer', token: { enabled: false } } }), /auth\.challenge: "bearer" needs the token endpoint/);
  });
});

describe('basic challenge and anonymous pull', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ auth: { anonymousPull: true, token: { enabled: false }, realm: 'corp' } });
  });
  after(() => reg.close());

  test('anonymous pull works in a public project, anonymous push is refused with a Basic challenge', async () => {
    const blob = randomBytes(50);
    const api = client(reg.url, reg.basic);
    assert.equal((await api(`/v2/library/x/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    const anon = await request(`${reg.url}/v2/library/x/blobs/${sha256(blob)}`);
    assert.equal(anon.status, 200);
    assert.deepEqual(anon.body, blob);
    // A private project stays closed to anonymous clients.
    assert.equal((await api(`/v2/private/x/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    assert.equal((await request(`${reg.url}/v2/private/x/blobs/${sha256(blob)}`)).status, 401);
    const push = await request(`${reg.url}/v2/library/x/blobs/uploads/`, { method: 'POST' });
    assert.equal(push.status, 401);
    assert.equal(push.headers['www-authenticate'], 'Basic realm="corp"');
    const del = await request(`${reg.url}/v2/library/x/blobs/${sha256(blob)}`, { method: 'DELETE' });
    assert.equal(del.status, 401);
    assert.equal((await request(`${reg.url}/v2/_catalog`)).status, 401);
  });
});

describe('htpasswd users', () => {
  let dir: string;
  let file: string;
  let reg: TestRegistry;
  before(async () => {
    dir = await tempDir();
    file = path.join(dir, 'htpasswd');
    const bcrypt = execFileSync('htpasswd', ['-Bbn', 'alice', 'alice-pw']).toString().trim();
    const apr1 = execFileSync('htpasswd', ['-mbn', 'bob', 'bob-pw']).toString().trim();
    const sha = execFileSync('htpasswd', ['-sbn', 'carol', 'carol-pw']).toString().trim();
    await writeFile(file, `# team\r\n${bcrypt}\r\n${apr1}\n${sha}\nbroken-line\ndave:plaintext\n`);
    reg = await startTestRegistry({ auth: { htpasswd: file, credentialCacheSeconds: 60 } });
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('bcrypt, $apr1$ and {SHA} entries work; plaintext ones do not', async () => {
    for (const [u, p] of [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['carol', 'carol-pw']]) {
      assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic(u!, p!) } })).status, 200, u);
      assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic(u!, 'wrong') } })).status, 401, u);
    }
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('dave', 'plaintext') } })).status, 401);
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('admin', 'test-password') } })).status, 401);
  });

  test('a changed file is picked up without restart, and cached logins of removed users end', async () => {
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('alice', 'alice-pw') } })).status, 200);
    const erin = execFileSync('htpasswd', ['-Bbn', 'erin', 'erin-pw']).toString().trim();
    await writeFile(file, `${erin}\n`);
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await request(`${reg.url}/v2/`, { headers: { Authorization: basic('erin', 'erin-pw') } })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'new user erin should be able to log in');
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: basic('alice', 'alice-pw') } })).status, 401);
  });
});
