// The login throttle as clients see it: repeated wrong passwords get 429 with Retry-After on
// /v2/, /token (GET and POST), while the same user from another address still logs in, and the
// refusal ends after the window. 127.0.0.x addresses are loopback and count as other clients.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { assertOciError, request, type RequestOptions } from '../helpers/http.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
// Long enough that 40 bcrypt checks fit in one window on a busy 2-core machine (at 3 s the
// attempts of one test spread over two windows under load, and the count started over).
const WINDOW_SECONDS = 10;

test('the right password on 32 kept-alive connections at once, as the cached login expires, is checked once and never throttled', async () => {
  // docker pushes layers on many connections; when its cached login expires, every connection's
  // next request needs the password checked at the same moment. Each check in flight counts as a
  // failure until it succeeds, so 32 checks of the right password used to get 429 from the 11th.
  const reg = await startTestRegistry({ auth: { credentialCacheSeconds: 1, throttle: { userFailures: 10, addressFailures: 25, windowSeconds: 60 } } });
  try {
    const { port } = new URL(reg.url);
    const sockets = await Promise.all(
      Array.from({ length: 32 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.6' }, () => resolve(socket));
      })),
    );
    const wave = async () => {
      const answers = sockets.map((socket) => new Promise<string>((resolve) => {
        let data = '';
        const onData = (d: Buffer) => {
          data += d.toString('latin1');
          if (!data.includes('\r\n\r\n')) return;
          socket.off('data', onData);
          resolve(data.slice(9, 12));
        };
        socket.on('data', onData);
      }));
      for (const socket of sockets) socket.write(`GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${reg.basic}\r\n\r\n`);
      return Promise.all(answers);
    };
    try {
      assert.deepEqual(await wave(), Array(32).fill('200'));
      await new Promise((r) => setTimeout(r, 1200)); // the cached login expires
      assert.deepEqual(await wave(), Array(32).fill('200'));
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  } finally {
    await reg.close();
  }
});

describe('login throttle', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ auth: { throttle: { userFailures: 10, addressFailures: 25, windowSeconds: WINDOW_SECONDS } } });
  });
  after(() => reg.close());

  const v2 = (authorization: string, opts: RequestOptions = {}) => request(`${reg.url}/v2/`, { ...opts, headers: { Authorization: authorization, ...opts.headers } });

  test('40 wrong passwords in a row: 401 up to the limit, then 429 TOOMANYREQUESTS with Retry-After', async () => {
    const from = { localAddress: '127.0.0.2' };
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 40; i++) {
      last = await v2(basic('admin', `wrong-${i}`), from);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [...Array(10).fill(401), ...Array(30).fill(429)]);
    assertOciError(last!, 429, 'TOOMANYREQUESTS');
    const retryAfter = Number(last!.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `Retry-After ${last!.headers['retry-after']}`);
    // Even the right password waits at this address: the throttle answers before any check.
    assert.equal((await v2(reg.basic, from)).status, 429);
    // The real user elsewhere is not locked out.
    assert.equal((await v2(reg.basic, { localAddress: '127.0.0.3' })).status, 200);

    const metrics = (await request(`${reg.url}/metrics`)).text;
    assert.match(metrics, /minato_auth_failures_total\{reason="password"\} 10\b/);
    assert.match(metrics, /minato_auth_failures_total\{reason="throttled"\} 31\b/);

    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    assert.equal((await v2(reg.basic, from)).status, 200, 'the refusal ends after the window');
  });

  test('/token counts and refuses the same way, GET and POST', async () => {
    const from = { localAddress: '127.0.0.4' };
    const get = (password: string) => request(`${reg.url}/token?service=minato&scope=repository:a/b:pull`, { ...from, headers: { Authorization: basic('admin', password) } });
    for (let i = 0; i < 10; i++) assert.equal((await get('wrong')).status, 401);
    const refused = await get('wrong');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(refused.json().errors[0].code, 'TOOMANYREQUESTS');
    const post = await request(`${reg.url}/token`, {
      ...from,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: 'wrong', service: 'minato' }).toString(),
    });
    assert.equal(post.status, 429, post.text);
    assert.ok(Number(post.headers['retry-after']) >= 1);
    assert.equal((await request(`${reg.url}/token?service=minato`, { localAddress: '127.0.0.5', headers: { Authorization: reg.basic } })).status, 200);
  });

  test('one address trying many users is refused as a whole after its own limit', async () => {
    // Its own registry with a long window: 30 bcrypt checks can take longer than 3 s on a busy machine.
    const own = await startTestRegistry({ auth: { throttle: { userFailures: 10, addressFailures: 25, windowSeconds: 120 } } });
    try {
      const login = (authorization: string, localAddress: string) => request(`${own.url}/v2/`, { localAddress, headers: { Authorization: authorization } });
      await own.users!.setPassword('dave', 'dave-pw'); // before: a change of users lifts every refusal
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await login(basic(`user${i}`, 'guess'), '127.0.0.6')).status);
      assert.deepEqual(statuses, [...Array(25).fill(401), ...Array(5).fill(429)]);
      assert.equal((await login(basic('dave', 'dave-pw'), '127.0.0.6')).status, 429, 'a right password from the refused address');
      assert.equal((await login(basic('dave', 'dave-pw'), '127.0.0.7')).status, 200);
      // A login verified in the last auth.credentialCacheSeconds is not throttled: only the right password gets there.
      assert.equal((await login(basic('dave', 'dave-pw'), '127.0.0.6')).status, 200);
    } finally {
      await own.close();
    }
  });

  test('a wrong login takes as long for a user that does not exist: the time does not tell', async () => {
    const median = async (user: string, localAddress: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = process.hrtime.bigint();
        assert.equal((await v2(basic(user, `wrong-${i}`), { localAddress })).status, 401);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      return times.sort((a, b) => a - b)[2]!;
    };
    const known = await median('admin', '127.0.0.9');
    const unknown = await median('nobody-here', '127.0.0.10');
    assert.ok(unknown > known * 0.4, `a wrong password took ${known.toFixed(1)} ms for a user, ${unknown.toFixed(1)} ms for no user`);
  });

  test('behind a trusted proxy, clients are told apart by X-Forwarded-For', async () => {
    // 127.0.0.1 is a trusted proxy by default.
    const via = (client: string) => ({ localAddress: '127.0.0.1', headers: { 'X-Forwarded-For': `198.51.100.9, ${client}` } });
    for (let i = 0; i < 10; i++) assert.equal((await v2(basic('admin', 'wrong'), via('203.0.113.1'))).status, 401);
    assert.equal((await v2(basic('admin', 'wrong'), via('203.0.113.1'))).status, 429);
    assert.equal((await v2(reg.basic, via('203.0.113.2'))).status, 200, 'another client behind the same proxy');
    // A client not behind a trusted proxy cannot pick its address with the header.
    const spoof = { localAddress: '127.0.0.8', headers: { 'X-Forwarded-For': '203.0.113.2' } };
    for (let i = 0; i < 10; i++) await v2(basic('admin', 'wrong'), spoof);
    assert.equal((await v2(basic('admin', 'wrong'), spoof)).status, 429);
    assert.equal((await v2(reg.basic, via('203.0.113.2'))).status, 200);
  });
});
