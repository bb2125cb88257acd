// The web UI's serving (src/web/): on a UI directory made here, hashed assets are cached for a
// year and index.html revalidated, the pre-compressed twin the client accepts is sent (none when
// it accepts none), ETags give 304s, the CSP and nosniff are on every answer, client routes get
// index.html and nothing else does; on a real registry with the built UI, / is the UI and /v2/,
// /api/v2.0, /c/login, /healthz and /token are not shadowed; without a build, / says how to make
// one; with ui.enabled false, / is not served. The image additions the UI reads (layers, config)
// answer as the OpenAPI document says.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { chooseEncoding, loadUiFiles } from '../../src/web/ui-files.js';
import { CONTENT_SECURITY_POLICY, registerWebUi } from '../../src/web/ui-routes.js';
import { request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient } from '../helpers/openapi.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

describe('serving a built UI directory', () => {
  let dir: string;
  let app: FastifyInstance;
  const js = Buffer.from(`console.log(${JSON.stringify('x'.repeat(4000))});\n`);
  const html = Buffer.from('<!doctype html><title>minato</title><script type="module" src="/assets/index-AbCdEf12.js"></script>');
  const get = async (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  before(async () => {
    dir = await tempDir('minato-web-');
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), html);
    await writeFile(path.join(dir, 'assets', 'index-AbCdEf12.js'), js);
    await writeFile(path.join(dir, 'assets', 'index-AbCdEf12.js.br'), brotliCompressSync(js));
    await writeFile(path.join(dir, 'assets', 'index-AbCdEf12.js.gz'), gzipSync(js));
    await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    app = Fastify();
    registerWebUi(app, await loadUiFiles(dir));
    // What another part of the registry owns stays its own.
    app.get('/v2/', async () => 'registry');
    await app.ready();
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('hashed assets: cached a year, immutable; brotli, gzip or identity as the client accepts', async () => {
    const br = await get('/assets/index-AbCdEf12.js', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.statusCode, 200);
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.deepEqual(brotliDecompressSync(br.rawPayload), js);
    const gz = await get('/assets/index-AbCdEf12.js', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.rawPayload), js);
    const refused = await get('/assets/index-AbCdEf12.js', { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.deepEqual(refused.rawPayload, js);
    const none = await get('/assets/index-AbCdEf12.js');
    assert.equal(none.headers['content-encoding'], undefined);
    assert.ok(Number(br.headers['content-length']) < js.length, 'compressed is smaller');
    assert.notEqual(br.headers.etag, none.headers.etag, 'each encoding has its own ETag');
  });

  test('index.html is revalidated (no-cache) and answers with 304 to its ETag', async () => {
    const first = await get('/');
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['cache-control'], 'no-cache');
    assert.equal(first.body, html.toString());
    const again = await get('/', { 'if-none-match': String(first.headers.etag) });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('every answer has the CSP (nothing from elsewhere, no inline script), nosniff, no framing', async () => {
    for (const url of ['/', '/projects/x', '/assets/index-AbCdEf12.js', '/assets/missing-12345678.js', '/favicon.svg']) {
      const res = await get(url);
      assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
    }
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*|https?:/);
  });

  test('client routes get index.html; an unknown asset is a 404 in words, not the page', async () => {
    for (const url of ['/', '/login', '/account', '/projects', '/projects/shop/repositories/team/app', '/system/certificates']) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, html.toString(), url);
    }
    const missing = await get('/assets/index-00000000.js');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.body, /no such UI asset/);
    for (const url of ['/elsewhere', '/projectsx', '/api/v2.0/nope']) assert.equal((await get(url)).statusCode, 404, url);
    assert.equal((await get('/v2/')).body, 'registry');
    const head = await app.inject({ method: 'HEAD', url: '/projects' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
  });

  test('Accept-Encoding is read as RFC 9110 says', () => {
    const both = { br: 1, gzip: 1 };
    assert.equal(chooseEncoding('br', both), 'br');
    assert.equal(chooseEncoding('gzip;q=0.5, br;q=0', both), 'gzip');
    assert.equal(chooseEncoding('*', both), 'br');
    assert.equal(chooseEncoding('*;q=0', both), undefined);
    assert.equal(chooseEncoding('identity', both), undefined);
    assert.equal(chooseEncoding('br, gzip', { gzip: 1 }), 'gzip');
    assert.equal(chooseEncoding('BR;Q=1', both), 'br');
    assert.equal(chooseEncoding('br;q=nonsense', both), undefined);
  });

  test('without a build, the pages say how to build the UI', async () => {
    const bare = Fastify();
    registerWebUi(bare, await loadUiFiles(path.join(dir, 'nothing-here')));
    const res = await bare.inject({ method: 'GET', url: '/projects' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /npm run build/);
    assert.match(res.body, /ui\.enabled: false/);
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    await bare.close();
  });
});

describe('the UI on a real registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(() => reg.close());

  test('/ is the built UI, compressed; /v2/, /api/v2.0, /c/login, /healthz and /token keep their own answers', async () => {
    const page = await request(`${reg.url}/projects/library`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    const index = page.headers['content-encoding'] === 'gzip' ? gunzipSync(page.body).toString() : page.text;
    assert.match(index, /<div id="root"><\/div>/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
    assert.ok(asset, 'index.html names its script');
    assert.doesNotMatch(index, /<script>(?!<\/script>)|<script(?![^>]*src=)[^>]*>/, 'no inline script');
    const js = await request(`${reg.url}${asset}`, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-encoding'], 'br');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.ok(js.body.length < 120 * 1024, `the script is ${js.body.length} bytes compressed`);

    assert.equal((await request(`${reg.url}/v2/`)).status, 401);
    const api = await request(`${reg.url}/api/v2.0/nope`);
    assert.equal(api.status, 404);
    assert.equal(api.json().errors[0].code, 'NOT_FOUND');
    assert.equal((await request(`${reg.url}/api/v2.0/ping`)).text, 'Pong');
    assert.equal((await request(`${reg.url}/c/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, 400);
    assert.equal((await request(`${reg.url}/healthz`)).text, '{"status":"ok"}');
    assert.notEqual((await request(`${reg.url}/token`)).headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await request(`${reg.url}/metricsx`)).status, 404);
  });

  test('ui.enabled false: no UI, the rest unchanged', async () => {
    const off = await startTestRegistry({ ui: { enabled: false } });
    try {
      assert.equal((await request(`${off.url}/`)).status, 404);
      assert.equal((await request(`${off.url}/projects`)).status, 404);
      assert.equal((await request(`${off.url}/api/v2.0/ping`)).text, 'Pong');
    } finally {
      await off.close();
    }
  });

  test("an image's layers and config (the artifact page's additions), as the document says", async () => {
    const api = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    const pushed = await pushImage(reg.url, reg.basic, 'library/app', 'v1');
    const layers = await api('GET', '/api/v2.0/projects/library/repositories/app/artifacts/v1/additions/layers');
    assert.equal(layers.status, 200, layers.text);
    const [layer] = layers.json();
    assert.equal(layer.size, Buffer.from('layer of library/app:v1').length);
    assert.match(layer.digest, /^sha256:[0-9a-f]{64}$/);
    const config = await api('GET', `/api/v2.0/projects/library/repositories/app/artifacts/${pushed.digest}/additions/config`);
    assert.equal(config.status, 200, config.text);
    assert.deepEqual({ os: config.json().os, architecture: config.json().architecture }, { os: 'linux', architecture: 'amd64' });
    const history = await api('GET', '/api/v2.0/projects/library/repositories/app/artifacts/v1/additions/build_history');
    assert.deepEqual(history.json(), []);
    const missing = await api('GET', '/api/v2.0/projects/library/repositories/app/artifacts/v9/additions/layers');
    assert.equal(missing.status, 404);
  });
});
