// The HTTP connection as hostile or unusual clients use it, over raw sockets: pipelined requests
// are answered in order, one after the other; clients that dribble their headers are cut off;
// one address cannot hold more than its share of connections.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { client } from '../helpers/http.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

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
