// The HTTP connection as hostile or unusual clients use it, over raw sockets: pipelined requests
// are answered in order, one after the other; clients that dribble their headers are cut off;
// one address cannot hold more than its share of connections.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { client } from '../helpers/http.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { waitFor } from '../helpers/ports.js';
import { makeTestPki } from '../helpers/tls.js';

/** Writes `raw` in one write and returns everything the server sent until it closed the connection. */
function exchange(url: string, raw: string, localAddress?: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port), localAddress }, () => socket.write(raw));
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

const statuses = (responses: string) => [...responses.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

function httpRequest(method: string, path: string, headers: Record<string, string | number>, body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== '' || method === 'PUT') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

describe('pipelined requests', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
    // Credentials verified once are checked synchronously afterwards: the requests below race
    // for real instead of waiting for a bcrypt each.
    assert.equal((await client(reg.url, reg.basic)('/v2/')).status, 200);
  });
  after(() => reg.close());

  const index = (n: number) => JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], annotations: { n: String(n) } });
  const digestOf = (body: string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const put = (repo: string, ref: string, body: string, auth: string) =>
    httpRequest('PUT', `/v2/${repo}/manifests/${ref}`, { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, body);

  test('a PUT of a manifest and a GET of it in one write: 201, then 200 with the manifest', async () => {
    const body = index(1);
    const raw = put('pipe/a', 'v1', body, reg.basic) + httpRequest('GET', '/v2/pipe/a/manifests/v1', { Authorization: reg.basic, Connection: 'close' });
    const responses = await exchange(reg.url, raw);
    assert.deepEqual(statuses(responses), [201, 200], responses);
    assert.ok(responses.endsWith(body), responses);
  });

  test('a PUT and a DELETE of the same digest in one write: the delete is not lost', async () => {
    const body = index(2);
    const digest = digestOf(body);
    const raw = put('pipe/b', digest, body, reg.basic) + httpRequest('DELETE', `/v2/pipe/b/manifests/${digest}`, { Authorization: reg.basic, Connection: 'close' });
    assert.deepEqual(statuses(await exchange(reg.url, raw)), [201, 202]);
    assert.equal((await client(reg.url, reg.basic)(`/v2/pipe/b/manifests/${digest}`)).status, 404);
  });

  test('many pipelined requests are answered in the order they were sent', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => index(100 + i));
    let raw = '';
    bodies.forEach((b, i) => {
      raw += put('pipe/c', `t${i}`, b, reg.basic);
      raw += httpRequest('GET', `/v2/pipe/c/manifests/t${i}`, { Authorization: reg.basic });
    });
    raw += httpRequest('GET', '/v2/pipe/c/tags/list', { Authorization: reg.basic, Connection: 'close' });
    const responses = await exchange(reg.url, raw);
    assert.deepEqual(statuses(responses), [...bodies.flatMap(() => [201, 200]), 200]);
    const order = [...responses.matchAll(/"n":"(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(order, bodies.map((_, i) => 100 + i));
  });
});

describe('absolute-form request targets (RFC 9112, section 3.2.2)', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
    const blob = Buffer.from('absolute');
    const res = await client(reg.url, reg.basic)(`/v2/abs/x/blobs/uploads/?digest=sha256:${createHash('sha256').update(blob).digest('hex')}`, { method: 'POST', body: blob });
    assert.equal(res.status, 201);
  });
  after(() => reg.close());

  test('GET http://host:port/v2/... is served like its origin form', async () => {
    const { host } = new URL(reg.url);
    const raw =
      httpRequest('GET', `http://${host}/v2/`, { Authorization: reg.basic }) +
      httpRequest('GET', `http://${host}/v2/abs/x/tags/list?n=1`, { Authorization: reg.basic }) +
      httpRequest('GET', `http://${host}/v2/abs/none/tags/list`, { Authorization: reg.basic, Connection: 'close' });
    const responses = await exchange(reg.url, raw);
    assert.deepEqual(statuses(responses), [200, 200, 404], responses);
    assert.match(responses, /"name":"abs\/x"/);
    assert.match(responses, /NAME_UNKNOWN/);
  });
});

/** A connection that stays open; `closed` resolves with the milliseconds it lived and what the server sent. */
function holdOpen(url: string, localAddress?: string) {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  const socket = net.connect({ host: hostname, port: Number(port), localAddress });
  let data = '';
  socket.on('data', (d) => (data += d.toString('latin1')));
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<{ ms: number; data: string }>((resolve) => socket.once('close', () => resolve({ ms: Date.now() - started, data })));
  return { socket, connected, closed, received: () => data };
}

describe('slow clients', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ connections: { headersTimeoutSeconds: 1, idleTimeoutSeconds: 1, maxPerAddress: 1000 } });
  });
  after(() => reg.close());

  test('45 connections that dribble their headers are closed after the header timeout; others are served meanwhile', async () => {
    const slow = Array.from({ length: 45 }, () => holdOpen(reg.url, '127.0.0.2'));
    await Promise.all(slow.map((s) => s.connected));
    const dribble = setInterval(() => {
      for (const s of slow) if (!s.socket.destroyed) s.socket.write(s.socket.bytesWritten === 0 ? 'GET /v2/ HTTP/1.1\r\nHost: x\r\n' : 'X-Slow: 1\r\n');
    }, 200);
    try {
      assert.equal((await client(reg.url, reg.basic)('/v2/')).status, 200, 'a normal client is served');
      const results = await Promise.all(slow.map((s) => s.closed));
      for (const { ms, data } of results) {
        assert.ok(ms < 4000, `closed after ${ms} ms`);
        assert.match(data, /^HTTP\/1\.1 408|^$/);
      }
    } finally {
      clearInterval(dribble);
    }
  });

  test('a connection that sends nothing is closed after the header timeout', async () => {
    const { ms } = await holdOpen(reg.url).closed;
    assert.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms`);
  });

  test('a kept-alive connection waiting longer than the header timeout between requests is still served', async () => {
    const s = holdOpen(reg.url);
    await s.connected;
    const ask = async (n: number) => {
      s.socket.write(httpRequest('GET', '/v2/', { Authorization: reg.basic }));
      await waitFor(() => statuses(s.received()).length === n, 3000, `response ${n}`);
    };
    await ask(1);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(s.socket.destroyed, false, 'not closed while idle between requests');
    await ask(2);
    assert.deepEqual(statuses(s.received()), [200, 200]);
    s.socket.destroy();
  });

  test('a body that stalls is cut after the idle timeout; the part received can be resumed', async () => {
    const post = await client(reg.url, reg.basic)('/v2/slow/body/blobs/uploads/', { method: 'POST' });
    assert.equal(post.status, 202);
    const s = holdOpen(reg.url);
    await s.connected;
    s.socket.write(`PATCH ${post.headers.location} HTTP/1.1\r\nHost: x\r\nAuthorization: ${reg.basic}\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(100)}`);
    const { ms } = await s.closed;
    assert.ok(ms >= 900 && ms < 5000, `closed after ${ms} ms`);
    const status = await client(reg.url, reg.basic)(post.headers.location!);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, '0-99');
  });
});

test('over TLS, a connection that never finishes its handshake is closed after the header timeout', async () => {
  const dir = await tempDir();
  const pki = await makeTestPki(dir);
  const chain = path.join(dir, 'chain.pem');
  await writeFile(chain, (await readFile(pki.leafCert, 'utf8')) + (await readFile(pki.intermediateCert, 'utf8')));
  const reg = await startTestRegistry({ tls: { cert: chain, key: pki.leafKey }, connections: { headersTimeoutSeconds: 1 } });
  try {
    const silent = holdOpen(reg.url.replace('https:', 'http:'));
    const { ms } = await silent.closed;
    assert.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms`);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

describe('connections per address', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ connections: { maxPerAddress: 5 } });
  });
  after(() => reg.close());

  test('an address over its limit is refused on connect; other addresses are served; the limit frees up', async () => {
    const held = Array.from({ length: 5 }, () => holdOpen(reg.url, '127.0.0.2'));
    await Promise.all(held.map((h) => h.connected));
    const extra = holdOpen(reg.url, '127.0.0.2');
    const { ms, data } = await extra.closed;
    assert.ok(ms < 2000, `closed after ${ms} ms`);
    assert.equal(data, '');
    assert.equal((await client(reg.url, reg.basic)('/v2/', { localAddress: '127.0.0.3' })).status, 200, 'another address');
    assert.equal((await client(reg.url, reg.basic)('/v2/', { localAddress: '127.0.0.1' })).status, 200, 'a trusted proxy is exempt');
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await client(reg.url, reg.basic)('/v2/', { localAddress: '127.0.0.2' })).status, 200, 'room again once they closed');
  });
});
