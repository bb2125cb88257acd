// kill -9 of a real `minato serve` while blob uploads (monolithic and chunked) are in flight, then
// a restart on the same data dir. What a client relies on afterwards: every blob whose PUT was
// acknowledged is served with the right bytes, nothing partial is visible under any digest, and
// an upload that was in progress resumes at the offset the registry reports.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { request, type Response } from '../helpers/http.js';
import { htpasswdFile } from '../helpers/peers.js';
import { spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';

const USER = 'crash';
const PASSWORD = 'crash-Pa55';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const MIB = 1024 * 1024;
const PIECE = 64 * 1024; // bodies are written in pieces with pauses, so the kill lands mid-body
const CHUNK = 512 * 1024; // PATCH size of chunked uploads

type Style = 'post-digest' | 'post-put' | 'chunked';

interface Upload {
  repo: string;
  style: Style;
  data: Buffer;
  digest: string;
  /** Upload URL from the POST's Location, once the registry answered it. */
  location?: string;
  acked: boolean;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request whose body is written slowly, piece by piece; rejects when the server dies. */
function slowRequest(url: string, method: string, headers: Record<string, string | number>, body: Buffer, stop: () => boolean): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { Authorization: AUTH, 'Content-Length': body.length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString(), json: () => JSON.parse(b.toString()) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    void (async () => {
      for (let off = 0; off < body.length; off += PIECE) {
        if (stop() || req.destroyed) return;
        if (!req.write(body.subarray(off, off + PIECE))) await new Promise((r) => req.once('drain', r));
        await sleep(3);
      }
      req.end();
    })().catch(reject);
  });
}

function absolute(base: string, location: string): string {
  return new URL(location, base).href;
}

/** Upload offset from a "Range: 0-<last>" header ("0-0" is read as an empty upload). */
function offsetOf(range: string | string[] | undefined): number {
  const m = /^0-(\d+)$/.exec(String(range));
  assert.ok(m, `bad Range header ${range}`);
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

/** One client's uploads, until the server goes away. */
async function worker(base: string, repo: string, style: Style, uploads: Upload[], stop: () => boolean): Promise<void> {
  while (!stop()) {
    const data = randomBytes(2 * MIB + Math.floor(Math.random() * 2 * MIB));
    const u: Upload = { repo, style, data, digest: sha256(data), acked: false };
    uploads.push(u);
    const start = `${base}/v2/${repo}/blobs/uploads/`;
    try {
      if (style === 'post-digest') {
        const res = await slowRequest(`${start}?digest=${encodeURIComponent(u.digest)}`, 'POST', { 'Content-Type': 'application/octet-stream' }, data, stop);
        u.acked = res.status === 201;
        assert.ok(res.status === 201, `monolithic POST: ${res.status} ${res.text}`);
        continue;
      }
      const post = await request(start, { method: 'POST', headers: { Authorization: AUTH } });
      assert.equal(post.status, 202, post.text);
      u.location = absolute(base, String(post.headers.location));
      let put: Response;
      if (style === 'post-put') {
        const url = `${u.location}${u.location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(u.digest)}`;
        put = await slowRequest(url, 'PUT', { 'Content-Type': 'application/octet-stream' }, data, stop);
      } else {
        for (let off = 0; off < data.length; off += CHUNK) {
          const chunk = data.subarray(off, off + CHUNK);
          const res = await slowRequest(u.location, 'PATCH', { 'Content-Type': 'application/octet-stream', 'Content-Range': `${off}-${off + chunk.length - 1}` }, chunk, stop);
          assert.equal(res.status, 202, res.text);
          u.location = absolute(base, String(res.headers.location));
        }
        const url = `${u.location}${u.location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(u.digest)}`;
        put = await request(url, { method: 'PUT', headers: { Authorization: AUTH } });
      }
      u.acked = put.status === 201;
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers['docker-content-digest'], u.digest);
    } catch (err) {
      if (stop()) return; // the kill: requests in flight fail, which is the point
      throw err;
    }
  }
}

const dirs: string[] = [];
const servers: ServeProcess[] = [];
after(async () => {
  for (const s of servers) await s.kill9();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('kill -9 during uploads: acknowledged blobs survive, nothing partial is visible, uploads resume', async (t) => {
  const tmp = await tempDir('minato-e2e-crash-');
  dirs.push(tmp);
  const data = path.join(tmp, 'data');
  const args = ['--data', data, '--htpasswd', await htpasswdFile(path.join(tmp, 'htpasswd'), { [USER]: PASSWORD })];
  const first = await spawnServe(args);
  servers.push(first);
  const base = first.url;

  // An upload that is deliberately paused half-way, acknowledged (202) before the kill.
  const paused: Upload = { repo: 'crash/paused', style: 'chunked', data: randomBytes(3 * MIB + 12345), digest: '', acked: false };
  paused.digest = sha256(paused.data);
  const half = Math.floor(paused.data.length / 2);
  const post = await request(`${base}/v2/${paused.repo}/blobs/uploads/`, { method: 'POST', headers: { Authorization: AUTH } });
  assert.equal(post.status, 202);
  const patch = await request(absolute(base, String(post.headers.location)), {
    method: 'PATCH',
    headers: { Authorization: AUTH, 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${half - 1}` },
    body: paused.data.subarray(0, half),
  });
  assert.equal(patch.status, 202, patch.text);
  assert.equal(patch.headers.range, `0-${half - 1}`);
  paused.location = absolute(base, String(patch.headers.location));

  // Concurrent uploads of every style; kill -9 once some have been acknowledged and others are mid-body.
  const uploads: Upload[] = [];
  let killed = false;
  const stop = () => killed;
  const styles: Style[] = ['post-digest', 'post-put', 'chunked', 'chunked', 'post-put', 'post-digest'];
  const workers = styles.map((style, i) => worker(base, `crash/w${i}`, style, uploads, stop));
  const deadline = Date.now() + 15_000;
  while (uploads.filter((u) => u.acked).length < 4 && Date.now() < deadline) await sleep(20);
  await sleep(50 + Math.random() * 100);
  killed = true;
  await first.kill9();
  await Promise.all(workers);

  const acked = uploads.filter((u) => u.acked);
  const unacked = uploads.filter((u) => !u.acked);
  assert.ok(acked.length >= 4, `only ${acked.length} uploads were acknowledged before the kill`);
  assert.ok(unacked.length >= 1, 'no upload was in flight at the kill');

  const second = await spawnServe(args);
  servers.push(second);
  const api = (p: string, opts: Parameters<typeof request>[1] = {}) =>
    request(absolute(second.url, p), { ...opts, headers: { Authorization: AUTH, ...opts.headers } });
  const rebase = (url: string) => absolute(second.url, new URL(url).pathname + new URL(url).search);

  // 1. Every acknowledged blob is served, with its bytes.
  for (const u of acked) {
    const head = await api(`/v2/${u.repo}/blobs/${u.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200, `acknowledged blob ${u.digest} (${u.style}) is gone after the crash`);
    assert.equal(Number(head.headers['content-length']), u.data.length);
    const get = await api(`/v2/${u.repo}/blobs/${u.digest}`);
    assert.equal(get.status, 200);
    assert.equal(sha256(get.body), u.digest);
  }

  // 2. Whatever the registry says it has, under any digest we sent, has exactly those bytes.
  for (const u of unacked) {
    const get = await api(`/v2/${u.repo}/blobs/${u.digest}`);
    assert.ok(get.status === 200 || get.status === 404, `GET ${u.digest}: ${get.status}`);
    if (get.status === 200) assert.equal(sha256(get.body), u.digest, `blob ${u.digest} is served with other bytes`);
  }

  // 3. The paused upload resumes at its acknowledged offset.
  const status = await request(rebase(paused.location), { headers: { Authorization: AUTH } });
  assert.equal(status.status, 204, status.text);
  assert.equal(status.headers.range, `0-${half - 1}`);
  await resume(paused, offsetOf(status.headers.range), status.headers.location);

  const resumedMidBody: string[] = [];
  // 4. So do uploads cut off mid-body: from whatever offset the registry reports, the rest completes the blob.
  for (const u of unacked.filter((x) => x.location)) {
    const st = await request(rebase(u.location!), { headers: { Authorization: AUTH } });
    if (st.status === 404) {
      // Finished (or its session gone) before the kill: then the blob itself must be complete.
      const head = await api(`/v2/${u.repo}/blobs/${u.digest}`, { method: 'HEAD' });
      assert.ok(head.status === 200 || head.status === 404);
      continue;
    }
    assert.equal(st.status, 204, st.text);
    const offset = offsetOf(st.headers.range);
    assert.ok(offset <= u.data.length, `upload reports ${offset} bytes of ${u.data.length}`);
    await resume(u, offset, st.headers.location);
    resumedMidBody.push(`${u.style} at ${offset}/${u.data.length}`);
  }
  t.diagnostic(`acknowledged ${acked.length} (${acked.map((u) => u.style).join(', ')}); cut off ${unacked.length}; resumed after the crash: ${resumedMidBody.join(', ') || 'none'}`);

  async function resume(u: Upload, offset: number, location: string | string[] | undefined): Promise<void> {
    let url = absolute(second.url, String(location));
    if (offset < u.data.length) {
      const res = await request(url, {
        method: 'PATCH',
        headers: { Authorization: AUTH, 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${u.data.length - 1}` },
        body: u.data.subarray(offset),
      });
      assert.equal(res.status, 202, `resume ${u.style} upload at ${offset}: ${res.text}`);
      assert.equal(res.headers.range, `0-${u.data.length - 1}`);
      url = absolute(second.url, String(res.headers.location));
    }
    const put = await request(`${url}${url.includes('?') ? '&' : '?'}digest=${encodeURIComponent(u.digest)}`, { method: 'PUT', headers: { Authorization: AUTH } });
    assert.equal(put.status, 201, `finishing a resumed ${u.style} upload (from ${offset}): ${put.text}`);
    assert.equal(put.headers['docker-content-digest'], u.digest);
    const get = await api(`/v2/${u.repo}/blobs/${u.digest}`);
    assert.equal(get.status, 200);
    assert.equal(sha256(get.body), u.digest);
  }

  // 5. On disk, every committed blob file is named by the hash of its contents.
  const root = path.join(data, 'blobs');
  let files = 0;
  for (const algorithm of await readdir(root)) {
    assert.equal(algorithm, 'sha256');
    for (const prefix of await readdir(path.join(root, algorithm))) {
      for (const name of await readdir(path.join(root, algorithm, prefix))) {
        const bytes: Buffer = await readFile(path.join(root, algorithm, prefix, name));
        assert.equal(`sha256:${name}`, sha256(bytes), `blobs/${algorithm}/${prefix}/${name} does not hash to its name`);
        assert.equal(prefix, name.slice(0, 2));
        files++;
      }
    }
  }
  assert.ok(files >= acked.length, `${files} blob files for ${acked.length} acknowledged uploads`);
  await second.stop();
});

test('a bug (an unhandled rejection) is logged as fatal and flushed before the process exits', async () => {
  const tmp = await tempDir('minato-e2e-fatal-');
  dirs.push(tmp);
  // Stands in for a bug: a preload that rejects a promise nobody handles when asked to, in the
  // server process only (the launcher runs it as its child, with the marker in its environment;
  // the launcher itself forwards the signal).
  const bug = path.join(tmp, 'bug.mjs');
  await writeFile(bug, "if (process.env.MINATO_LAUNCHED_WITH_FLAGS === '1') process.on('SIGUSR2', () => { Promise.reject(new Error('planted bug')); });\n");
  const srv = await spawnServe(['--data', path.join(tmp, 'data')], { NODE_OPTIONS: `--import ${pathToFileURL(bug).href}` });
  servers.push(srv);
  const exit = new Promise<number | null>((resolve) => srv.child.once('exit', (code) => resolve(code)));
  srv.child.kill('SIGUSR2');
  assert.equal(await exit, 70);
  const line = srv
    .output()
    .split('\n')
    .find((l) => l.includes('"level":60'));
  assert.ok(line, `no fatal log line in:\n${srv.output()}`);
  const entry = JSON.parse(line) as { msg: string; err: { message: string } };
  assert.match(entry.msg, /unhandled promise rejection: a bug in minato/);
  assert.equal(entry.err.message, 'planted bug');
});

test('a stop does not wait for a stalled upload: cut after the grace period, then resumable', { timeout: 60_000 }, async () => {
  const tmp = await tempDir('minato-e2e-stop-');
  dirs.push(tmp);
  const args = ['--data', path.join(tmp, 'data'), '--htpasswd', await htpasswdFile(path.join(tmp, 'htpasswd'), { [USER]: PASSWORD })];
  const first = await spawnServe(args);
  servers.push(first);
  const start = await request(`${first.url}/v2/stall/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: AUTH } });
  assert.equal(start.status, 202);
  const location = String(start.headers.location);
  // A PATCH that announces 64 MiB, sends 1 MiB and then stalls, as a client on a dead link would.
  const sent = randomBytes(1 << 20);
  const port = Number(new URL(first.url).port);
  const sock = http.request({ host: '127.0.0.1', port, method: 'PATCH', path: location, headers: { Authorization: AUTH, 'Content-Length': 64 << 20 } });
  sock.on('error', () => undefined); // the registry cuts it
  sock.write(sent);
  await new Promise((r) => setTimeout(r, 500));

  const t0 = Date.now();
  await first.stop();
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds < 14, `stop took ${seconds} s`);
  assert.match(first.output(), /closing connections still busy after the grace period/);

  const second = await spawnServe(args);
  servers.push(second);
  const status = await request(`${second.url}${location}`, { headers: { Authorization: AUTH } });
  assert.equal(status.status, 204, status.text);
  assert.equal(status.headers.range, `0-${sent.length - 1}`, 'what arrived before the stop is kept');
  await second.stop();
});
