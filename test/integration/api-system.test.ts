// The system endpoints of /api/v2.0 on a real registry: ping, health (the checks of /readyz),
// systeminfo (the public part for anonymous callers, all of it signed in), getcert and the
// certificate and trust endpoints on plain HTTP (404 in words), users/current (database users
// and htpasswd users), X-Request-Id in the access log. Every response is checked against the
// served OpenAPI document.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { systemRoutes } from '../../src/api/system-routes.js';
import { ApiError } from '../../src/api/errors.js';
import { request } from '../helpers/http.js';
import { apiClient, assertApiError, assertValidDocument, operations, type ApiClient } from '../helpers/openapi.js';
import { spawnServe, startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('system endpoints (database users, plain HTTP)', () => {
  let reg: TestRegistry;
  let anonymous: ApiClient;
  let admin: ApiClient;
  let bob: ApiClient;
  before(async () => {
    reg = await startTestRegistry();
    await reg.users!.setPassword('bob', 'bob-pw');
    anonymous = await apiClient(reg.url);
    admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    bob = await apiClient(reg.url, { headers: { Authorization: basic('bob', 'bob-pw') } });
  });
  after(() => reg.close());

  test('the served document is valid OpenAPI 3 and has every operation the registry answers', async () => {
    assertValidDocument(anonymous.contract);
    const ids = operations(anonymous.contract.document).map((o) => o.op.operationId).sort();
    for (const id of ['getPing', 'getHealth', 'getSystemInfo', 'getCert', 'getCurrentUserInfo', 'getCertificate', 'renewCertificate', 'getCaTrust', 'getDdnsStatus', 'login', 'logout', 'getOpenApi', 'getSwagger']) {
      assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    }
    // The schemas' descriptions (.describe()) are the document's.
    const doc = anonymous.contract.document;
    assert.match(doc.components.schemas.GeneralInfo.properties.auth_mode.description, /db_auth: users live in the registry database/);
    assert.match(doc.paths['/c/login']!.post.requestBody.content['application/x-www-form-urlencoded'].schema.properties.principal.description, /user name/);
  });

  test('ping answers Pong as text, to anyone', async () => {
    const res = await anonymous('GET', '/api/v2.0/ping');
    assert.equal(res.text, 'Pong');
  });

  test('health: Harbor\'s form of the /readyz checks', async () => {
    const res = await anonymous('GET', '/api/v2.0/health');
    assert.deepEqual(res.json(), { status: 'healthy', components: [{ name: 'metadata', status: 'healthy' }, { name: 'storage', status: 'healthy' }] });
  });

  test('systeminfo: anonymous callers see the public part only, signed-in ones all of it', async () => {
    assert.deepEqual((await anonymous('GET', '/api/v2.0/systeminfo')).json(), { auth_mode: 'db_auth', self_registration: false, harbor_version: '0.1.0' });
    const full = (await bob('GET', '/api/v2.0/systeminfo')).json();
    const { host } = new URL(reg.url);
    assert.equal(full.registry_url, host);
    assert.equal(full.external_url, reg.url);
    assert.equal(full.has_ca_root, false);
    assert.equal(full.registry_storage_provider_name, 'filesystem');
    assert.equal(full.read_only, false);
    assert.equal(full.project_creation_restriction, 'everyone', 'projects.creationRestriction, as Harbor names it');
    assert.ok(Math.abs(Date.parse(full.current_time) - Date.now()) < 10_000);
    // Wrong credentials are not taken as anonymous: the client learns its password is wrong.
    const wrong = await request(`${reg.url}/api/v2.0/systeminfo`, { headers: { Authorization: basic('bob', 'nope') } });
    admin.contract.check('GET', '/api/v2.0/systeminfo', wrong);
    assertApiError(wrong, 401, 'UNAUTHORIZED');
  });

  test('users/current: the signed-in user with its id and admin flag; 401 with a Basic challenge without credentials', async () => {
    const a = (await admin('GET', '/api/v2.0/users/current')).json();
    assert.equal(a.username, 'admin');
    assert.equal(a.sysadmin_flag, true, 'auth.admins');
    const b = (await bob('GET', '/api/v2.0/users/current')).json();
    assert.equal(b.username, 'bob');
    assert.equal(b.sysadmin_flag, false);
    assert.ok(Number.isInteger(b.user_id) && b.user_id !== a.user_id);
    assert.equal((await bob('GET', '/api/v2.0/users/current')).json().user_id, b.user_id, 'the same id every time');
    const anon = await anonymous('GET', '/api/v2.0/users/current');
    assertApiError(anon, 401, 'UNAUTHORIZED');
    assert.equal(anon.headers['www-authenticate'], 'Basic realm="minato"');
  });

  test('certificate, renew, getcert and ca/trust on plain HTTP: 404 that says why; renew needs an administrator first', async () => {
    const cert = await bob('GET', '/api/v2.0/certificate');
    assertApiError(cert, 404, 'NOT_FOUND');
    assert.match(cert.json().errors[0].message, /plain HTTP: there is no certificate/);
    assertApiError(await bob('POST', '/api/v2.0/certificate/renew'), 403, 'FORBIDDEN', 'bob is no administrator');
    assertApiError(await admin('POST', '/api/v2.0/certificate/renew'), 404, 'NOT_FOUND');
    assertApiError(await anonymous('POST', '/api/v2.0/certificate/renew'), 401, 'UNAUTHORIZED');
    assert.match((await anonymous('GET', '/api/v2.0/systeminfo/getcert')).json().errors[0].message, /no CA of its own/);
    assertApiError(await anonymous('GET', '/api/v2.0/ca/trust'), 404, 'NOT_FOUND');
  });

  test('the registry API keeps its own errors; unknown API paths get Harbor\'s', async () => {
    const v2 = await request(`${reg.url}/v2/nope/manifests/latest`, { headers: { Authorization: reg.basic } });
    assert.equal(v2.json().errors[0].code, 'MANIFEST_UNKNOWN', 'the OCI body, not Harbor\'s');
    assertApiError(await anonymous('GET', '/api/v2.0/projectz'), 404, 'NOT_FOUND');
  });
});

test('users/current for a robot is 412, as in Harbor (robots have no user profile)', async () => {
  const [, , , , current] = systemRoutes({
    version: 't',
    readiness: {},
    authMode: 'db_auth',
    projectCreationRestriction: 'everyone',
    origin: () => 'http://x',
    storageProvider: 'filesystem',
    userProfile: async () => ({ id: 1, createdAt: 0 }),
  });
  assert.equal(current!.operationId, 'getCurrentUserInfo');
  const ctx = { caller: { principal: { user: 'robot$library+ci', robot: true as const } }, access: { isSysAdmin: () => false } };
  await assert.rejects(current!.handler({ params: undefined, query: undefined, body: undefined, headers: undefined }, ctx as never), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 'PRECONDITION');
    assert.match(err.message, /robot\$library\+ci is a robot account/);
    return true;
  });
});

test('htpasswd users, projects.creationRestriction adminonly: auth_mode htpasswd, project_creation_restriction adminonly, users/current with an id and an empty profile', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'htpasswd');
  await writeFile(file, `carol:${await bcrypt.hash('carol-pw', 4)}\n`);
  const reg = await startTestRegistry({ data: dir, auth: { htpasswd: file, admins: ['carol'] }, projects: { creationRestriction: 'adminonly' } });
  try {
    const carol = await apiClient(reg.url, { headers: { Authorization: basic('carol', 'carol-pw') } });
    const info = (await carol('GET', '/api/v2.0/systeminfo')).json();
    assert.equal(info.auth_mode, 'htpasswd');
    assert.equal(info.project_creation_restriction, 'adminonly', 'from the configuration');
    const me = (await carol('GET', '/api/v2.0/users/current')).json();
    assert.equal(me.username, 'carol');
    assert.equal(me.sysadmin_flag, true);
    assert.equal(me.email, '');
    assert.ok(me.user_id > 0);
  } finally {
    await reg.close();
  }
});

test('X-Request-Id: the one a client sends is in the access log line of its request, and answered back', async () => {
  const serve = await spawnServe(['--data', await tempDir()], { MINATO_LOG_LEVEL: 'info', MINATO_LOG_ACCESS_LOG: 'true' });
  try {
    const api = await apiClient(serve.url);
    const res = await api('GET', '/api/v2.0/ping', { headers: { 'X-Request-Id': 'trace-4711' } });
    assert.equal(res.headers['x-request-id'], 'trace-4711');
    const reg = await request(`${serve.url}/v2/`, { headers: { 'X-Request-Id': 'trace-4712' } });
    assert.equal(reg.status, 401);
    await new Promise((r) => setTimeout(r, 200));
    const lines = serve.output().split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as { reqId: string; url: string; status: number });
    assert.ok(lines.some((l) => l.reqId === 'trace-4711' && l.url === '/api/v2.0/ping' && l.status === 200), serve.output().slice(-2000));
    assert.ok(lines.some((l) => l.reqId === 'trace-4712' && l.url === '/v2/'), 'registry requests too');
  } finally {
    await serve.stop();
  }
});
