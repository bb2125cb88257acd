// Location headers behind proxies, resumable uploads across restarts, purging of abandoned
// uploads, health and metrics.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import pino from 'pino';
import { sql } from 'kysely';
import { assertOciError, client, request } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { freePort } from '../helpers/ports.js';
import { startTestRegistry, tempDir } from '../helpers/registry.js';
import { UploadPurger } from '../../src/core/upload-purger.js';

describe('Location headers', () => {
  test('relative by default, absolute from a trusted proxy or externalUrl', async () => {
    const reg = await startTestRegistry();
    try {
      const api = client(reg.url, reg.basic);
      const plain = await api('/v2/loc/a/blobs/uploads/', { method: 'POST' });
      assert.match(plain.headers.location!, /^\/v2\/loc\/a\/blobs\/uploads\//);
      const proxied = await api('/v2/loc/a/blobs/uploads/', {
        method: 'POST',
        headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'registry.example.test:8443' },
      });
      assert.match(proxied.headers.location!, /^https:\/\/registry\.example\.test:8443\/v2\/loc\/a\/blobs\/uploads\//);
      const realm = await request(`${reg.url}/v2/`, { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'registry.example.test' } });
      assert.match(realm.headers['www-authenticate'] as string, /realm="https:\/\/registry\.example\.test\/token"/);
    } finally {
      await reg.close();
    }
  });

  test('forwarded headers from an untrusted address are ignored', async () => {
    const reg = await startTestRegistry({ trustedProxies: [] });
    try {
      const res = await client(reg.url, reg.basic)('/v2/loc/b/blobs/uploads/', {
        method: 'POST',
        headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' },
      });
      assert.match(res.headers.location!, /^\/v2\//);
    } finally {
      await reg.close();
    }
  });

  test('externalUrl wins', async () => {
    const reg = await startTestRegistry({ externalUrl: 'https://hub.example.test/' });
    try {
      const res = await client(reg.url, reg.basic)('/v2/loc/c/blobs/uploads/', { method: 'POST' });
      assert.match(res.headers.location!, /^https:\/\/hub\.example\.test\/v2\/loc\/c\/blobs\/uploads\//);
    } finally {
      await reg.close();
    }
  });
});

type Api = ReturnType<typeof client>;

/** Runs `before` on a registry with a fresh data dir, restarts it on that dir, then runs `after`. */
async function acrossRestart<T>(before: (api: Api) => Promise<T>, after: (api: Api, value: T) => Promise<void>): Promise<void> {
  const data = await tempDir();
  try {
    let reg = await startTestRegistry({ data });
    let value: T;
    try {
      value = await before(client(reg.url, reg.basic));
    } finally {
      await reg.close();
    }
    reg = await startTestRegistry({ data });
    try {
      await after(client(reg.url, reg.basic), value);
    } finally {
      await reg.close();
    }
  } finally {
    await rm(data, { recursive: true, force: true });
  }
}

describe('uploads across restarts', () => {
  test('an upload started before a restart resumes at its offset and completes', async () => {
    const blob = randomBytes(200_000);
    await acrossRestart(
      async (api) => {
        const location = (await api('/v2/resume/x/blobs/uploads/', { method: 'POST' })).headers.location!;
        assert.equal((await api(location, { method: 'PATCH', body: blob.subarray(0, 120_000), headers: { 'Content-Range': '0-119999' } })).status, 202);
        return location;
      },
      async (api, location) => {
        const status = await api(location);
        assert.equal(status.status, 204);
        assert.equal(status.headers.range, '0-119999');
        assert.equal((await api(location, { method: 'PATCH', body: blob.subarray(120_000), headers: { 'Content-Range': '120000-199999' } })).status, 202);
        const put = await api(`${location}?digest=${sha256(blob)}`, { method: 'PUT' });
        assert.equal(put.status, 201, put.text);
        assert.deepEqual((await api(`/v2/resume/x/blobs/${sha256(blob)}`)).body, blob);
      },
    );
  });

  test('an upload that received nothing before a restart is unknown after it; a new one works', async () => {
    const blob = randomBytes(5000);
    await acrossRestart(
      async (api) => (await api('/v2/resume/empty/blobs/uploads/', { method: 'POST' })).headers.location!,
      async (api, location) => {
        const gone = await api(location);
        assertOciError(gone, 404, 'BLOB_UPLOAD_UNKNOWN');
        const fresh = (await api('/v2/resume/empty/blobs/uploads/', { method: 'POST' })).headers.location!;
        const put = await api(`${fresh}?digest=${sha256(blob)}`, { method: 'PUT', body: blob });
        assert.equal(put.status, 201, put.text);
      },
    );
  });

  test('abandoned uploads are purged after the configured idle time; active ones are kept', async () => {
    const reg = await startTestRegistry();
    try {
      const api = client(reg.url, reg.basic);
      const old = (await api('/v2/purge/x/blobs/uploads/', { method: 'POST' })).headers.location!;
      await api(old, { method: 'PATCH', body: 'stale' });
      const active = (await api('/v2/purge/x/blobs/uploads/', { method: 'POST' })).headers.location!;
      await api(active, { method: 'PATCH', body: 'live' });
      const oldId = old.split('/').pop()!;
      // Two hours without activity: neither its record nor its data changed since.
      const past = Date.now() - 2 * 3600_000;
      await utimes(path.join(reg.dataDir, 'uploads', oldId), new Date(past), new Date(past));
      const { FsBlobStore } = await import('../../src/storage/filesystem/fs-blob-store.js');
      const { SqliteMetadataStore } = await import('../../src/metadata/sqlite/sqlite-metadata-store.js');
      const meta = await SqliteMetadataStore.open(path.join(reg.dataDir, 'minato.db'));
      try {
        await sql`update uploads set updated_at = ${past} where id = ${oldId}`.execute(meta.db);
        const purger = new UploadPurger(await FsBlobStore.open(reg.dataDir), meta, 3600_000, pino({ level: 'silent' }));
        assert.equal(await purger.purge(), 1);
      } finally {
        await meta.close();
      }
      assertOciError(await api(old), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal((await api(active)).status, 204);
    } finally {
      await reg.close();
    }
  });
});

describe('health and metrics', () => {
  test('/healthz answers and /metrics counts requests and bytes', async () => {
    const reg = await startTestRegistry();
    try {
      const health = await request(`${reg.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const api = client(reg.url, reg.basic);
      const blob = randomBytes(12_345);
      await api(`/v2/metrics/x/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
      await api(`/v2/metrics/x/blobs/${sha256(blob)}`);
      // A response is counted when the server sees it finish, which can be just after the
      // client read its last byte: poll briefly.
      let text = '';
      for (let i = 0; i < 20 && !/route="blob",code="200"/.test(text); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        text = (await request(`${reg.url}/metrics`)).text;
      }
      assert.match(text, /minato_http_requests_total\{method="POST",route="uploads",code="201"\} 1/);
      assert.match(text, /minato_http_requests_total\{method="GET",route="blob",code="200"\} 1/);
      assert.match(text, /minato_bytes_received_total 12345/);
      assert.match(text, /minato_bytes_sent_total \d+/);
      assert.match(text, /minato_uploads_in_flight 0/);
      assert.match(text, /minato_http_request_duration_seconds_bucket/);
      const free = Number(/^minato_storage_free_bytes (\d+)$/m.exec(text)?.[1]);
      const size = Number(/^minato_storage_size_bytes (\d+)$/m.exec(text)?.[1]);
      assert.ok(free > 0 && size >= free, `storage gauges: free ${free}, size ${size}`);
    } finally {
      await reg.close();
    }
  });

  test('metrics.auth user and admin: /metrics needs a signed-in user, or one of auth.admins', async () => {
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    for (const access of ['user', 'admin'] as const) {
      const reg = await startTestRegistry({ metrics: { auth: access } });
      try {
        await reg.users!.setPassword('bob', 'bob-pw');
        const anonymous = await request(`${reg.url}/metrics`);
        assert.equal(anonymous.status, 401, access);
        assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="minato"');
        const wrong = await request(`${reg.url}/metrics`, { headers: { Authorization: basic('admin', 'nope') } });
        assert.equal(wrong.status, 401);
        const bob = await request(`${reg.url}/metrics`, { headers: { Authorization: basic('bob', 'bob-pw') } });
        assert.equal(bob.status, access === 'user' ? 200 : 403, `${access}: ${bob.text.slice(0, 200)}`);
        if (access === 'admin') assert.match(bob.json().error, /bob is not an administrator: only admin may do this/);
        const admin = await request(`${reg.url}/metrics`, { headers: { Authorization: reg.basic } });
        assert.equal(admin.status, 200);
        assert.match(admin.text, /^# HELP minato_/m);
      } finally {
        await reg.close();
      }
    }
  });

  test('metrics.listen: /metrics on its own port, not on the registry port', async () => {
    const port = await freePort();
    const reg = await startTestRegistry({ metrics: { listen: `127.0.0.1:${port}` } });
    try {
      assert.equal((await request(`${reg.url}/metrics`)).status, 404);
      assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: reg.basic } })).status, 200);
      const res = await request(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.text, /minato_http_requests_total\{method="GET",route="base",code="200"\} 1/);
      assert.equal((await request(`http://127.0.0.1:${port}/v2/`)).status, 404, 'only /metrics is served there');
    } finally {
      await reg.close();
    }
    await assert.rejects(request(`http://127.0.0.1:${port}/metrics`), /ECONNREFUSED/, 'the metrics listener closes with the registry');
  });
});
