// Clients that hang up at any point of any request: mid-header, mid-body, before reading the
// response, mid-download. The registry must keep serving, keep nothing half-written visible,
// and raise no unhandled error (which would stop the process; in-process here, it fails the test).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { client } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let api: ReturnType<typeof client>;
let port: number;

before(async () => {
  reg = await startTestRegistry();
  api = client(reg.url, reg.basic);
  port = Number(new URL(reg.url).port);
});
after(() => reg.close());

/**
 * Sends `head` and then `body` up to `cut` bytes, waits a moment, and hangs up. With
 * `readBytes`, it instead sends everything and hangs up after that many response bytes.
 */
function hangUp(head: string, body: Buffer, opts: { cut?: number; readBytes?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      const bytes = Buffer.concat([Buffer.from(head), body]);
      const cut = opts.readBytes === undefined ? Math.min(opts.cut ?? bytes.length, bytes.length) : bytes.length;
      sock.write(bytes.subarray(0, cut));
      if (opts.readBytes === undefined) setTimeout(() => sock.destroy(), 30);
    });
    let got = 0;
    sock.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (opts.readBytes !== undefined && got > opts.readBytes) sock.destroy();
    });
    sock.on('close', () => resolve());
    sock.on('error', reject);
  });
}

function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: test', `Authorization: ${reg.basic}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

test('clients hanging up anywhere leave the registry serving and nothing half-written visible', async () => {
  const repo = 'hangup/app';
  // Bodies on both sides of the direct-I/O threshold (256 KiB) and several MiB long.
  const small = randomBytes(100_000);
  const large = randomBytes(3 << 20);
  const stored = randomBytes(6 << 20);
  assert.equal((await api(`/v2/${repo}/blobs/uploads/?digest=${sha256(stored)}`, { method: 'POST', body: stored })).status, 201);

  const cuts = (length: number, headLength: number) => [
    Math.floor(headLength / 2), // mid-header
    headLength, // headers, no body
    headLength + 1,
    headLength + Math.floor(length / 3),
    headLength + length - 1, // all but the last byte
    headLength + length, // everything, response never read
  ];

  for (const body of [small, large]) {
    // Monolithic POST with ?digest=.
    const post = head('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(body)}`, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' });
    for (const cut of cuts(body.length, post.length).slice(0, -1)) await hangUp(post, body, { cut });
    const half = await api(`/v2/${repo}/blobs/${sha256(body)}`, { method: 'HEAD' });
    assert.equal(half.status, 404, 'a cut monolithic push is not a blob');

    // PATCH, chunked transfer encoding and final PUT on one upload session.
    const start = await api(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = start.headers.location!;
    const patch = head('PATCH', location, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' });
    for (const cut of cuts(body.length, patch.length)) await hangUp(patch, body, { cut });
    const chunkedHead = head('PATCH', location, { 'Transfer-Encoding': 'chunked', 'Content-Type': 'application/octet-stream' });
    const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    await hangUp(chunkedHead, chunked, { cut: chunkedHead.length + Math.floor(chunked.length / 2) });
    const put = head('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${sha256(body)}`, { 'Content-Length': body.length });
    await hangUp(put, body, { cut: put.length + Math.floor(body.length / 2) });
  }

  // A manifest PUT cut short, and reads abandoned before or during the response.
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(stored), size: stored.length }, layers: [] }));
  const manifestPut = head('PUT', `/v2/${repo}/manifests/cut`, { 'Content-Length': manifest.length, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
  await hangUp(manifestPut, manifest, { cut: manifestPut.length + 10 });
  for (const path of [`/v2/${repo}/tags/list`, '/v2/_catalog', `/v2/${repo}/manifests/cut`, `/v2/${repo}/blobs/${sha256(stored)}`]) {
    await hangUp(head('GET', path), Buffer.alloc(0), { readBytes: 0 });
  }
  for (const readBytes of [10, 64 << 10, 2 << 20]) await hangUp(head('GET', `/v2/${repo}/blobs/${sha256(stored)}`), Buffer.alloc(0), { readBytes });

  // Still serving: nothing cut became visible, and a fresh push and pull work.
  assert.equal((await api(`/v2/${repo}/manifests/cut`, { method: 'HEAD' })).status, 404);
  const pulled = await api(`/v2/${repo}/blobs/${sha256(stored)}`);
  assert.equal(sha256(pulled.body), sha256(stored));
  const fresh = randomBytes(1 << 20);
  assert.equal((await api(`/v2/${repo}/blobs/uploads/?digest=${sha256(fresh)}`, { method: 'POST', body: fresh })).status, 201);
  assert.equal((await api(`/v2/${repo}/manifests/cut`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })).status, 201);
});
