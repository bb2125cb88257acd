// Blob pull and every upload flow of the OCI Distribution Spec, over HTTP against a real server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { assertOciError, client } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let api: ReturnType<typeof client>;

before(async () => {
  reg = await startTestRegistry();
  api = client(reg.url, reg.basic);
});
after(() => reg.close());

async function startUpload(name: string): Promise<string> {
  const res = await api(`/v2/${name}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202, res.text);
  assert.equal(res.headers['range'], '0-0');
  assert.ok(res.headers['docker-upload-uuid']);
  return res.headers.location!;
}

describe('monolithic uploads', () => {
  test('POST with ?digest= stores the blob in one request', async () => {
    const blob = randomBytes(3000);
    const res = await api(`/v2/mono/one/blobs/uploads/?digest=${sha256(blob)}`, {
      method: 'POST',
      body: blob,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.length },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['docker-content-digest'], sha256(blob));
    assert.equal(res.headers.location, `/v2/mono/one/blobs/${sha256(blob)}`);
    const get = await api(`/v2/mono/one/blobs/${sha256(blob)}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, blob);
  });

  test('POST then PUT with the body', async () => {
    const blob = randomBytes(5000);
    const location = await startUpload('mono/two');
    assert.match(location, /^\/v2\/mono\/two\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const put = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT', body: blob, headers: { 'Content-Length': blob.length } });
    assert.equal(put.status, 201, put.text);
    const head = await api(`/v2/mono/two/blobs/${sha256(blob)}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(blob.length));
    assert.equal(head.headers['docker-content-digest'], sha256(blob));
  });

  test('a wrong digest is DIGEST_INVALID and nothing becomes visible', async () => {
    const blob = randomBytes(1000);
    const wrong = sha256('something else');
    const res = await api(`/v2/mono/bad/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: blob });
    assertOciError(res, 400, 'DIGEST_INVALID');
    assert.equal((await api(`/v2/mono/bad/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
    assert.equal((await api(`/v2/mono/bad/blobs/${sha256(blob)}`, { method: 'HEAD' })).status, 404);
  });

  test('a malformed digest is DIGEST_INVALID', async () => {
    const location = await startUpload('mono/malformed');
    const res = await api(`${location}?digest=sha256:xyz`, { method: 'PUT', body: 'abc' });
    assertOciError(res, 400, 'DIGEST_INVALID');
    const get = await api('/v2/mono/malformed/blobs/sha256:1234');
    assertOciError(get, 400, 'DIGEST_INVALID');
  });

  test('an upload refused before its body is read closes the connection instead of draining it', async () => {
    const location = await startUpload('mono/refused');
    const { port } = new URL(reg.url);
    const outcome = await new Promise<{ response: string; closed: boolean }>((resolve, reject) => {
      let response = '';
      const sock = net.connect(Number(port), '127.0.0.1', () => {
        // 64 MiB announced, 64 KiB sent: a server that keeps the connection waits for the rest.
        sock.write(`PUT ${location}?digest=sha256:xyz HTTP/1.1\r\nHost: x\r\nAuthorization: ${reg.basic}\r\nContent-Length: ${64 << 20}\r\n\r\n`);
        sock.write(Buffer.alloc(64 << 10));
      });
      const timer = setTimeout(() => {
        sock.destroy();
        resolve({ response, closed: false });
      }, 3000);
      sock.on('data', (d: Buffer) => (response += d.toString('latin1')));
      sock.on('close', () => {
        clearTimeout(timer);
        resolve({ response, closed: true });
      });
      sock.on('error', reject);
    });
    assert.match(outcome.response, /^HTTP\/1\.1 400 /);
    assert.match(outcome.response, /\r\nconnection: close\r\n/i);
    assert.ok(outcome.closed, 'the registry closed the connection');
  });

  test('the empty blob can be pushed', async () => {
    const res = await api(`/v2/mono/empty/blobs/uploads/?digest=${sha256('')}`, { method: 'POST', headers: { 'Content-Length': 0 } });
    assert.equal(res.status, 201, res.text);
    const get = await api(`/v2/mono/empty/blobs/${sha256('')}`);
    assert.equal(get.status, 200);
    assert.equal(get.body.length, 0);
  });
});

describe('chunked uploads', () => {
  test('PATCH chunks in order, check status, then PUT', async () => {
    const blob = randomBytes(300_000);
    let location = await startUpload('chunked/ok');
    const chunks = [blob.subarray(0, 100_000), blob.subarray(100_000, 250_000), blob.subarray(250_000)];
    let offset = 0;
    for (const chunk of chunks) {
      const res = await api(location, {
        method: 'PATCH',
        body: chunk,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}`, 'Content-Length': chunk.length },
      });
      assert.equal(res.status, 202, res.text);
      offset += chunk.length;
      assert.equal(res.headers.range, `0-${offset - 1}`);
      location = res.headers.location!;
    }
    const status = await api(location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, `0-${blob.length - 1}`);
    assert.equal(status.headers.location, location);
    const put = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT', headers: { 'Content-Length': 0 } });
    assert.equal(put.status, 201, put.text);
    const get = await api(`/v2/chunked/ok/blobs/${sha256(blob)}`);
    assert.deepEqual(get.body, blob);
  });

  test('PATCH without Content-Range streams at the current offset (docker style)', async () => {
    const blob = randomBytes(70_000);
    const location = await startUpload('chunked/stream');
    const a = await api(location, { method: 'PATCH', body: blob.subarray(0, 30_000) });
    assert.equal(a.status, 202);
    const b = await api(location, { method: 'PATCH', body: blob.subarray(30_000) });
    assert.equal(b.headers.range, `0-${blob.length - 1}`);
    const put = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT' });
    assert.equal(put.status, 201, put.text);
  });

  test('an out-of-order or repeated chunk is 416 and says where to resume', async () => {
    const blob = randomBytes(20_000);
    const location = await startUpload('chunked/order');
    const first = await api(location, { method: 'PATCH', body: blob.subarray(0, 10_000), headers: { 'Content-Range': '0-9999' } });
    assert.equal(first.status, 202);
    const repeated = await api(location, { method: 'PATCH', body: blob.subarray(0, 10_000), headers: { 'Content-Range': '0-9999' } });
    assertOciError(repeated, 416, 'BLOB_UPLOAD_INVALID');
    assert.equal(repeated.headers.range, '0-9999');
    const gap = await api(location, { method: 'PATCH', body: blob.subarray(15_000), headers: { 'Content-Range': '15000-19999' } });
    assert.equal(gap.status, 416);
    // The upload is intact and can continue from the offset the registry gave.
    const rest = await api(location, { method: 'PATCH', body: blob.subarray(10_000), headers: { 'Content-Range': '10000-19999' } });
    assert.equal(rest.status, 202);
    const put = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT' });
    assert.equal(put.status, 201, put.text);
  });

  test('a final PUT may carry the last chunk', async () => {
    const blob = randomBytes(9000);
    const location = await startUpload('chunked/lastput');
    await api(location, { method: 'PATCH', body: blob.subarray(0, 4000), headers: { 'Content-Range': '0-3999' } });
    const put = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT', body: blob.subarray(4000), headers: { 'Content-Range': '4000-8999' } });
    assert.equal(put.status, 201, put.text);
  });

  test('a digest mismatch keeps the upload so the client can fix it', async () => {
    const blob = randomBytes(5000);
    const location = await startUpload('chunked/mismatch');
    await api(location, { method: 'PATCH', body: blob.subarray(0, 2000) });
    const bad = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT' });
    assertOciError(bad, 400, 'DIGEST_INVALID');
    const fixed = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT', body: blob.subarray(2000) });
    assert.equal(fixed.status, 201, fixed.text);
  });

  test('DELETE cancels an upload; it is then unknown', async () => {
    const location = await startUpload('chunked/cancel');
    await api(location, { method: 'PATCH', body: 'abc' });
    assert.equal((await api(location, { method: 'DELETE' })).status, 204);
    const after = await api(location);
    assertOciError(after, 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('an upload belongs to its repository', async () => {
    const location = await startUpload('chunked/owner');
    const other = location.replace('/chunked/owner/', '/chunked/other/');
    const res = await api(other, { method: 'PATCH', body: 'x' });
    assertOciError(res, 404, 'BLOB_UPLOAD_UNKNOWN');
    const bogus = await api('/v2/chunked/owner/blobs/uploads/../../../etc', { method: 'GET' });
    assert.ok(bogus.status === 404 || bogus.status === 400, String(bogus.status));
  });
});

describe('blob reads', () => {
  const blob = randomBytes(10_000);
  before(async () => {
    const res = await api(`/v2/reads/blob/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
    assert.equal(res.status, 201);
  });

  test('Range requests return 206 with the exact bytes', async () => {
    const res = await api(`/v2/reads/blob/blobs/${sha256(blob)}`, { headers: { Range: 'bytes=100-199' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-range'], `bytes 100-199/${blob.length}`);
    assert.equal(res.headers['content-length'], '100');
    assert.deepEqual(res.body, blob.subarray(100, 200));
    const suffix = await api(`/v2/reads/blob/blobs/${sha256(blob)}`, { headers: { Range: 'bytes=-10' } });
    assert.deepEqual(suffix.body, blob.subarray(blob.length - 10));
    const open = await api(`/v2/reads/blob/blobs/${sha256(blob)}`, { headers: { Range: 'bytes=9990-' } });
    assert.deepEqual(open.body, blob.subarray(9990));
  });

  test('an unsatisfiable range is 416 with the size', async () => {
    const res = await api(`/v2/reads/blob/blobs/${sha256(blob)}`, { headers: { Range: `bytes=${blob.length}-` } });
    assert.equal(res.status, 416);
    assert.equal(res.headers['content-range'], `bytes */${blob.length}`);
  });

  test('a blob of another repository is BLOB_UNKNOWN here', async () => {
    const res = await api(`/v2/reads/other/blobs/${sha256(blob)}`);
    assertOciError(res, 404, 'BLOB_UNKNOWN');
  });
});

describe('cross-repository mount', () => {
  const blob = randomBytes(4000);
  before(async () => {
    assert.equal((await api(`/v2/mount/src/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
  });

  test('mount from a repository that has the blob is 201 without upload', async () => {
    const res = await api(`/v2/mount/dst/blobs/uploads/?mount=${sha256(blob)}&from=mount/src`, { method: 'POST' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.location, `/v2/mount/dst/blobs/${sha256(blob)}`);
    assert.equal((await api(`/v2/mount/dst/blobs/${sha256(blob)}`, { method: 'HEAD' })).status, 200);
  });

  test('mount without from works when the blob is known', async () => {
    const res = await api(`/v2/mount/nofrom/blobs/uploads/?mount=${sha256(blob)}`, { method: 'POST' });
    assert.equal(res.status, 201, res.text);
  });

  test('mount of an unknown blob falls back to a normal upload (202)', async () => {
    const res = await api(`/v2/mount/dst2/blobs/uploads/?mount=${sha256('nope')}&from=mount/src`, { method: 'POST' });
    assert.equal(res.status, 202);
    assert.match(res.headers.location!, /\/blobs\/uploads\//);
  });

  test('mount from a repository without the blob falls back to 202', async () => {
    const res = await api(`/v2/mount/dst3/blobs/uploads/?mount=${sha256(blob)}&from=mount/empty`, { method: 'POST' });
    assert.equal(res.status, 202);
  });
});

describe('blob delete', () => {
  test('DELETE removes the blob from the repository only', async () => {
    const blob = randomBytes(100);
    await api(`/v2/del/a/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
    await api(`/v2/del/b/blobs/uploads/?mount=${sha256(blob)}&from=del/a`, { method: 'POST' });
    assert.equal((await api(`/v2/del/a/blobs/${sha256(blob)}`, { method: 'DELETE' })).status, 202);
    assert.equal((await api(`/v2/del/a/blobs/${sha256(blob)}`, { method: 'HEAD' })).status, 404);
    assert.equal((await api(`/v2/del/b/blobs/${sha256(blob)}`, { method: 'HEAD' })).status, 200);
    const again = await api(`/v2/del/a/blobs/${sha256(blob)}`, { method: 'DELETE' });
    assertOciError(again, 404, 'BLOB_UNKNOWN');
  });
});
