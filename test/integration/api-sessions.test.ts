// UI sessions on a real registry, as a browser meets them: POST /c/login with Harbor's form fields
// (and JSON), the cookies' attributes (HttpOnly, SameSite=Strict, Path=/; Secure over TLS and
// behind a TLS-terminating trusted proxy, not otherwise), the CSRF token, logout, expiry, robots
// refused, the login throttle, a sign-in from another site refused, and the login and logout
// events the audit log is fed by. Over TLS (the private CA), a renewal asked for with a session
// but without its CSRF token is refused and renews nothing. Every response is checked against
// the served OpenAPI document.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { request, type Response } from '../helpers/http.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

interface Cookie {
  name: string;
  value: string;
  attributes: string[];
}

function cookiesOf(res: Response): Map<string, Cookie> {
  const out = new Map<string, Cookie>();
  for (const line of res.headers['set-cookie'] ?? []) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    out.set(pair!.slice(0, eq), { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes });
  }
  return out;
}

/** The Cookie header a browser would send back after this response. */
function cookieHeader(res: Response): string {
  return [...cookiesOf(res).values()].map((c) => `${c.name}=${c.value}`).join('; ');
}

async function events(reg: TestRegistry, type: string): Promise<Array<Record<string, any>>> {
  const text = await readFile(path.join(reg.dataDir, 'events.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.type === type);
}

describe('UI sessions over plain HTTP', () => {
  let reg: TestRegistry;
  let api: ApiClient;
  before(async () => {
    reg = await startTestRegistry({ events: { log: 'events.log' }, auth: { throttle: { userFailures: 3, addressFailures: 50, windowSeconds: 30 } } });
    await reg.users!.setPassword('alice', 'alice-pw');
    await reg.users!.setPassword('dave', 'dave-pw');
    api = await apiClient(reg.url);
  });
  after(() => reg.close());

  test('login with Harbor\'s form fields: a sid cookie (HttpOnly, SameSite=Strict, Path=/, not Secure on plain HTTP) and the CSRF token in a header and a readable cookie', async () => {
    const res = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' } });
    assert.equal(res.status, 200);
    const cookies = cookiesOf(res);
    const sid = cookies.get('sid')!;
    const csrf = cookies.get('__csrf')!;
    assert.match(sid.value, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(sid.attributes, ['Path=/', 'SameSite=Strict', 'HttpOnly']);
    assert.deepEqual(csrf.attributes, ['Path=/', 'SameSite=Strict'], 'the UI reads this one');
    assert.equal(res.headers['x-harbor-csrf-token'], csrf.value);
    assert.equal(res.headers['cache-control'], 'no-store');
    const me = await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookieHeader(res) } });
    assert.equal(me.json().username, 'alice');
    assert.equal(me.headers['x-harbor-csrf-token'], csrf.value, 'every response of the session carries the token');
  });

  test('login with JSON works too; bad input is a 400 naming the field; another content type a 415', async () => {
    assert.equal((await api('POST', '/c/login', { json: { principal: 'alice', password: 'alice-pw' } })).status, 200);
    const missing = await api('POST', '/c/login', { form: { principal: 'alice' } });
    assertApiError(missing, 400, 'BAD_REQUEST');
    assert.match(missing.json().errors[0].message, /^body field password: /);
    const twice = await api('POST', '/c/login', { body: 'principal=alice&principal=bob&password=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assertApiError(twice, 400, 'BAD_REQUEST', 'a field given twice');
    const proto = await api('POST', '/c/login', { body: '__proto__=x&__proto__=y&principal=alice&password=alice-pw', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(proto.status, 200, 'a field named __proto__ is only a field');
    assertApiError(await api('POST', '/c/login', { body: 'principal=alice', headers: { 'Content-Type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('wrong password: 401 without a Basic challenge (a browser must not pop up a prompt); both attempts are login events', async () => {
    const wrong = await api('POST', '/c/login', { form: { principal: 'dave', password: 'nope' } });
    assertApiError(wrong, 401, 'UNAUTHORIZED');
    assert.equal(wrong.headers['www-authenticate'], undefined);
    assert.equal((await api('POST', '/c/login', { form: { principal: 'dave', password: 'dave-pw' } })).status, 200);
    // A login answered from the credential cache is still an event: dave's Basic login is cached now.
    assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: `Basic ${Buffer.from('dave:dave-pw').toString('base64')}` } })).status, 200);
    assert.equal((await api('POST', '/c/login', { form: { principal: 'dave', password: 'dave-pw' } })).status, 200);
    const logins = await waitFor(async () => {
      const all = (await events(reg, 'auth.login')).filter((e) => e.user === 'dave');
      return all.length >= 3 && all;
    }, 10_000, 'dave\'s login events');
    assert.deepEqual(logins.map((e) => e.ok), [false, true, true]);
    assert.equal(logins[1]!.actor.name, 'dave');
    assert.equal(logins[0]!.reason, 'password');
  });

  test('logout ends the session (an auth.logout event) and clears both cookies; the old cookie opens nothing; logout without a session is 200', async () => {
    const login = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' } });
    const cookie = cookieHeader(login);
    const out = await api('GET', '/c/log_out', { headers: { Cookie: cookie } });
    assert.equal(out.status, 200);
    for (const c of cookiesOf(out).values()) {
      assert.equal(c.value, '');
      assert.ok(c.attributes.includes('Max-Age=0'), c.name);
    }
    const after = await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookie } });
    assertApiError(after, 401, 'UNAUTHORIZED');
    assert.equal(after.headers['www-authenticate'], undefined, 'it came with a session cookie: no Basic prompt');
    assert.equal((await api('GET', '/c/log_out')).status, 200);
    await waitFor(async () => (await events(reg, 'auth.logout')).some((e) => e.user === 'alice' && e.actor.name === 'alice'), 10_000, 'the logout event');
  });

  test('a new login ends the session the browser held', async () => {
    const first = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' } });
    const second = await api('POST', '/c/login', { form: { principal: 'dave', password: 'dave-pw' }, headers: { Cookie: cookieHeader(first) } });
    assert.equal(second.status, 200, 'no CSRF token needed to sign in');
    assertApiError(await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookieHeader(first) } }), 401, 'UNAUTHORIZED');
    assert.equal((await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookieHeader(second) } })).json().username, 'dave');
  });

  test('an expired session opens nothing (its row is past its expiry in the shared database)', async () => {
    const login = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' } });
    const cookie = cookieHeader(login);
    assert.equal((await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookie } })).status, 200);
    const db = new Sqlite(path.join(reg.dataDir, 'minato.db'));
    try {
      db.prepare('update sessions set expires_at = ?').run(Date.now() - 1);
    } finally {
      db.close();
    }
    assertApiError(await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookie } }), 401, 'UNAUTHORIZED');
  });

  test('a deleted user\'s session ends with it', async () => {
    await reg.users!.setPassword('erin', 'erin-pw');
    const login = await api('POST', '/c/login', { form: { principal: 'erin', password: 'erin-pw' } });
    assert.equal((await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookieHeader(login) } })).status, 200);
    await reg.users!.deleteUser('erin');
    assertApiError(await api('GET', '/api/v2.0/users/current', { headers: { Cookie: cookieHeader(login) } }), 401, 'UNAUTHORIZED');
  });

  test('robot accounts cannot sign in to the UI (403 in words, before any password is checked)', async () => {
    const res = await api('POST', '/c/login', { form: { principal: 'robot$library+ci', password: 'whatever-secret' } });
    assertApiError(res, 403, 'FORBIDDEN');
    assert.match(res.json().errors[0].message, /robot accounts cannot sign in to the UI; they use Basic credentials/);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  test('a sign-in from another site is refused', async () => {
    const res = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' }, headers: { 'Sec-Fetch-Site': 'cross-site' } });
    assertApiError(res, 403, 'FORBIDDEN');
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal((await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' }, headers: { 'Sec-Fetch-Site': 'same-origin' } })).status, 200);
  });

  test('repeated failed logins: 429 with Retry-After, even for the right password, from that address only', async () => {
    await reg.users!.setPassword('frank', 'frank-pw');
    const from = '127.0.0.3';
    for (let i = 0; i < 3; i++) assertApiError(await api('POST', '/c/login', { form: { principal: 'frank', password: `guess-${i}` }, localAddress: from }), 401, 'UNAUTHORIZED');
    const throttled = await api('POST', '/c/login', { form: { principal: 'frank', password: 'frank-pw' }, localAddress: from });
    assertApiError(throttled, 429, 'TOO_MANY_REQUESTS');
    assert.ok(Number(throttled.headers['retry-after']) > 0);
    assert.match(throttled.json().errors[0].message, /too many failed logins/);
    assert.equal((await api('POST', '/c/login', { form: { principal: 'frank', password: 'frank-pw' }, localAddress: '127.0.0.4' })).status, 200, 'another address');
    // Basic requests to the API from the throttled address are refused the same way.
    const basic = await api('GET', '/api/v2.0/users/current', { headers: { Authorization: `Basic ${Buffer.from('frank:wrong-again').toString('base64')}` }, localAddress: from });
    assertApiError(basic, 429, 'TOO_MANY_REQUESTS');
    await waitFor(async () => (await events(reg, 'auth.login')).some((e) => e.user === 'frank' && e.reason === 'throttled'), 10_000, 'a throttled login event');
  });

  test('behind a trusted proxy that says it terminated TLS the cookies are Secure; the same header from anyone else changes nothing', async () => {
    const proxied = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' }, headers: { 'X-Forwarded-Proto': 'https' } });
    assert.ok(cookiesOf(proxied).get('sid')!.attributes.includes('Secure'));
    assert.ok(cookiesOf(proxied).get('__csrf')!.attributes.includes('Secure'));
    const spoofed = await api('POST', '/c/login', { form: { principal: 'alice', password: 'alice-pw' }, headers: { 'X-Forwarded-Proto': 'https' }, localAddress: '127.0.0.5' });
    assert.ok(!cookiesOf(spoofed).get('sid')!.attributes.includes('Secure'), '127.0.0.5 is no trusted proxy');
  });
});

describe('UI sessions over TLS (the private CA)', () => {
  let reg: TestRegistry;
  let api: ApiClient;
  let ca: string;
  before(async () => {
    reg = await startTestRegistry({ tls: { mode: 'ca', ca: { names: ['localhost', '127.0.0.1'], includeHostname: false } } });
    ca = await readFile(path.join(reg.dataDir, 'ca', 'ca.crt'), 'utf8');
    api = await apiClient(reg.url, { ca });
  });
  after(() => reg.close());

  test('the cookies are Secure', async () => {
    const res = await api('POST', '/c/login', { form: { principal: 'admin', password: reg.password } });
    assert.deepEqual(cookiesOf(res).get('sid')!.attributes, ['Path=/', 'SameSite=Strict', 'HttpOnly', 'Secure']);
    assert.deepEqual(cookiesOf(res).get('__csrf')!.attributes, ['Path=/', 'SameSite=Strict', 'Secure']);
  });

  test('a renewal asked for with a session but without its CSRF token is refused and renews nothing; with the token it renews', async () => {
    const login = await api('POST', '/c/login', { form: { principal: 'admin', password: reg.password } });
    const session = { Cookie: cookieHeader(login) };
    const serial = async () => (await api('GET', '/api/v2.0/certificate', { headers: session })).json().serial as string;
    const before = await serial();
    assertApiError(await api('POST', '/api/v2.0/certificate/renew', { headers: session }), 403, 'FORBIDDEN');
    assertApiError(await api('POST', '/api/v2.0/certificate/renew', { headers: { ...session, 'X-Harbor-Csrf-Token': 'forged' } }), 403, 'FORBIDDEN');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await serial(), before, 'no certificate was issued');
    const renewed = await api('POST', '/api/v2.0/certificate/renew', { headers: { ...session, 'X-Harbor-Csrf-Token': String(login.headers['x-harbor-csrf-token']) } });
    assert.equal(renewed.status, 202);
    assert.equal(renewed.json().renewing, true);
    await waitFor(async () => (await serial()) !== before, 15_000, 'a new certificate');
    const again = await api('POST', '/api/v2.0/certificate/renew', { headers: { Authorization: reg.basic } });
    assertApiError(again, 429, 'TOO_MANY_REQUESTS', 'tls.manualRenewalIntervalSeconds');
    assert.ok(Number(again.headers['retry-after']) > 0);
  });

  test('getcert and ca/trust: the CA certificate and the URLs of every trust bundle, which answer', async () => {
    const cert = await api('GET', '/api/v2.0/systeminfo/getcert');
    assert.equal(cert.text, ca);
    assert.equal(cert.headers['content-disposition'], 'attachment; filename=ca.crt');
    const trust = (await api('GET', '/api/v2.0/ca/trust')).json();
    assert.equal(trust.ca_certificate_url, `${reg.url}/ca.crt`);
    assert.match(trust.sha256_fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const formats = trust.formats.map((f: { format: string }) => f.format);
    assert.ok(formats.includes('docker') && formats.includes('pem') && !formats.includes('k8s-pull-secret'), formats.join(','));
    for (const url of [trust.ca_certificate_url, trust.install_script_url, trust.formats.find((f: { format: string }) => f.format === 'pem').url]) {
      assert.equal((await request(url, { ca })).status, 200, url);
    }
    const info = (await api('GET', '/api/v2.0/systeminfo', { headers: { Authorization: reg.basic } })).json();
    assert.equal(info.has_ca_root, true);
    assert.equal(info.external_url, reg.url);
  });

  test('the /api/v1 certificate API still answers, for older CLIs', async () => {
    const v1 = await request(`${reg.url}/api/v1/certificate`, { ca, headers: { Authorization: reg.basic } });
    assert.equal(v1.status, 200);
    assert.equal(v1.json().source, 'ca');
  });
});
